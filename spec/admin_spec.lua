-- The Admin API client: parameter checks (no request sent), what goes on the wire, every method
-- against the emulator's organization, both pagination models (2,500 keys, limit = 1000, both
-- directions), filters, and the no-retry rule for ambiguous creates.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"

describe("admin client", function()
  local emu, admin_key, api_key, admin
  setup(function()
    admin_key = emulator.make_key("admin01")
    api_key = emulator.make_key("api03")
    emu = emulator.start { keys = { admin_key, api_key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    admin = anthropic.admin { api_key = admin_key, base_url = emu.url }
  end)
  after_each(function() admin:close() end)

  local function requests()
    return emu:log().requests
  end

  local function last_request()
    local r = requests()
    return r[#r]
  end

  describe("parameter checks", function()
    -- Each raises with the method, the parameter and the allowed values, and sends nothing.
    local cases = {
      { function(a) return a.users:update("user_1", { role = "owner" }) end,
        'users:update: role must be one of "user", "developer", "billing", "claude_code_user", "managed" '
          .. '(got "owner")' },
      { function(a) return a.users:update("user_1", { role = "admin" }) end,
        'users:update: role = "admin" is refused: the admin role cannot be given through the API; '
          .. 'an admin does it in the Console' },
      { function(a) return a.users:update("user_1", {}) end, "users:update: role is required" },
      { function(a) return a.users:list { roles = { "developer", "root" } } end,
        'users:list: roles[2] must be one of "user", "developer", "billing", "admin", "claude_code_user", '
          .. '"managed", "membership_admin", "owner", "primary_owner" (got "root")' },
      { function(a) return a.users:list { limit = 1001 } end,
        "users:list: limit must be a whole number from 1 to 1000 (got 1001)" },
      { function(a) return a.users:list { limit = 0 } end,
        "users:list: limit must be a whole number from 1 to 1000 (got 0)" },
      { function(a) return a.users:list { after_id = "a", before_id = "b" } end,
        "users:list: give after_id or before_id, not both" },
      { function(a) return a.invites:create { email = "x@example.com" } end, "invites:create: role is required" },
      { function(a) return a.invites:create { role = "user" } end, "invites:create: email is required" },
      { function(a) return a.invites:create { email = "x@example.com", role = "admin" } end,
        'invites:create: role = "admin" is refused: the admin role cannot be given through the API; '
          .. 'an admin does it in the Console' },
      { function(a) return a.invites:list { statuses = "deleted" } end,
        'invites:list: statuses[1] must be one of "accepted", "expired", "pending" (got "deleted")' },
      { function(a) return a.workspaces:create {} end, "workspaces:create: name is required" },
      { function(a) return a.workspaces:create { name = 7 } end,
        "workspaces:create: name must be a string (got number)" },
      { function(a) return a.workspaces:list { include_archived = "yes" } end,
        "workspaces:list: include_archived must be a boolean (got string)" },
      { function(a) return a.members("wrkspc_1"):add { user_id = "user_1", workspace_role = "workspace_billing" } end,
        'members:add: workspace_role = "workspace_billing" is refused: a member cannot be added as '
          .. 'workspace_billing; add another role, then update it to workspace_billing' },
      { function(a) return a.members("wrkspc_1"):add { user_id = "user_1", workspace_role = "admin" } end,
        'members:add: workspace_role must be one of "workspace_user", "workspace_developer", '
          .. '"workspace_restricted_developer", "workspace_admin" (got "admin")' },
      { function(a) return a.members("wrkspc_1"):add { workspace_role = "workspace_user" } end,
        "members:add: user_id is required" },
      { function(a) return a.members("wrkspc_1"):update("user_1", { workspace_role = "workspace_owner" }) end,
        'members:update: workspace_role must be one of "workspace_user", "workspace_developer", '
          .. '"workspace_restricted_developer", "workspace_admin", "workspace_billing" (got "workspace_owner")' },
      { function(a) return a.api_keys:list { status = "enabled" } end,
        'api_keys:list: status must be one of "active", "inactive", "archived", "expired" (got "enabled")' },
      { function(a) return a.api_keys:update("apikey_1", { status = "expired" }) end,
        'api_keys:update: status = "expired" is refused: a key expires by itself; '
          .. 'set "inactive" or "archived" instead' },
      { function(a) return a.usage:messages {} end, "usage:messages: starting_at is required" },
      { function(a) return a.usage:messages { starting_at = "2026-08-01" } end,
        "usage:messages: starting_at must be an RFC 3339 time like '2026-08-01T00:00:00Z' or an os.time() "
          .. "number (got '2026-08-01')" },
      { function(a) return a.usage:messages { starting_at = -1 } end,
        "usage:messages: starting_at must be an os.time() value from 1970 to 9999" },
      { function(a) return a.usage:messages { starting_at = 0, ending_at = "2026-13-01T00:00:00Z" } end,
        "usage:messages: ending_at must be an RFC 3339 time like '2026-08-01T00:00:00Z' or an os.time() "
          .. "number (got '2026-13-01T00:00:00Z')" },
      { function(a) return a.usage:messages { starting_at = 0, bucket_width = "1w" } end,
        'usage:messages: bucket_width must be one of "1m", "1h", "1d" (got "1w")' },
      { function(a) return a.usage:messages { starting_at = 0, bucket_width = "1h", limit = 169 } end,
        'usage:messages: limit must be a whole number from 1 to 168 for bucket_width "1h" (got 169)' },
      { function(a) return a.usage:messages { starting_at = 0, limit = 32 } end,
        'usage:messages: limit must be a whole number from 1 to 31 for bucket_width "1d" (got 32)' },
      { function(a) return a.usage:messages { starting_at = 0, group_by = { "model", 3 } } end,
        "usage:messages: group_by[2] must be a string (got number)" },
      { function(a) return a.usage:claude_code { starting_at = "2026-08-01T00:00:00Z" } end,
        "usage:claude_code: starting_at must be a date 'YYYY-MM-DD' or an os.time() number "
          .. "(got '2026-08-01T00:00:00Z')" },
      { function(a) return a.cost:report { starting_at = 0, bucket_width = "1h" } end,
        'cost:report: bucket_width must be one of "1d" (got "1h")' },
      { function(a) return a.users:get("") end, "users:get: argument #1 (user_id) must be a non-empty string "
        .. "(got an empty string)" },
      { function(a) return a.members(42) end, "members(workspace_id): workspace_id must be a non-empty string "
        .. "(got number)" },
      { function(a) return a.api_keys.list({}) end, "api_keys:list must be called with a colon: api_keys:list(...)" },
    }
    for i, case in ipairs(cases) do
      it("raises: " .. case[2]:sub(1, 70), function()
        local ok, err = pcall(case[1], admin)
        assert.is_false(ok, "case " .. i)
        assert.equal(case[2], (tostring(err):gsub("^[^:]*%.lua:%d+: ", "")))
      end)
    end

    it("sends nothing for a refused call", function()
      for _, case in ipairs(cases) do pcall(case[1], admin) end
      assert.equal(0, #requests())
    end)

    it("lets values the API may add pass through (group_by, tiers, group types)", function()
      local page, err = admin.usage:messages({ starting_at = 0, group_by = { "future_dimension" },
        service_tiers = "future_tier" }):page()
      assert.is_nil(page)
      assert.equal("api", err.kind) -- the server's answer, not a client-side refusal
      assert.equal(400, err.status)
      assert.matches("group_by%[%]=future_dimension", last_request().query)
      assert.matches("service_tiers%[%]=future_tier", last_request().query)
    end)
  end)

  describe("on the wire", function()
    it("converts os.time() numbers to UTC RFC 3339 and dates, and arrays to brackets", function()
      local t = 1785542400 + 3 * 3600 + 25 * 60 + 7 -- 2026-08-01T03:25:07Z
      admin.usage:messages({ starting_at = t, ending_at = "2026-08-02T00:00:00+02:00",
        group_by = { "model", "workspace_id" }, bucket_width = "1h", limit = 5 }):page()
      local r = last_request()
      assert.equal("GET", r.method)
      assert.equal("/v1/organizations/usage_report/messages", r.path)
      assert.equal("bucket_width=1h&ending_at=2026-08-02T00%3A00%3A00%2B02%3A00&group_by[]=model"
        .. "&group_by[]=workspace_id&limit=5&starting_at=2026-08-01T03%3A25%3A07Z", r.query)
      admin.usage:claude_code({ starting_at = t }):page()
      assert.equal("starting_at=2026-08-01", last_request().query)
    end)

    it("sends the admin key, no body on archive, and the documented paths and methods", function()
      admin.workspaces:archive("wrkspc_x")
      local r = last_request()
      assert.equal("POST", r.method)
      assert.equal("/v1/organizations/workspaces/wrkspc_x/archive", r.path)
      assert.equal("", r.body)
      assert.is_nil(r.headers["content-type"])
      assert.equal(admin_key:sub(1, 16) .. "..." .. admin_key:sub(-4), r.headers["x-api-key"])
      admin.members("wrkspc/1"):remove("user 1")
      r = last_request()
      assert.equal("DELETE", r.method)
      assert.equal("/v1/organizations/workspaces/wrkspc%2F1/members/user%201", r.path)
    end)

    it("refuses an API key on the admin client and an admin key on the Messages client", function()
      local a = anthropic.admin { api_key = api_key, base_url = emu.url }
      local me, err = a.organization:me()
      a:close()
      assert.is_nil(me)
      assert.equal("key", err.kind)
      local c = anthropic.new { api_key = admin_key, base_url = emu.url }
      local m
      m, err = c.models:list():page()
      c:close()
      assert.is_nil(m)
      assert.equal("key", err.kind)
      assert.equal(0, #requests())
    end)
  end)

  -----------------------------------------------------------------------------------------------
  -- Against the emulator's organization (the default seed, restored by reset before each test)

  local function by(list, field, value)
    for _, x in ipairs(list) do
      if x[field] == value then return x end
    end
  end

  local function user(email)
    return assert(by(assert(admin.users:list():all()), "email", email), email)
  end

  local function workspace(name)
    return assert(by(assert(admin.workspaces:list():all()), "name", name), name)
  end

  local function count_requests(method, path)
    local n = 0
    for _, r in ipairs(requests()) do
      if r.method == method and r.path == path then n = n + 1 end
    end
    return n
  end

  describe("organization", function()
    it("me", function()
      local org = assert(admin.organization:me())
      assert.equal("organization", org.type)
      assert.equal("Emulator Organization", org.name)
      assert.matches("^%x+%-", org.id)
    end)
  end)

  describe("users", function()
    it("list (a pager), get, filters", function()
      local users = assert(admin.users:list():all())
      assert.equal(5, #users)
      for _, u in ipairs(users) do
        assert.equal("user", u.type)
        assert.matches("^user_", u.id)
        assert.is_string(u.added_at)
      end
      local bob = by(users, "email", "bob@example.com")
      assert.same(bob, assert(admin.users:get(bob.id)))
      local found = assert(admin.users:list({ email = "carol@example.com" }):all())
      assert.equal(1, #found)
      assert.equal("user", found[1].role)
      local some = assert(admin.users:list({ roles = { "developer", "billing" } }):all())
      table.sort(some, function(a, b) return a.email < b.email end)
      assert.same({ "bob@example.com", "dave@example.com" }, { some[1].email, some[2].email })
      assert.matches("roles%[%]=developer&roles%[%]=billing", last_request().query)
    end)

    it("walks small pages to the end (limit = 2: 3 requests); all(max) stops early", function()
      emu:clear_log()
      local users = assert(admin.users:list({ limit = 2 }):all())
      assert.equal(5, #users)
      assert.equal(3, count_requests("GET", "/v1/organizations/users"))
      emu:clear_log()
      local first = assert(admin.users:list({ limit = 2 }):all(3))
      assert.same({ users[1], users[2], users[3] }, first)
      assert.equal(2, count_requests("GET", "/v1/organizations/users"))
    end)

    it("update and remove; the API's refusals come back as api errors", function()
      local carol = user("carol@example.com")
      local updated = assert(admin.users:update(carol.id, { role = "developer" }))
      assert.equal("developer", updated.role)
      assert.equal("developer", assert(admin.users:get(carol.id)).role)
      local ada = user("ada@example.com")
      local res, err = admin.users:update(ada.id, { role = "user" })
      assert.is_nil(res)
      assert.equal("api", err.kind)
      assert.equal(400, err.status)
      assert.equal("invalid_request_error", err.type)
      res, err = admin.users:remove(ada.id)
      assert.is_nil(res)
      assert.equal(400, err.status)
      assert.same({ id = carol.id, type = "user_deleted" }, assert(admin.users:remove(carol.id)))
      res, err = admin.users:get(carol.id)
      assert.is_nil(res)
      assert.equal(404, err.status)
      assert.equal("not_found_error", err.type)
    end)
  end)

  describe("invites", function()
    it("create, list with filters, get, delete", function()
      local inv = assert(admin.invites:create { email = "heidi@example.com", role = "developer" })
      assert.equal("invite", inv.type)
      assert.matches("^invite_", inv.id)
      assert.equal("pending", inv.status)
      assert.equal("developer", inv.role)
      assert.is_string(inv.expires_at)
      assert.same(inv, assert(admin.invites:get(inv.id)))
      local pending = assert(admin.invites:list({ statuses = { "pending" } }):all())
      local emails = {}
      for _, i in ipairs(pending) do emails[#emails + 1] = i.email end
      table.sort(emails)
      assert.same({ "frank@example.com", "heidi@example.com" }, emails)
      local expired = assert(admin.invites:list({ statuses = "expired" }):all())
      assert.equal(1, #expired)
      assert.equal("grace@example.com", expired[1].email)
      assert.equal(1, #assert(admin.invites:list({ email = "heidi@example.com" }):all()))
      assert.equal(2, #assert(admin.invites:list({ roles = { "developer" } }):all()))
      assert.same({ id = inv.id, type = "invite_deleted" }, assert(admin.invites:delete(inv.id)))
      assert.is_nil(by(assert(admin.invites:list():all()), "id", inv.id))
      local res, err = admin.invites:create { email = "bob@example.com", role = "user" } -- already a user
      assert.is_nil(res)
      assert.equal(400, err.status)
    end)
  end)

  describe("workspaces", function()
    it("create, get, update, archive, list with and without archived", function()
      local ws = assert(admin.workspaces:create { name = "Research", tags = { team = "ml" } })
      assert.equal("workspace", ws.type)
      assert.matches("^wrkspc_", ws.id)
      assert.equal("Research", ws.name)
      assert.equal("ml", ws.tags.team)
      assert.is_nil(ws.archived_at)
      assert.same(ws, assert(admin.workspaces:get(ws.id)))
      local renamed = assert(admin.workspaces:update(ws.id, { name = "Research EU" }))
      assert.equal("Research EU", renamed.name)
      local archived = assert(admin.workspaces:archive(ws.id))
      assert.is_string(archived.archived_at)
      local names = {}
      for w in admin.workspaces:list():each() do names[#names + 1] = w.name end
      table.sort(names)
      assert.same({ "Production", "Staging" }, names)
      local all = assert(admin.workspaces:list({ include_archived = true }):all())
      assert.equal(3, #all)
      assert.matches("include_archived=true", last_request().query)
      local res, err = admin.workspaces:update(ws.id, { name = "again" }) -- archive is final
      assert.is_nil(res)
      assert.equal(400, err.status)
    end)

    it("rate_limits(id): a workspace's overrides, as a token pager", function()
      local prod = workspace("Production")
      assert.same({}, assert(admin.workspaces:rate_limits(prod.id):all()))
      emu:seed { merge = true, workspace_rate_limits = {
        { workspace_id = "Production", group_type = "model_group", model = "claude-opus-4-6",
          limits = { { type = "requests_per_minute", value = 100 } } },
        { workspace_id = "Production", group_type = "batch",
          limits = { { type = "requests_per_minute", value = 50 } } },
      } }
      local overrides = assert(admin.workspaces:rate_limits(prod.id):all())
      assert.equal(2, #overrides)
      local mg = overrides[1].group.type == "model_group" and overrides[1] or overrides[2]
      assert.equal("model_group", mg.group.type)
      assert.equal("workspace_rate_limit", mg.type)
      assert.equal(prod.id, mg.workspace_id)
      assert.equal(100, mg.limits[1].value)
      assert.equal(4000, mg.limits[1].org_limit)
      local batch = assert(admin.workspaces:rate_limits(prod.id, { group_type = "batch" }):all())
      assert.equal(1, #batch)
      assert.equal("group_type=batch", last_request().query)
      local all = assert(admin.workspaces:rate_limits(prod.id, { include_inherited = true }):all())
      assert.is_true(#all > 2)
      assert.equal("include_inherited=true", last_request().query)
    end)

    it("update_rate_limits(id, rate_limit_id, { limits }): sets and clears (anthropic.null) a workspace's limits",
      function()
      local prod = workspace("Production")
      local g = assert(admin.rate_limits:list({ model = "claude-opus-4-6" }):all())[1]
      local entry = assert(admin.workspaces:update_rate_limits(prod.id, g.id,
        { limits = { { type = "requests_per_minute", value = 100 } } }))
      assert.equal("workspace_rate_limit", entry.type)
      assert.equal(100, entry.limits[1].value)
      assert.equal("workspace", entry.limits[1].source.type)
      assert.equal("POST", last_request().method)
      assert.equal("/v1/organizations/workspaces/" .. prod.id .. "/rate_limits/" .. g.id, last_request().path)
      entry = assert(admin.workspaces:update_rate_limits(prod.id, g.id,
        { limits = { { type = "requests_per_minute", value = anthropic.null } } }))
      assert.same({}, entry.limits)
      -- refused before sending
      for _, bad in ipairs { { limits = {} }, { limits = { { type = "requests_per_minute", value = -5 } } },
        { limits = { { type = "requests_per_minute", value = 0.5 } } }, { limits = { { value = 1 } } } } do
        assert.error_matches(function() admin.workspaces:update_rate_limits(prod.id, g.id, bad) end, "limits")
      end
    end)
  end)

  describe("members", function()
    it("add, list, get, update, remove", function()
      local prod, dave = workspace("Production"), user("dave@example.com")
      local members = admin.members(prod.id)
      local m = assert(members:add { user_id = dave.id, workspace_role = "workspace_user" })
      assert.same({ type = "workspace_member", user_id = dave.id, workspace_id = prod.id,
        workspace_role = "workspace_user" }, m)
      assert.same(m, assert(members:get(dave.id)))
      local listed = assert(members:list():all())
      assert.truthy(by(listed, "user_id", dave.id))
      assert.truthy(by(listed, "user_id", user("bob@example.com").id))
      assert.equal("workspace_admin", by(listed, "user_id", user("ada@example.com").id).workspace_role)
      local up = assert(members:update(dave.id, { workspace_role = "workspace_billing" }))
      assert.equal("workspace_billing", up.workspace_role)
      assert.same({ type = "workspace_member_deleted", user_id = dave.id, workspace_id = prod.id },
        assert(members:remove(dave.id)))
      local res, err = members:get(dave.id)
      assert.is_nil(res)
      assert.equal(404, err.status)
      res, err = members:remove(user("ada@example.com").id) -- org admins stay
      assert.is_nil(res)
      assert.equal(400, err.status)
    end)
  end)

  describe("API keys", function()
    it("list with filters, get, update; archive is final", function()
      local keys = assert(admin.api_keys:list():all())
      local backend = assert(by(keys, "name", "prod-backend"))
      assert.equal("api_key", backend.type)
      assert.equal("active", backend.status)
      assert.matches("^sk%-ant%-api03%-...%.%.%.", backend.partial_key_hint)
      assert.is_nil(by(keys, "name", "default-scripts").workspace_id) -- the default workspace
      assert.same(backend, assert(admin.api_keys:get(backend.id)))
      local inactive = assert(admin.api_keys:list({ status = "inactive" }):all())
      assert.equal(1, #inactive)
      assert.equal("staging-ci", inactive[1].name)
      local prod = workspace("Production")
      local in_prod = assert(admin.api_keys:list({ workspace_id = prod.id }):all())
      assert.equal(2, #in_prod)
      local bob = user("bob@example.com")
      local by_bob = assert(admin.api_keys:list({ created_by_user_id = bob.id }):all())
      assert.equal(3, #by_bob)
      assert.equal("created_by_user_id=" .. bob.id, last_request().query)
      local renamed = assert(admin.api_keys:update(backend.id, { name = "prod-backend-2026" }))
      assert.equal("prod-backend-2026", renamed.name)
      assert.equal("inactive", assert(admin.api_keys:update(backend.id, { status = "inactive" })).status)
      assert.equal("archived", assert(admin.api_keys:update(backend.id, { status = "archived" })).status)
      local res, err = admin.api_keys:update(backend.id, { status = "active" })
      assert.is_nil(res)
      assert.equal(400, err.status)
    end)

    describe("pagination over 2,500 keys with limit = 1000", function()
      local bulk
      before_each(function()
        emu:seed { merge = true, workspaces = { { name = "Bulk" } } }
        bulk = workspace("Bulk")
        emu:create_api_keys { count = 2500, workspace_id = bulk.id, name = "bulk" }
        emu:clear_log()
      end)

      local function page_sizes(p)
        local sizes, seen, order = {}, {}, {}
        for page in p:pages() do
          sizes[#sizes + 1] = #page.data
          for _, k in ipairs(page.data) do
            assert.is_nil(seen[k.id], "listed twice: " .. k.id)
            seen[k.id] = true
            order[#order + 1] = k.id
          end
        end
        return sizes, order
      end

      it("forwards: 1000, 1000, 500 in three requests", function()
        local sizes, order = page_sizes(admin.api_keys:list { workspace_id = bulk.id, limit = 1000 })
        assert.same({ 1000, 1000, 500 }, sizes)
        assert.equal(2500, #order)
        local reqs = requests()
        assert.equal(3, #reqs)
        assert.equal("limit=1000&workspace_id=" .. bulk.id, reqs[1].query)
        assert.equal("after_id=" .. order[1000] .. "&limit=1000&workspace_id=" .. bulk.id, reqs[2].query)
        assert.equal("after_id=" .. order[2000] .. "&limit=1000&workspace_id=" .. bulk.id, reqs[3].query)
        assert.equal(2500, #assert(admin.api_keys:list({ workspace_id = bulk.id, limit = 1000 }):all()))
      end)

      it("backwards with before_id: pages in reverse, 1000, 1000, 499, the same keys", function()
        local _, forward = page_sizes(admin.api_keys:list { workspace_id = bulk.id, limit = 1000 })
        local oldest = forward[#forward]
        emu:clear_log()
        local pager = admin.api_keys:list { workspace_id = bulk.id, limit = 1000, before_id = oldest }
        local sizes, backward = page_sizes(pager)
        assert.same({ 1000, 1000, 499 }, sizes)
        local reqs = requests()
        assert.equal(3, #reqs)
        assert.matches("^before_id=" .. oldest .. "&", reqs[1].query)
        -- each request asks for the page before the first id of the previous page
        local p1 = assert(pager:page())
        assert.matches("^before_id=" .. p1.first_id .. "&", reqs[2].query)
        -- pages come in reverse; inside a page the API's order stays: the walk backwards, page by page,
        -- covers exactly the keys newer than the oldest one
        local expect = {}
        for i = 1, 2499 do expect[forward[i]] = true end
        for _, id in ipairs(backward) do
          assert.is_true(expect[id])
          expect[id] = nil
        end
        assert.is_nil(next(expect))
        assert.same({ table.unpack(forward, 1500, 2499) }, { table.unpack(backward, 1, 1000) })
        assert.same({ table.unpack(forward, 1, 499) }, { table.unpack(backward, 2001, 2499) })
      end)
    end)
  end)

  describe("rate limits", function()
    it("list with group_type and model, following next_page", function()
      local all = assert(admin.rate_limits:list():all())
      local batch
      for _, g in ipairs(all) do
        if g.group.type == "batch" then batch = g end
      end
      assert.same({ "id", "type" }, { next(batch.group) and "id", "type" })
      assert.equal("batch", batch.group.type)
      local mg = assert(admin.rate_limits:list({ group_type = "model_group", model = "claude-opus-4-6" }):all())
      assert.equal(1, #mg)
      assert.equal("rate_limit", mg[1].type)
      assert.equal("requests_per_minute", mg[1].limits[1].type)
      -- the emulator splits the list with its limit extension: the pager follows next_page
      emu:clear_log()
      local paged = assert(admin.rate_limits:list({ limit = 3 }):all())
      assert.same(all, paged)
      assert.equal(math.ceil(#all / 3), #requests())
      assert.matches("page=", requests()[2].query)
    end)
  end)

  describe("ambiguous creates are not retried", function()
    local cases = {
      { "workspaces:create", "/v1/organizations/workspaces", function()
          return admin.workspaces:create { name = "Ambiguous" }
        end, function()
          return by(assert(admin.workspaces:list():all()), "name", "Ambiguous")
        end },
      { "invites:create", "/v1/organizations/invites", function()
          return admin.invites:create { email = "ivan@example.com", role = "user" }
        end, function()
          return by(assert(admin.invites:list():all()), "email", "ivan@example.com")
        end },
      { "members:add", "/v1/organizations/workspaces/*", function()
          return admin.members(workspace("Staging").id):add { user_id = user("carol@example.com").id,
            workspace_role = "workspace_user" }
        end, function()
          return by(assert(admin.members(workspace("Staging").id):list():all()), "user_id",
            user("carol@example.com").id)
        end },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. ": one attempt, err.ambiguous = true, and the write did happen", function()
        -- a kept-alive connection is open first: libcurl on its own would send the request again
        -- on a new connection when the reused one dies, so the engine gives these a fresh one
        assert(admin.organization:me())
        emu:faults { { path = case[2], method = "POST", action = "apply_then_reset", count = 3 } }
        emu:clear_log()
        local res, err = case[3]()
        assert.is_nil(res)
        assert.equal("connection", err.kind)
        assert.is_true(err.ambiguous)
        assert.equal(1, err.attempts)
        local posts = 0
        for _, r in ipairs(requests()) do
          if r.method == "POST" then posts = posts + 1 end
        end
        assert.equal(1, posts)
        assert.matches("the server may have acted on it", tostring(err), 1, true)
        emu:faults {} -- nothing more is pending for the re-read
        assert.truthy(case[4](), "re-reading finds what the ambiguous call made")
      end)
    end

    it("an idempotent update after the same failure is retried and succeeds", function()
      local staging = workspace("Staging")
      emu:faults { { path = "/v1/organizations/workspaces/*", method = "POST", action = "apply_then_reset" } }
      emu:clear_log()
      local ws = assert(admin.workspaces:update(staging.id, { name = "Staging 2" }))
      assert.equal("Staging 2", ws.name)
      assert.equal(2, count_requests("POST", "/v1/organizations/workspaces/" .. staging.id))
    end)
  end)
end)
