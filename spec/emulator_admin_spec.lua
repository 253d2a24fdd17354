-- The emulator's Admin API (/v1/organizations/*), over raw HTTP: every endpoint, both pagination
-- models, filters, reports computed from served traffic, exact cents, validation, auth, seeds,
-- the organization's control endpoints and the admin-related faults.
local helper = require "helpers.emulator"
local cjson = require "cjson"

local q = helper.query

local function tmpfile(ext, text)
  local path = os.tmpname() .. ext
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function ids(list)
  local t = {}
  for i, x in ipairs(list) do t[i] = x.id end
  return t
end

local function by(list, field, value)
  for _, x in ipairs(list) do
    if x[field] == value then return x end
  end
end

-- Unix seconds of "YYYY-MM-DDTHH:MM:SSZ" (test side, independent of the emulator's parser).
local function unix(s)
  local y, mo, d, h, mi, sec = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo > 2 and mo - 3 or mo + 9) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- Integer micro-cents -> the emulator's decimal string of cents (10^-10 cent units).
local function cents(units)
  local s = string.format("%d", units)
  if #s <= 10 then s = string.rep("0", 11 - #s) .. s end
  local int, frac = s:sub(1, -11), s:sub(-10):gsub("0+$", "")
  return frac == "" and int or (int .. "." .. frac)
end

describe("emulator admin API", function()
  local server, key, admin

  local function api(method, path, body, k, headers)
    return server:api(method, path, body, k == nil and admin or k or nil, headers)
  end

  local function get(path, params, k, headers)
    local res = api("GET", path .. q(params), nil, k, headers)
    return res, res.json
  end

  local function ok(res)
    assert(res, "no response")
    assert.equal(200, res.status, res.body)
    return res.json
  end

  local function expect_error(res, status, etype, pattern)
    assert.equal(status, res.status, res.body)
    assert.equal("error", res.json.type)
    assert.equal(etype, res.json.error.type)
    assert.matches("^req_", res.json.request_id)
    if pattern then assert.matches(pattern, res.json.error.message) end
  end

  local function list_all(path, params)
    return ok((get(path, params))).data
  end

  local function workspace_id(name)
    return by(list_all("/v1/organizations/workspaces", { include_archived = "true" }), "name", name).id
  end

  local function user_id(email)
    return by(list_all("/v1/organizations/users"), "email", email).id
  end

  local function message(k, text, model)
    local res = server:api("POST", "/v1/messages", { model = model or "claude-opus-4-5", max_tokens = 100,
      messages = { { role = "user", content = text } } }, k)
    assert.equal(200, res.status, res.body)
    return res.json
  end

  lazy_setup(function()
    key = helper.make_key("api03")
    admin = helper.make_key("admin01")
    server = helper.start { keys = { key, admin } }
  end)

  lazy_teardown(function()
    if server then server:stop() end
  end)

  before_each(function()
    server:reset()
  end)

  describe("auth", function()
    it("refuses a standard key on admin paths with 403 permission_error", function()
      expect_error(api("GET", "/v1/organizations/users", nil, key), 403, "permission_error", "Admin API key")
      expect_error(api("GET", "/v1/organizations/me", nil, key), 403, "permission_error")
      expect_error(api("POST", "/v1/organizations/workspaces", { name = "x" }, key), 403, "permission_error")
      expect_error(api("GET", "/v1/organizations/nothing", nil, key), 403, "permission_error")
    end)

    it("still refuses an admin key on the Messages API, and unknown keys everywhere", function()
      expect_error(server:api("POST", "/v1/messages", { model = "claude-opus-4-5", max_tokens = 5,
        messages = { { role = "user", content = "x" } } }, admin), 401, "authentication_error")
      expect_error(api("GET", "/v1/organizations/users", nil, helper.make_key("admin01")), 401,
        "authentication_error")
      expect_error(api("GET", "/v1/organizations/users", nil, false), 401, "authentication_error")
    end)

    it("needs anthropic-version; unknown admin paths 404; wrong methods 405", function()
      expect_error(api("GET", "/v1/organizations/users", nil, nil, { ["anthropic-version"] = false }), 400,
        "invalid_request_error", "anthropic%-version")
      expect_error(api("GET", "/v1/organizations/nothing"), 404, "not_found_error")
      local res = api("DELETE", "/v1/organizations/workspaces")
      assert.equal(405, res.status)
      assert.truthy(res.headers.allow:find("GET", 1, true))
    end)

    it("sends no anthropic-workspace-id header on admin answers", function()
      local res = api("GET", "/v1/organizations/me")
      assert.is_nil(res.headers["anthropic-workspace-id"])
    end)
  end)

  describe("organization", function()
    it("GET /v1/organizations/me", function()
      local me = ok(api("GET", "/v1/organizations/me"))
      assert.same({ id = "2e1a5f6c-0b7d-4c1e-9a53-8f0e6d4b2a17", name = "Emulator Organization",
                    type = "organization" }, me)
      assert.equal(me.id, api("GET", "/v1/organizations/me").headers["anthropic-organization-id"])
    end)
  end)

  describe("users", function()
    it("lists the default seed, newest first, with the real shape", function()
      local page = ok((get("/v1/organizations/users")))
      assert.equal(5, #page.data)
      assert.is_false(page.has_more)
      assert.same({ "erin@example.com", "dave@example.com", "carol@example.com", "bob@example.com",
                    "ada@example.com" }, (function()
        local t = {}
        for i, u in ipairs(page.data) do t[i] = u.email end
        return t
      end)())
      local u = page.data[5]
      assert.equal("user", u.type)
      assert.equal("admin", u.role)
      assert.equal("Ada Admin", u.name)
      assert.matches("^user_01%w+$", u.id)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", u.added_at)
      assert.equal(page.data[1].id, page.first_id)
      assert.equal(u.id, page.last_id)
    end)

    it("keeps seed ids stable across resets", function()
      local before = user_id("bob@example.com")
      server:reset()
      assert.equal(before, user_id("bob@example.com"))
    end)

    it("filters by email and roles[]", function()
      local data = list_all("/v1/organizations/users", { email = "bob@example.com" })
      assert.equal(1, #data)
      assert.equal("developer", data[1].role)
      data = list_all("/v1/organizations/users", { roles = { "developer", "billing" } })
      assert.equal(2, #data)
      expect_error((get("/v1/organizations/users", { roles = { "owner" } })), 400, "invalid_request_error", "roles")
    end)

    it("gets, updates and deletes a user", function()
      local id = user_id("carol@example.com")
      assert.equal("carol@example.com", ok(api("GET", "/v1/organizations/users/" .. id)).email)
      local u = ok(api("POST", "/v1/organizations/users/" .. id, { role = "developer" }))
      assert.equal("developer", u.role)
      assert.equal("developer", ok(api("GET", "/v1/organizations/users/" .. id)).role)
      local ws = workspace_id("Production")
      ok(api("GET", "/v1/organizations/workspaces/" .. ws .. "/members/" .. id))
      assert.same({ id = id, type = "user_deleted" }, ok(api("DELETE", "/v1/organizations/users/" .. id)))
      expect_error(api("GET", "/v1/organizations/users/" .. id), 404, "not_found_error")
      expect_error(api("GET", "/v1/organizations/workspaces/" .. ws .. "/members/" .. id), 404, "not_found_error")
    end)

    it("validates updates and protects admins", function()
      local id = user_id("carol@example.com")
      local admin_id = user_id("ada@example.com")
      local path = "/v1/organizations/users/" .. id
      expect_error(api("POST", path, { role = "admin" }), 400, "invalid_request_error", "admin")
      expect_error(api("POST", path, { role = "boss" }), 400, "invalid_request_error",
        "role: Input should be 'user', 'developer', 'billing' or 'claude_code_user'")
      expect_error(api("POST", path, {}), 400, "invalid_request_error", "role: Field required")
      expect_error(api("POST", path, { role = "user", color = "red" }), 400, "invalid_request_error",
        "color: Extra inputs are not permitted")
      expect_error(api("POST", path, "{not json"), 400, "invalid_request_error")
      expect_error(api("POST", "/v1/organizations/users/" .. admin_id, { role = "user" }), 400,
        "invalid_request_error", "admin")
      expect_error(api("DELETE", "/v1/organizations/users/" .. admin_id), 400, "invalid_request_error", "admin")
      expect_error(api("GET", "/v1/organizations/users/user_01nobody"), 404, "not_found_error", "user_01nobody")
      expect_error(api("DELETE", "/v1/organizations/users/user_01nobody"), 404, "not_found_error")
    end)
  end)

  describe("invites", function()
    it("creates an invite that expires 21 days later", function()
      local inv = ok(api("POST", "/v1/organizations/invites", { email = "new@example.com", role = "developer" }))
      assert.equal("invite", inv.type)
      assert.matches("^invite_01", inv.id)
      assert.equal("pending", inv.status)
      assert.equal(21 * 86400, unix(inv.expires_at) - unix(inv.invited_at))
      assert.equal(cjson.null, inv.accepted_at)
      assert.same(inv, ok(api("GET", "/v1/organizations/invites/" .. inv.id)))
    end)

    it("computes expiry from the emulator clock", function()
      local inv = ok(api("POST", "/v1/organizations/invites", { email = "late@example.com", role = "user" }))
      server:clock { advance = 21 * 86400 - 60 }
      assert.equal("pending", ok(api("GET", "/v1/organizations/invites/" .. inv.id)).status)
      server:clock { advance = 120 }
      assert.equal("expired", ok(api("GET", "/v1/organizations/invites/" .. inv.id)).status)
    end)

    it("lists with statuses[], roles[] and email filters", function()
      local all = list_all("/v1/organizations/invites")
      assert.equal(2, #all)
      local pending = list_all("/v1/organizations/invites", { statuses = { "pending" } })
      assert.equal(1, #pending)
      assert.equal("frank@example.com", pending[1].email)
      local expired = list_all("/v1/organizations/invites", { statuses = { "expired" } })
      assert.equal("grace@example.com", expired[1].email)
      assert.equal(2, #list_all("/v1/organizations/invites", { statuses = { "expired", "pending" } }))
      assert.equal(1, #list_all("/v1/organizations/invites", { roles = { "user" } }))
      assert.equal(1, #list_all("/v1/organizations/invites", { email = "frank@example.com" }))
      expect_error((get("/v1/organizations/invites", { statuses = { "deleted" } })), 400, "invalid_request_error",
        "statuses: Input should be 'accepted', 'expired' or 'pending'")
    end)

    it("deletes an invite: gone from lists, readable as deleted", function()
      local inv = by(list_all("/v1/organizations/invites"), "email", "frank@example.com")
      assert.same({ id = inv.id, type = "invite_deleted" }, ok(api("DELETE", "/v1/organizations/invites/" .. inv.id)))
      assert.equal(1, #list_all("/v1/organizations/invites"))
      assert.equal("deleted", ok(api("GET", "/v1/organizations/invites/" .. inv.id)).status)
      expect_error(api("DELETE", "/v1/organizations/invites/" .. inv.id), 404, "not_found_error")
    end)

    it("accepting an invite (control endpoint) adds the user", function()
      local inv = ok(api("POST", "/v1/organizations/invites", { email = "joiner@example.com", role = "billing" }))
      local r = server:accept_invite { id = inv.id }
      assert.equal("accepted", r.invite.status)
      assert.equal("billing", r.user.role)
      assert.equal("accepted", ok(api("GET", "/v1/organizations/invites/" .. inv.id)).status)
      assert.equal(r.user.id, user_id("joiner@example.com"))
    end)

    it("validates creates", function()
      local path = "/v1/organizations/invites"
      expect_error(api("POST", path, { role = "user" }), 400, "invalid_request_error", "email: Field required")
      expect_error(api("POST", path, { email = "x@example.com" }), 400, "invalid_request_error", "role: Field required")
      expect_error(api("POST", path, { email = "nope", role = "user" }), 400, "invalid_request_error", "email")
      expect_error(api("POST", path, { email = "x@example.com", role = "admin" }), 400, "invalid_request_error",
        "admin")
      expect_error(api("POST", path, { email = "x@example.com", role = "owner" }), 400, "invalid_request_error",
        "role: Input should be")
      expect_error(api("POST", path, { email = "bob@example.com", role = "user" }), 400, "invalid_request_error",
        "already a member")
      expect_error(api("POST", path, { email = "frank@example.com", role = "user" }), 400, "invalid_request_error",
        "pending invite")
      expect_error(api("GET", path .. "/invite_01nothing"), 404, "not_found_error")
    end)
  end)

  describe("workspaces", function()
    it("creates one with the real shape and defaults", function()
      local w = ok(api("POST", "/v1/organizations/workspaces", { name = "Research" }))
      assert.equal("workspace", w.type)
      assert.matches("^wrkspc_01%w+$", w.id)
      assert.equal("Research", w.name)
      assert.equal(cjson.null, w.archived_at)
      assert.matches("^#%x%x%x%x%x%x$", w.display_color)
      assert.same({ workspace_geo = "us", allowed_inference_geos = "unrestricted", default_inference_geo = "global" },
        w.data_residency)
      assert.same({}, w.tags)
      assert.same(w, ok(api("GET", "/v1/organizations/workspaces/" .. w.id)))
      assert.equal(w.id, list_all("/v1/organizations/workspaces")[1].id)
    end)

    it("takes tags and data residency, and checks them", function()
      local path = "/v1/organizations/workspaces"
      local w = ok(api("POST", path, { name = "Geo", tags = { team = "ml" },
        data_residency = { allowed_inference_geos = { "us" }, default_inference_geo = "us" } }))
      assert.same({ team = "ml" }, w.tags)
      assert.same({ "us" }, w.data_residency.allowed_inference_geos)
      expect_error(api("POST", path, { name = "T", tags = { anthropic_x = "1" } }), 400, "invalid_request_error",
        "anthropic")
      expect_error(api("POST", path, { name = "T", data_residency = { default_inference_geo = "mars" } }), 400,
        "invalid_request_error", "default_inference_geo")
      expect_error(api("POST", path, { name = "T", data_residency = { allowed_inference_geos = { "us" } } }), 400,
        "invalid_request_error", "not one of allowed_inference_geos")
      expect_error(api("POST", "/v1/organizations/workspaces/" .. w.id,
        { data_residency = { workspace_geo = "eu" } }), 400, "invalid_request_error", "workspace_geo")
    end)

    it("validates names: required, length, unique among active workspaces", function()
      local path = "/v1/organizations/workspaces"
      expect_error(api("POST", path, {}), 400, "invalid_request_error", "name: Field required")
      expect_error(api("POST", path, { name = "" }), 400, "invalid_request_error", "name")
      expect_error(api("POST", path, { name = string.rep("n", 41) }), 400, "invalid_request_error", "at most 40")
      -- characters, not bytes: 14 CJK characters are 42 bytes
      local sheng = "\231\148\159" -- (U+751F)
      assert.equal(string.rep(sheng, 14), ok(api("POST", path, { name = string.rep(sheng, 14) })).name)
      ok(api("POST", path, { name = string.rep("\229\183\165", 40) }))
      expect_error(api("POST", path, { name = string.rep("\228\189\156", 41) }), 400, "invalid_request_error",
        "at most 40")
      expect_error(api("POST", path, { name = 7 }), 400, "invalid_request_error", "valid string")
      expect_error(api("POST", path, { name = "Production" }), 400, "invalid_request_error", "already exists")
      expect_error(api("POST", path, { name = "X", display_color = "black" }), 400, "invalid_request_error",
        "display_color: Input should be a hex color")
      expect_error(api("POST", path, { name = "X", colour = "#000000" }), 400, "invalid_request_error",
        "colour: Extra inputs are not permitted")
      local id = workspace_id("Staging")
      expect_error(api("POST", path .. "/" .. id, { name = "Production" }), 400, "invalid_request_error",
        "already exists")
      ok(api("POST", path .. "/" .. id .. "/archive"))
      ok(api("POST", path, { name = "Staging" })) -- the archived one no longer holds the name
    end)

    it("updates, archives (final), and lists with include_archived", function()
      local path = "/v1/organizations/workspaces"
      local w = ok(api("POST", path, { name = "Temp" }))
      local u = ok(api("POST", path .. "/" .. w.id, { name = "Temporary", tags = { a = "b" } }))
      assert.equal("Temporary", u.name)
      assert.same({ a = "b" }, u.tags)
      local a = ok(api("POST", path .. "/" .. w.id .. "/archive"))
      assert.matches("Z$", a.archived_at)
      assert.same(a, ok(api("POST", path .. "/" .. w.id .. "/archive"))) -- archiving again changes nothing
      expect_error(api("POST", path .. "/" .. w.id, { name = "Again" }), 400, "invalid_request_error", "archived")
      assert.is_nil(by(list_all(path), "id", w.id))
      assert.truthy(by(list_all(path, { include_archived = "true" }), "id", w.id))
      assert.equal(2, #list_all(path, { include_archived = "false" }))
      expect_error((get(path, { include_archived = "maybe" })), 400, "invalid_request_error", "include_archived")
      expect_error(api("GET", path .. "/wrkspc_01missing"), 404, "not_found_error")
      expect_error(api("POST", path .. "/wrkspc_01missing/archive"), 404, "not_found_error")
    end)

    it("archiving a workspace archives its keys", function()
      local ws = workspace_id("Production")
      ok(api("POST", "/v1/organizations/workspaces/" .. ws .. "/archive"))
      for _, k in ipairs(list_all("/v1/organizations/api_keys", { workspace_id = ws })) do
        assert.equal("archived", k.status)
      end
    end)
  end)

  describe("workspace members", function()
    local ws, base
    before_each(function()
      ws = workspace_id("Production")
      base = "/v1/organizations/workspaces/" .. ws .. "/members"
    end)

    it("lists members, org admins included as workspace_admin", function()
      local page = ok((get(base)))
      local roles = {}
      for _, m in ipairs(page.data) do
        assert.equal("workspace_member", m.type)
        assert.equal(ws, m.workspace_id)
        roles[m.user_id] = m.workspace_role
      end
      assert.same({
        [user_id("ada@example.com")] = "workspace_admin",
        [user_id("bob@example.com")] = "workspace_developer",
        [user_id("carol@example.com")] = "workspace_user",
      }, roles)
      assert.equal(page.data[1].user_id, page.first_id)
    end)

    it("adds, gets, updates (all five roles) and removes a member", function()
      local dave = user_id("dave@example.com")
      local m = ok(api("POST", base, { user_id = dave, workspace_role = "workspace_restricted_developer" }))
      assert.same({ type = "workspace_member", user_id = dave, workspace_id = ws,
                    workspace_role = "workspace_restricted_developer" }, m)
      assert.same(m, ok(api("GET", base .. "/" .. dave)))
      for _, role in ipairs({ "workspace_user", "workspace_developer", "workspace_restricted_developer",
                              "workspace_admin", "workspace_billing" }) do
        assert.equal(role, ok(api("POST", base .. "/" .. dave, { workspace_role = role })).workspace_role)
      end
      assert.same({ type = "workspace_member_deleted", user_id = dave, workspace_id = ws },
        ok(api("DELETE", base .. "/" .. dave)))
      expect_error(api("GET", base .. "/" .. dave), 404, "not_found_error")
    end)

    it("validates adds, updates and removals", function()
      local dave = user_id("dave@example.com")
      local bob = user_id("bob@example.com")
      local ada = user_id("ada@example.com")
      expect_error(api("POST", base, { user_id = dave, workspace_role = "workspace_billing" }), 400,
        "invalid_request_error", "workspace_billing")
      expect_error(api("POST", base, { user_id = dave, workspace_role = "owner" }), 400, "invalid_request_error",
        "workspace_role: Input should be")
      expect_error(api("POST", base, { user_id = dave }), 400, "invalid_request_error",
        "workspace_role: Field required")
      expect_error(api("POST", base, { workspace_role = "workspace_user" }), 400, "invalid_request_error",
        "user_id: Field required")
      expect_error(api("POST", base, { user_id = "user_01ghost", workspace_role = "workspace_user" }), 404,
        "not_found_error")
      expect_error(api("POST", base, { user_id = bob, workspace_role = "workspace_user" }), 400,
        "invalid_request_error", "already a member")
      expect_error(api("POST", base, { user_id = ada, workspace_role = "workspace_user" }), 400,
        "invalid_request_error", "admin")
      expect_error(api("POST", base .. "/" .. bob, { workspace_role = "boss" }), 400, "invalid_request_error")
      expect_error(api("POST", base .. "/" .. ada, { workspace_role = "workspace_user" }), 400,
        "invalid_request_error", "admin")
      expect_error(api("DELETE", base .. "/" .. ada), 400, "invalid_request_error", "admin")
      expect_error(api("DELETE", base .. "/" .. dave), 404, "not_found_error")
      expect_error(api("GET", "/v1/organizations/workspaces/wrkspc_01none/members"), 404, "not_found_error")
    end)
  end)

  describe("API keys", function()
    it("lists the seeded keys with the real shape; the default workspace is null", function()
      local keys = list_all("/v1/organizations/api_keys")
      local k = by(keys, "name", "default-scripts")
      assert.equal("api_key", k.type)
      assert.matches("^apikey_01", k.id)
      assert.equal(cjson.null, k.workspace_id)
      assert.equal(cjson.null, k.expires_at)
      assert.same({ id = user_id("ada@example.com"), type = "user" }, k.created_by)
      assert.matches("^sk%-ant%-api03%-...%.%.%.....$", k.partial_key_hint)
      assert.equal("active", k.status)
      -- the emulator's own key (from ANTHROPIC_EMULATOR_KEYS) is an API key of the default workspace
      local own = by(keys, "partial_key_hint", key:sub(1, 16) .. "..." .. key:sub(-4))
      assert.truthy(own)
      assert.equal(cjson.null, own.workspace_id)
      -- newest first
      for i = 2, #keys do assert.is_true(keys[i - 1].created_at >= keys[i].created_at) end
    end)

    it("filters by status, workspace_id and created_by_user_id", function()
      local prod = workspace_id("Production")
      assert.equal(2, #list_all("/v1/organizations/api_keys", { workspace_id = prod }))
      local inactive = list_all("/v1/organizations/api_keys", { status = "inactive" })
      assert.same({ "staging-ci" }, { inactive[1].name })
      assert.equal(1, #inactive)
      assert.equal(3, #list_all("/v1/organizations/api_keys", { created_by_user_id = user_id("bob@example.com") }))
      assert.equal(0, #list_all("/v1/organizations/api_keys", { workspace_id = "wrkspc_01unknown" }))
      expect_error((get("/v1/organizations/api_keys", { status = "lost" })), 400, "invalid_request_error",
        "status: Input should be 'active', 'inactive', 'archived' or 'expired'")
    end)

    it("updates name and status; archived is final; expired cannot be set", function()
      local k = by(list_all("/v1/organizations/api_keys"), "name", "prod-batch")
      local path = "/v1/organizations/api_keys/" .. k.id
      assert.same(k, ok(api("GET", path)))
      local u = ok(api("POST", path, { name = "prod-batch-2", status = "inactive" }))
      assert.equal("prod-batch-2", u.name)
      assert.equal("inactive", u.status)
      expect_error(api("POST", path, { status = "expired" }), 400, "invalid_request_error", "expired")
      expect_error(api("POST", path, { status = "gone" }), 400, "invalid_request_error", "status: Input should be")
      expect_error(api("POST", path, { name = "" }), 400, "invalid_request_error", "name")
      expect_error(api("POST", path, { workspace_id = "x" }), 400, "invalid_request_error", "Extra inputs")
      assert.equal("archived", ok(api("POST", path, { status = "archived" })).status)
      expect_error(api("POST", path, { status = "active" }), 400, "invalid_request_error", "archived")
      expect_error(api("POST", path, { name = "again" }), 400, "invalid_request_error", "archived")
      expect_error(api("GET", "/v1/organizations/api_keys/apikey_01none"), 404, "not_found_error")
      expect_error(api("POST", "/v1/organizations/api_keys/apikey_01none", { name = "x" }), 404, "not_found_error")
    end)

    it("creates keys as the Console would; their secrets work on Messages until disabled", function()
      local ws = workspace_id("Staging")
      local r = server:create_api_keys { name = "console-made", workspace_id = ws, created_by = "bob@example.com" }
      assert.equal(1, #r.keys)
      local secret = r.keys[1]
      assert.matches("^sk%-ant%-api03%-[%w_%-]+AA$", secret)
      local k = r.data[1]
      assert.equal("console-made", k.name)
      assert.equal(ws, k.workspace_id)
      assert.equal(secret:sub(1, 16) .. "..." .. secret:sub(-4), k.partial_key_hint)
      message(secret, "hello")
      -- the secret never shows in the API or the log
      local listing = api("GET", "/v1/organizations/api_keys" .. q { workspace_id = ws }).body
      assert.falsy(listing:find(secret, 1, true))
      assert.falsy(cjson.encode(server:log()):find(secret, 1, true))
      ok(api("POST", "/v1/organizations/api_keys/" .. k.id, { status = "inactive" }))
      expect_error(server:api("POST", "/v1/messages", { model = "claude-opus-4-5", max_tokens = 5,
        messages = { { role = "user", content = "x" } } }, secret), 401, "authentication_error", "inactive")
      ok(api("POST", "/v1/organizations/api_keys/" .. k.id, { status = "active" }))
      message(secret, "back")
      -- a reset forgets control-made keys: the secret stops working
      server:reset()
      assert.equal(401, server:api("POST", "/v1/messages", { model = "claude-opus-4-5", max_tokens = 5,
        messages = { { role = "user", content = "x" } } }, secret).status)
    end)

    it("expires keys by the emulator clock", function()
      local r = server:create_api_keys { name = "short", expires_at = "+1h" }
      local id, secret = r.data[1].id, r.keys[1]
      assert.equal("active", ok(api("GET", "/v1/organizations/api_keys/" .. id)).status)
      server:clock { advance = 3601 }
      assert.equal("expired", ok(api("GET", "/v1/organizations/api_keys/" .. id)).status)
      assert.equal(1, #list_all("/v1/organizations/api_keys", { status = "expired" }))
      expect_error(api("POST", "/v1/organizations/api_keys/" .. id, { status = "active" }), 400,
        "invalid_request_error", "expired")
      assert.equal(401, server:api("POST", "/v1/messages", { model = "claude-opus-4-5", max_tokens = 5,
        messages = { { role = "user", content = "x" } } }, secret).status)
      assert.equal("archived", ok(api("POST", "/v1/organizations/api_keys/" .. id, { status = "archived" })).status)
    end)

    it("validates the control endpoint", function()
      local res = server:request("POST", "/_emulator/api_keys", { workspace_id = "nowhere" })
      assert.equal(400, res.status)
      assert.matches("workspace_id", res.json.error.message)
      res = server:request("POST", "/_emulator/api_keys", { count = 0 })
      assert.equal(400, res.status)
    end)
  end)

  describe("ID-cursor pagination over 2,500 keys", function()
    local ws, created
    before_each(function()
      ws = ok(api("POST", "/v1/organizations/workspaces", { name = "Bulk" })).id
      local r = server:create_api_keys { count = 2500, workspace_id = ws, name = "bulk" }
      created = r.data
      assert.equal(2500, #created)
      assert.equal(2500, #r.keys)
    end)

    it("pages forwards with limit 1000 and after_id, then backwards with before_id", function()
      local path = "/v1/organizations/api_keys"
      local forward, sizes, cursor = {}, {}, nil
      repeat
        local page = ok((get(path, { workspace_id = ws, limit = 1000, after_id = cursor })))
        sizes[#sizes + 1] = #page.data
        for _, k in ipairs(page.data) do forward[#forward + 1] = k.id end
        assert.equal(page.data[1].id, page.first_id)
        assert.equal(page.data[#page.data].id, page.last_id)
        cursor = page.last_id
      until not page.has_more
      assert.same({ 1000, 1000, 500 }, sizes)
      assert.equal(2500, #forward)
      local seen = {}
      for _, id in ipairs(forward) do
        assert.is_nil(seen[id])
        seen[id] = true
      end
      -- newest first: the last created key comes first
      assert.equal(created[2500].id, forward[1])
      assert.equal(created[1].id, forward[2500])

      -- backwards from the oldest key: each page is the 1000 keys just before the cursor
      local backward, bsizes = {}, {}
      cursor = forward[2500]
      repeat
        local page = ok((get(path, { workspace_id = ws, limit = 1000, before_id = cursor })))
        bsizes[#bsizes + 1] = #page.data
        for i = #page.data, 1, -1 do table.insert(backward, 1, page.data[i].id) end
        cursor = page.first_id
      until not page.has_more
      assert.same({ 1000, 1000, 499 }, bsizes)
      backward[#backward + 1] = forward[2500]
      assert.same(forward, backward)
    end)

    it("checks limit and cursors", function()
      local path = "/v1/organizations/api_keys"
      assert.equal(20, #ok((get(path, { workspace_id = ws }))).data)
      expect_error((get(path, { limit = 0 })), 400, "invalid_request_error", "limit")
      expect_error((get(path, { limit = 1001 })), 400, "invalid_request_error", "limit")
      expect_error((get(path, { limit = "ten" })), 400, "invalid_request_error", "limit")
      expect_error((get(path, { after_id = "apikey_01zzz" })), 400, "invalid_request_error", "after_id")
      expect_error((get(path, { after_id = created[1].id, before_id = created[2].id })), 400,
        "invalid_request_error")
      local last = ok((get(path, { workspace_id = ws, after_id = created[1].id })))
      assert.same({}, last.data)
      assert.is_false(last.has_more)
      assert.equal(cjson.null, last.first_id)
      assert.equal(cjson.null, last.last_id)
    end)
  end)

  describe("rate limits", function()
    it("lists the org's groups from the model registry and the enforced limits", function()
      local page = ok((get("/v1/organizations/rate_limits")))
      assert.equal(cjson.null, page.next_page)
      local sonnet
      for _, g in ipairs(page.data) do
        assert.equal("rate_limit", g.type)
        if g.group_type == "model_group" then
          for _, m in ipairs(g.models) do
            if m == "claude-opus-4-5" then sonnet = g end
          end
        else
          assert.equal(cjson.null, g.models)
        end
      end
      assert.truthy(sonnet)
      local rpm = by(sonnet.limits, "type", "requests_per_minute")
      assert.equal(4000, rpm.value)
      server:ratelimit { rpm = 50 }
      local again = ok((get("/v1/organizations/rate_limits", { model = "claude-opus-4-5" })))
      assert.equal(1, #again.data)
      assert.equal(50, by(again.data[1].limits, "type", "requests_per_minute").value)
    end)

    it("filters by group_type and model; follows next_page", function()
      local batch = ok((get("/v1/organizations/rate_limits", { group_type = "batch" }))).data
      assert.equal(1, #batch)
      assert.equal("batch", batch[1].group_type)
      expect_error((get("/v1/organizations/rate_limits", { model = "gpt-4" })), 404, "not_found_error")
      expect_error((get("/v1/organizations/rate_limits", { group_type = "nope" })), 400, "invalid_request_error",
        "group_type")
      local all = ok((get("/v1/organizations/rate_limits"))).data
      local seen, page = {}, nil
      repeat
        local body = ok((get("/v1/organizations/rate_limits", { limit = 2, page = page })))
        assert.is_true(#body.data <= 2)
        for _, g in ipairs(body.data) do seen[#seen + 1] = g.id end
        page = body.next_page ~= cjson.null and body.next_page or nil
      until not page
      assert.same(ids(all), seen)
    end)

    it("lists workspace overrides only", function()
      local ws = workspace_id("Production")
      local path = "/v1/organizations/workspaces/" .. ws .. "/rate_limits"
      assert.same({}, ok((get(path))).data)
      server:seed { merge = true, workspace_rate_limits = {
        { workspace_id = "Production", group_type = "model_group", model = "claude-opus-4-5",
          limits = { { type = "requests_per_minute", value = 100 } } } } }
      local body = ok((get(path)))
      assert.equal(cjson.null, body.next_page)
      assert.equal(1, #body.data)
      local o = body.data[1]
      assert.equal("workspace_rate_limit", o.type)
      assert.equal(ws, o.workspace_id)
      assert.equal("model_group", o.group_type)
      assert.same({ { type = "requests_per_minute", value = 100, org_limit = 4000, source = { type = "workspace" } } },
        o.limits)
      assert.equal(0, #ok((get(path, { group_type = "batch" }))).data)
      expect_error((get("/v1/organizations/workspaces/wrkspc_01x/rate_limits")), 404, "not_found_error")
    end)

    it("2026-10-21 answers carry the group object instead of group_type", function()
      local v26 = { ["anthropic-version"] = "2026-10-21" }
      local all = ok((get("/v1/organizations/rate_limits", nil, nil, v26))).data
      local mg = ok((get("/v1/organizations/rate_limits", { model = "claude-opus-4-5" }, nil, v26))).data[1]
      assert.is_nil(mg.group_type)
      assert.equal("model_group", mg.group.type)
      assert.equal("Claude Opus 4", mg.group.display_name)
      assert.matches("^rlgrp_", mg.group.id)
      local batch = by(all, "id", ok((get("/v1/organizations/rate_limits", { group_type = "batch" }))).data[1].id)
      assert.same({ "id", "type" }, (function()
        local k = {}
        for name in pairs(batch.group) do k[#k + 1] = name end
        table.sort(k)
        return k
      end)())
      local ws = workspace_id("Production")
      local entry = ok((api("POST", "/v1/organizations/workspaces/" .. ws .. "/rate_limits/" .. mg.id,
        { limits = { { type = "requests_per_minute", value = 10 } } }, nil, v26)))
      assert.equal("model_group", entry.group.type)
      assert.is_nil(entry.group_type)
    end)

    it("sets and clears a workspace's limits; include_inherited lists the organization's values with source", function()
      local ws = workspace_id("Production")
      local path = "/v1/organizations/workspaces/" .. ws .. "/rate_limits"
      local g = ok((get("/v1/organizations/rate_limits", { model = "claude-opus-4-5" }))).data[1]
      local entry = ok((api("POST", path .. "/" .. g.id, { limits = {
        { type = "requests_per_minute", value = 100 }, { type = "output_tokens_per_minute", value = 5000 } } })))
      assert.equal("workspace_rate_limit", entry.type)
      assert.equal(g.id, entry.rate_limit_id)
      assert.equal(ws, entry.workspace_id)
      assert.same(g.models, entry.models)
      assert.same({ { type = "output_tokens_per_minute", value = 5000, org_limit = by(g.limits, "type",
          "output_tokens_per_minute").value, source = { type = "workspace" } },
        { type = "requests_per_minute", value = 100, org_limit = 4000, source = { type = "workspace" } } },
        entry.limits)
      -- a type not named keeps its value; null clears one
      entry = ok((api("POST", path .. "/" .. g.id, { limits = {
        { type = "output_tokens_per_minute", value = cjson.null },
        { type = "requests_per_minute", value = 200 } } })))
      assert.same({ { type = "requests_per_minute", value = 200, org_limit = 4000, source = { type = "workspace" } } },
        entry.limits)
      assert.equal(1, #ok((get(path))).data)
      -- include_inherited: every group, the inherited values marked organization, value = org_limit
      local inherited = ok((get(path, { include_inherited = "true" }))).data
      assert.equal(#ok((get("/v1/organizations/rate_limits"))).data, #inherited)
      local mine = by(inherited, "rate_limit_id", g.id)
      local rpm = by(mine.limits, "type", "requests_per_minute")
      assert.same({ type = "workspace" }, rpm.source)
      local itpm = by(mine.limits, "type", "input_tokens_per_minute")
      assert.same({ type = "organization" }, itpm.source)
      assert.equal(itpm.org_limit, itpm.value)
      -- above the organization's limit: stored (the lower applies), as the API documents
      entry = ok((api("POST", path .. "/" .. g.id, { limits = { { type = "requests_per_minute", value = 999999 } } })))
      assert.equal(999999, entry.limits[1].value)
      assert.equal(4000, entry.limits[1].org_limit)
      -- clearing the last one leaves no override
      entry = ok((api("POST", path .. "/" .. g.id,
        { limits = { { type = "requests_per_minute", value = cjson.null } } })))
      assert.same({}, entry.limits)
      assert.same({}, ok((get(path))).data)
    end)

    it("refuses a bad rate-limit update", function()
      local ws = workspace_id("Production")
      local g = ok((get("/v1/organizations/rate_limits", { group_type = "batch" }))).data[1]
      local path = "/v1/organizations/workspaces/" .. ws .. "/rate_limits/" .. g.id
      for _, case in ipairs {
        { { limits = { { type = "requests_per_minute", value = -1 } } }, "limits.0.value" },
        { { limits = { { type = "requests_per_minute", value = 1.5 } } }, "limits.0.value" },
        { { limits = { { type = "requests_per_fortnight", value = 1 } } }, "limits.0.type" },
        { { limits = { { type = "requests_per_minute" } } }, "limits.0.value: Field required" },
        { { limits = "all" }, "limits" },
        { { limits = {}, colour = "red" }, "colour: Extra inputs" },
      } do
        expect_error((api("POST", path, case[1])), 400, "invalid_request_error", case[2])
      end
      expect_error((api("POST", "/v1/organizations/workspaces/" .. ws .. "/rate_limits/ratelimit_01nope",
        { limits = { { type = "requests_per_minute", value = 1 } } })), 404, "not_found_error")
      expect_error((api("POST", "/v1/organizations/workspaces/wrkspc_01x/rate_limits/" .. g.id,
        { limits = { { type = "requests_per_minute", value = 1 } } })), 404, "not_found_error")
    end)
  end)

  describe("messages usage report", function()
    local prod_key, staging_key, prod, staging
    local sent -- [api key id][model] = { input, output }
    before_each(function()
      server:clock { set = "2026-03-10T12:00:10Z" }
      prod, staging = workspace_id("Production"), workspace_id("Staging")
      local a = server:create_api_keys { name = "p", workspace_id = prod }
      local b = server:create_api_keys { name = "s", workspace_id = staging }
      prod_key, staging_key = a.keys[1], b.keys[1]
      sent = { [a.data[1].id] = {}, [b.data[1].id] = {}, default = {} }
      local function send(k, id, text, model)
        local m = message(k, text, model)
        local s = sent[id][model] or { 0, 0 }
        sent[id][model] = { s[1] + m.usage.input_tokens, s[2] + m.usage.output_tokens }
      end
      send(prod_key, a.data[1].id, "hello from production", "claude-opus-4-5")
      send(prod_key, a.data[1].id, "a second, somewhat longer message from production", "claude-opus-4-5")
      send(prod_key, a.data[1].id, "opus please", "claude-opus-4-6")
      send(staging_key, b.data[1].id, "staging says hi", "claude-haiku-4-5")
      send(key, "default", "the default workspace", "claude-opus-4-5")
    end)

    local function total(report, field)
      local n = 0
      for _, b in ipairs(report.data) do
        for _, r in ipairs(b.results) do n = n + r[field] end
      end
      return n
    end

    it("attributes each request to its key, workspace and model", function()
      local records = server:usage() -- buckets: (prod, opus-4-5) twice in the same minute -> one
      assert.equal(4, #records)
      local requests = 0
      for _, u in ipairs(records) do
        assert.equal("2026-03-10T12:00:00Z", u.time)
        assert.truthy(u.api_key_id)
        requests = requests + u.requests
      end
      assert.equal(5, requests)
      assert.equal("claude-opus-4-5-20251101", records[1].model) -- aliases resolve to the model id
    end)

    it("sums match the traffic, grouped by api_key_id and model", function()
      local report = ok((get("/v1/organizations/usage_report/messages", { starting_at = "2026-03-10T00:00:00Z",
        ending_at = "2026-03-11T00:00:00Z", bucket_width = "1h", group_by = { "api_key_id", "model" } })))
      assert.equal(24, #report.data)
      assert.is_false(report.has_more)
      assert.equal(cjson.null, report.next_page)
      for i, b in ipairs(report.data) do
        assert.equal(string.format("2026-03-10T%02d:00:00Z", i - 1), b.starting_at)
        if i ~= 13 then assert.same({}, b.results) end
      end
      local results = report.data[13].results
      assert.equal(5 - 1, #results) -- (prod, sonnet) twice -> one row
      local expected_in, expected_out = 0, 0
      for _, r in ipairs(results) do
        assert.equal(cjson.null, r.workspace_id) -- not grouped by it
        assert.equal(cjson.null, r.service_tier)
        assert.same({ ephemeral_5m_input_tokens = 0, ephemeral_1h_input_tokens = 0 }, r.cache_creation)
        assert.same({ web_search_requests = 0 }, r.server_tool_use)
      end
      for id, models in pairs(sent) do
        for model, s in pairs(models) do
          expected_in, expected_out = expected_in + s[1], expected_out + s[2]
          if id ~= "default" then
            local full = { ["claude-opus-4-5"] = "claude-opus-4-5-20251101",
                           ["claude-haiku-4-5"] = "claude-haiku-4-5-20251001" }
            local row
            for _, r in ipairs(results) do
              if r.api_key_id == id and r.model == (full[model] or model) then row = r end
            end
            assert.truthy(row, id .. " " .. model)
            assert.equal(s[1], row.uncached_input_tokens)
            assert.equal(s[2], row.output_tokens)
          end
        end
      end
      assert.equal(expected_in, total(report, "uncached_input_tokens"))
      assert.equal(expected_out, total(report, "output_tokens"))
    end)

    it("groups by workspace_id (null = default workspace) and filters", function()
      local params = { starting_at = "2026-03-10T12:00:00Z", ending_at = "2026-03-10T13:00:00Z",
                       bucket_width = "1h", group_by = { "workspace_id" } }
      local results = ok((get("/v1/organizations/usage_report/messages", params))).data[1].results
      assert.equal(3, #results)
      local default = by(results, "workspace_id", cjson.null)
      assert.truthy(default)
      assert.equal(sent.default["claude-opus-4-5"][1], default.uncached_input_tokens)
      params.workspace_ids = { staging }
      results = ok((get("/v1/organizations/usage_report/messages", params))).data[1].results
      assert.equal(1, #results)
      assert.equal(staging, results[1].workspace_id)
      params.workspace_ids = nil
      params.models = { "claude-opus-4-6" }
      results = ok((get("/v1/organizations/usage_report/messages", params))).data[1].results
      assert.equal(1, #results)
      assert.equal(prod, results[1].workspace_id)
      params.models = { "claude-opus-4-5" } -- an alias filter matches the resolved id
      results = ok((get("/v1/organizations/usage_report/messages", params))).data[1].results
      assert.equal(2, #results)
      params.models, params.service_tiers = nil, { "batch" }
      assert.same({}, ok((get("/v1/organizations/usage_report/messages", params))).data[1].results)
    end)

    it("accepts URL-encoded bracket parameters", function()
      local path = "/v1/organizations/usage_report/messages?starting_at=2026-03-10T12%3A00%3A00Z"
        .. "&bucket_width=1d&group_by%5B%5D=model&group_by%5B%5D=workspace_id&limit=1"
      local report = ok(api("GET", path))
      assert.equal(1, #report.data)
      assert.equal("2026-03-10T00:00:00Z", report.data[1].starting_at)
      assert.equal(4, #report.data[1].results)
    end)

    it("pages buckets with next_page (1m buckets, limit 60)", function()
      local params = { starting_at = "2026-03-10T10:00:00Z", ending_at = "2026-03-10T13:00:00Z", bucket_width = "1m" }
      local pages, buckets, sum, page = 0, 0, 0, nil
      repeat
        params.page = page
        local r = ok((get("/v1/organizations/usage_report/messages", params)))
        pages = pages + 1
        buckets = buckets + #r.data
        sum = sum + total(r, "output_tokens")
        page = r.next_page ~= cjson.null and r.next_page or nil
        assert.equal(page ~= nil, r.has_more)
      until not page
      assert.equal(3, pages)
      assert.equal(180, buckets)
      local expected = 0
      for _, models in pairs(sent) do
        for _, s in pairs(models) do expected = expected + s[2] end
      end
      assert.equal(expected, sum)
    end)

    it("defaults: 1d buckets, 7 per page, up to now", function()
      local r = ok((get("/v1/organizations/usage_report/messages", { starting_at = "2026-03-01T05:00:00Z" })))
      assert.equal(7, #r.data)
      assert.equal("2026-03-01T00:00:00Z", r.data[1].starting_at)
      assert.equal("2026-03-02T00:00:00Z", r.data[1].ending_at)
      assert.is_true(r.has_more)
      local r2 = ok((get("/v1/organizations/usage_report/messages", { starting_at = "2026-03-01T05:00:00Z",
        page = r.next_page })))
      assert.equal(3, #r2.data) -- 8, 9 and 10 March (today on the emulator clock)
      assert.is_false(r2.has_more)
    end)

    it("validates parameters", function()
      local path = "/v1/organizations/usage_report/messages"
      local s = "2026-03-10T00:00:00Z"
      expect_error((get(path, {})), 400, "invalid_request_error", "starting_at: Field required")
      expect_error((get(path, { starting_at = "yesterday" })), 400, "invalid_request_error", "starting_at")
      expect_error((get(path, { starting_at = s, bucket_width = "1w" })), 400, "invalid_request_error",
        "bucket_width: Input should be '1m', '1h' or '1d'")
      expect_error((get(path, { starting_at = s, bucket_width = "1m", limit = 1441 })), 400, "invalid_request_error",
        "less than or equal to 1440")
      expect_error((get(path, { starting_at = s, bucket_width = "1h", limit = 169 })), 400, "invalid_request_error",
        "168")
      expect_error((get(path, { starting_at = s, limit = 32 })), 400, "invalid_request_error", "31")
      expect_error((get(path, { starting_at = s, group_by = { "colour" } })), 400, "invalid_request_error", "group_by")
      expect_error((get(path, { starting_at = s, group_by = { "speed" } })), 400, "invalid_request_error",
        "fast%-mode")
      assert.equal(200, (get(path, { starting_at = s, group_by = { "speed" } }, nil,
        { ["anthropic-beta"] = "fast-mode-2026-02-01" })).status)
      expect_error((get(path, { starting_at = s, service_tiers = { "gold" } })), 400, "invalid_request_error",
        "service_tiers")
      expect_error((get(path, { starting_at = s, ending_at = "2026-03-09T00:00:00Z" })), 400,
        "invalid_request_error", "ending_at")
      expect_error((get(path, { starting_at = s, page = "bogus" })), 400, "invalid_request_error", "page")
      local r = ok((get(path, { starting_at = s, bucket_width = "1h", limit = 1 })))
      expect_error((get(path, { starting_at = s, bucket_width = "1m", page = r.next_page })), 400,
        "invalid_request_error", "does not match")
    end)
  end)

  describe("cost report", function()
    -- a month of history, injected
    local prod, staging
    local expected -- [workspace or "default"] = integer 10^-10 cents
    before_each(function()
      server:clock { set = "2026-04-01T08:00:00Z" }
      prod, staging = workspace_id("Production"), workspace_id("Staging")
      local keys = list_all("/v1/organizations/api_keys")
      local prod_key = by(keys, "name", "prod-backend").id
      local default_key = by(keys, "name", "default-scripts").id
      local records = {}
      expected = { [prod] = 0, [staging] = 0, default = 0 }
      for day = 1, 31 do
        local t = string.format("2026-03-%02dT%02d:15:00Z", day, day % 24)
        records[#records + 1] = { time = t, api_key_id = prod_key, model = "claude-sonnet-4-6",
          input_tokens = 1234567 + day, output_tokens = 54321 * day, cache_read_input_tokens = 1000 * day }
        expected[prod] = expected[prod] + (1234567 + day) * 3000000 + 54321 * day * 15000000 + 1000 * day * 300000
        records[#records + 1] = { time = t, workspace_id = "Staging", model = "claude-haiku-4-5",
          input_tokens = 777, output_tokens = 333, service_tier = "batch",
          cache_creation = { ephemeral_5m_input_tokens = 10, ephemeral_1h_input_tokens = 20 } }
        expected[staging] = expected[staging] + 777 * 500000 + 333 * 2500000 + 10 * 625000 + 20 * 1000000
        records[#records + 1] = { time = t, api_key_id = default_key, model = "claude-opus-4-1",
          input_tokens = 1, output_tokens = 1, web_search_requests = 2 }
        expected.default = expected.default + 15000000 + 75000000 + 2 * 10000000000
      end
      assert.equal(93, server:add_usage(records).added)
    end)

    local function month(params)
      params.starting_at = "2026-03-01T00:00:00Z"
      params.ending_at = "2026-04-01T00:00:00Z"
      params.limit = 31
      return ok((get("/v1/organizations/cost_report", params)))
    end

    it("totals each workspace to the exact cent fraction", function()
      local r = month { group_by = { "workspace_id" } }
      assert.equal(31, #r.data)
      assert.is_false(r.has_more)
      local totals = {}
      for _, b in ipairs(r.data) do
        assert.equal(3, #b.results)
        for _, row in ipairs(b.results) do
          assert.equal("USD", row.currency)
          assert.equal(cjson.null, row.description)
          assert.is_string(row.amount)
          local ws = row.workspace_id == cjson.null and "default" or row.workspace_id
          -- the amount is cents with up to 10 decimals: back to integer units, exactly
          local int, frac = row.amount:match("^(%d+)%.?(%d*)$")
          totals[ws] = (totals[ws] or 0) + tonumber(int) * 10000000000
            + tonumber((frac .. string.rep("0", 10)):sub(1, 10))
        end
      end
      for ws, units in pairs(expected) do
        assert.equal(units, totals[ws], ws)
      end
      -- one day of Production, by hand: (1234568 * 3 + 54321 * 15 + 1000 * 0.3) / 1e6 dollars
      local day1 = by(r.data[1].results, "workspace_id", prod)
      assert.equal(cents(1234568 * 3000000 + 54321 * 15000000 + 1000 * 300000), day1.amount)
      assert.equal("451.8819", day1.amount)
    end)

    it("splits by description: one row per model and token type, with the real fields", function()
      local r = month { group_by = { "description" } }
      local rows = r.data[1].results
      local function row(tt, model)
        for _, x in ipairs(rows) do
          if x.token_type == tt and (model == nil or x.model == model) then return x end
        end
      end
      local input = row("uncached_input_tokens", "claude-sonnet-4-6")
      assert.equal("Claude Sonnet 4.6 Usage - Input Tokens", input.description)
      assert.equal("tokens", input.cost_type)
      assert.equal("standard", input.service_tier)
      assert.equal("200k-1M", input.context_window) -- 1,234,568 input tokens is a long prompt
      assert.equal("0-200k", row("output_tokens", "claude-haiku-4-5-20251001").context_window)
      assert.equal("global", input.inference_geo)
      assert.equal(cjson.null, input.workspace_id)
      assert.equal(cents(1234568 * 3000000), input.amount)
      assert.equal("370.3704", input.amount)
      local batch_out = row("output_tokens", "claude-haiku-4-5-20251001")
      assert.equal("batch", batch_out.service_tier)
      assert.equal(cents(333 * 2500000), batch_out.amount)
      assert.equal(cents(10 * 625000), row("cache_creation.ephemeral_5m_input_tokens").amount)
      assert.equal(cents(20 * 1000000), row("cache_creation.ephemeral_1h_input_tokens").amount)
      local search = by(rows, "cost_type", "web_search")
      assert.equal("2", search.amount)
      assert.equal("Web Search Usage", search.description)
    end)

    it("pages days with the documented default of 7", function()
      local r = ok((get("/v1/organizations/cost_report", { starting_at = "2026-03-01T00:00:00Z",
        ending_at = "2026-04-01T00:00:00Z" })))
      assert.equal(7, #r.data)
      assert.is_true(r.has_more)
      local days = #r.data
      while r.has_more do
        r = ok((get("/v1/organizations/cost_report", { starting_at = "2026-03-01T00:00:00Z",
          ending_at = "2026-04-01T00:00:00Z", page = r.next_page })))
        days = days + #r.data
      end
      assert.equal(31, days)
    end)

    it("validates parameters", function()
      local path = "/v1/organizations/cost_report"
      expect_error((get(path, {})), 400, "invalid_request_error", "starting_at")
      expect_error((get(path, { starting_at = "2026-03-01T00:00:00Z", bucket_width = "1h" })), 400,
        "invalid_request_error", "bucket_width: Input should be '1d'")
      expect_error((get(path, { starting_at = "2026-03-01T00:00:00Z", group_by = { "model" } })), 400,
        "invalid_request_error", "group_by: Input should be 'workspace_id' or 'description'")
      expect_error((get(path, { starting_at = "2026-03-01T00:00:00Z", limit = 32 })), 400, "invalid_request_error")
    end)

    it("prices served traffic too, from the same table", function()
      local r = server:create_api_keys { name = "live", workspace_id = "Staging" }
      local m = message(r.keys[1], "price me", "claude-opus-4-7")
      local day = ok((get("/v1/organizations/cost_report", { starting_at = "2026-04-01T00:00:00Z",
        group_by = { "workspace_id" } }))).data[1]
      local row = by(day.results, "workspace_id", staging)
      assert.equal(cents(m.usage.input_tokens * 5000000 + m.usage.output_tokens * 25000000), row.amount)
    end)
  end)

  describe("Claude Code report", function()
    it("returns the day's records, with page tokens", function()
      local today = server:clock().now:sub(1, 10)
      local path = "/v1/organizations/usage_report/claude_code"
      assert.same({}, ok((get(path, { starting_at = today }))).data)
      server:add_claude_code {
        { date = today, email_address = "bob@example.com", core_metrics = { num_sessions = 2 } },
        { date = today, api_key_name = "prod-backend" },
      }
      local r = ok((get(path, { starting_at = today, limit = 1 })))
      assert.equal(1, #r.data)
      assert.is_true(r.has_more)
      local rec = r.data[1]
      assert.equal(today .. "T00:00:00Z", rec.date)
      assert.same({ type = "user_actor", email_address = "bob@example.com" }, rec.actor)
      assert.equal("2e1a5f6c-0b7d-4c1e-9a53-8f0e6d4b2a17", rec.organization_id)
      assert.equal(2, rec.core_metrics.num_sessions)
      assert.same({ added = 0, removed = 0 }, rec.core_metrics.lines_of_code)
      r = ok((get(path, { starting_at = today, limit = 1, page = r.next_page })))
      assert.same({ type = "api_actor", api_key_name = "prod-backend" }, r.data[1].actor)
      assert.is_false(r.has_more)
      assert.equal(cjson.null, r.next_page)
    end)

    it("has seed records for yesterday and validates starting_at", function()
      local now = server:clock().unix
      local yesterday = os.date("!%Y-%m-%d", now - 86400)
      local path = "/v1/organizations/usage_report/claude_code"
      assert.equal(2, #ok((get(path, { starting_at = yesterday }))).data)
      expect_error((get(path, {})), 400, "invalid_request_error", "starting_at: Field required")
      expect_error((get(path, { starting_at = "2026-03-01T00:00:00Z" })), 400, "invalid_request_error", "YYYY%-MM%-DD")
      expect_error((get(path, { starting_at = yesterday, limit = 1001 })), 400, "invalid_request_error", "limit")
    end)
  end)

  describe("seeds", function()
    local SEED = {
      organization = { id = "11111111-2222-3333-4444-555555555555", name = "Seeded Org" },
      users = {
        { id = "user_01seedadmin", email = "root@corp.example", name = "Root", role = "admin", added_at = "-900d" },
        { email = "dev@corp.example", role = "developer", added_at = "2025-01-01T00:00:00Z" },
      },
      workspaces = {
        { id = "wrkspc_01seedprod", name = "Prod", created_at = "-100d",
          members = { { user_id = "dev@corp.example", workspace_role = "workspace_developer" } } },
        { name = "Old", created_at = "-300d", archived_at = "-200d" },
      },
      invites = { { email = "gone@corp.example", role = "user", status = "expired" } },
      api_keys = {
        { id = "apikey_01seedold", name = "ancient", workspace_id = "Prod", created_at = "-400d",
          created_by = "dev@corp.example" },
        { name = "dead", status = "expired", workspace_id = cjson.null },
      },
      usage = { { time = "-1d", api_key_id = "ancient", model = "claude-opus-4-6", input_tokens = 10,
                  output_tokens = 20 } },
      workspace_rate_limits = { { workspace_id = "Prod", group_type = "batch",
                                  limits = { { type = "requests_per_minute", value = 10 } } } },
    }

    local function check_seeded(s)
      assert.same({ id = "11111111-2222-3333-4444-555555555555", name = "Seeded Org", type = "organization" },
        ok(api("GET", "/v1/organizations/me")))
      local users = list_all("/v1/organizations/users")
      assert.equal(2, #users)
      assert.equal("user_01seedadmin", users[2].id)
      assert.equal("2025-01-01T00:00:00Z", users[1].added_at)
      assert.equal(1, #list_all("/v1/organizations/workspaces"))
      assert.equal(2, #list_all("/v1/organizations/workspaces", { include_archived = "true" }))
      local m = ok(api("GET", "/v1/organizations/workspaces/wrkspc_01seedprod/members/" .. users[1].id))
      assert.equal("workspace_developer", m.workspace_role)
      assert.equal("expired", list_all("/v1/organizations/invites")[1].status)
      local old = ok(api("GET", "/v1/organizations/api_keys/apikey_01seedold"))
      assert.equal("wrkspc_01seedprod", old.workspace_id)
      assert.is_true(s:clock().unix - unix(old.created_at) >= 400 * 86400 - 5)
      assert.equal(1, #list_all("/v1/organizations/api_keys", { status = "expired" }))
      local rl = ok((get("/v1/organizations/workspaces/wrkspc_01seedprod/rate_limits"))).data
      assert.equal("batch", rl[1].group_type)
    end

    it("POST /_emulator/seed replaces the organization; reset restores the startup seed", function()
      local counts = server:seed(SEED)
      assert.equal(2, counts.users)
      check_seeded(server)
      server:reset()
      assert.equal("Emulator Organization", ok(api("GET", "/v1/organizations/me")).name)
      assert.equal(5, #list_all("/v1/organizations/users"))
    end)

    it("refuses an invalid seed and keeps the current state", function()
      local res = server:request("POST", "/_emulator/seed", { users = { { email = "x@example.com", role = "king" } } })
      assert.equal(400, res.status)
      assert.matches("users%.0%.role", res.json.error.message)
      res = server:request("POST", "/_emulator/seed", { api_keys = { { name = "k", workspace_id = "Nowhere" } } })
      assert.equal(400, res.status)
      assert.matches("api_keys%.0%.workspace_id", res.json.error.message)
      res = server:request("POST", "/_emulator/seed", { colour = "red" })
      assert.equal(400, res.status)
      assert.equal(5, #list_all("/v1/organizations/users"))
    end)

    it("merges with merge = true", function()
      server:seed { merge = true, users = { { email = "extra@example.com", role = "user" } } }
      assert.equal(6, #list_all("/v1/organizations/users"))
      local res = server:request("POST", "/_emulator/seed", { merge = true,
        users = { { email = "bob@example.com" } } })
      assert.equal(400, res.status)
      assert.matches("duplicate", res.json.error.message)
    end)

    it("loads --seed FILE (JSON and Lua)", function()
      local json_path = tmpfile(".json", cjson.encode(SEED))
      local s = helper.start { keys = { admin }, seed = json_path }
      local saved = server
      server = s
      local ok_, err = pcall(check_seeded, s)
      server = saved
      s:stop()
      os.remove(json_path)
      assert(ok_, err)

      local lua_path = tmpfile(".lua", [[
        return {
          organization = { name = "From Lua" },
          users = { { email = "a@lua.example", role = "admin" } },
          workspaces = { { name = "W" .. string.rep("!", 2) } },
        }]])
      s = helper.start { keys = { admin }, seed = lua_path }
      local me = s:api("GET", "/v1/organizations/me", nil, admin).json
      local ws = s:api("GET", "/v1/organizations/workspaces", nil, admin).json
      s:stop()
      os.remove(lua_path)
      assert.equal("From Lua", me.name)
      assert.equal("W!!", ws.data[1].name)
    end)

    it("refuses to start with a bad seed file", function()
      local path = tmpfile(".json", '{"users": [{"email": "no-at-sign"}]}')
      local p = io.popen("cd " .. helper.ROOT .. " && " .. helper.LUA .. " bin/anthropic emulator --port 0 --seed "
        .. path .. " 2>&1; echo rc=$?")
      local out = p:read("*a")
      p:close()
      os.remove(path)
      assert.matches("users%.0%.email", out)
      assert.matches("rc=1", out)
    end)
  end)

  describe("faults and the clock", function()
    it("applies a write, then resets the connection (apply_then_reset)", function()
      server:faults { { path = "/v1/organizations/workspaces", method = "POST", action = "apply_then_reset" } }
      local res, err = api("POST", "/v1/organizations/workspaces", { name = "Ambiguous" })
      assert.is_nil(res)
      assert.truthy(err)
      assert.truthy(by(list_all("/v1/organizations/workspaces"), "name", "Ambiguous"))
      local entry = server:log().requests
      local last
      for _, e in ipairs(entry) do
        if e.method == "POST" then last = e end
      end
      assert.equal(200, last.applied_status)
      assert.equal("apply_then_reset", last.fault.action)
    end)

    it("matches faults by method and by path prefix", function()
      server:faults { { path = "/v1/organizations/workspaces*", method = "POST", status = 529 } }
      ok(api("GET", "/v1/organizations/workspaces")) -- a GET passes by
      local id = workspace_id("Production")
      expect_error(api("POST", "/v1/organizations/workspaces/" .. id .. "/archive"), 529, "overloaded_error")
      assert.equal(cjson.null, ok(api("GET", "/v1/organizations/workspaces/" .. id)).archived_at)
      local res = server:request("POST", "/_emulator/faults", { faults = { { method = 7, status = 500 } } })
      assert.equal(400, res.status)
    end)

    it("moves and resets the clock", function()
      local c = server:clock { set = "2030-01-01T00:00:00Z" }
      assert.equal("2030-01-01T00:00", c.now:sub(1, 16))
      c = server:clock { advance = 86400 }
      assert.equal("2030-01-02", c.now:sub(1, 10))
      local w = ok(api("POST", "/v1/organizations/workspaces", { name = "Future" }))
      assert.equal("2030-01-02", w.created_at:sub(1, 10))
      server:reset()
      assert.is_true(math.abs(server:clock().offset) < 1)
      local res = server:request("POST", "/_emulator/clock", { advance = "soon" })
      assert.equal(400, res.status)
    end)
  end)
end)
