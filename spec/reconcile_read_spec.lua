-- Inconsistent reads: lists read one after the other can disagree when the organization changes
-- in between (someone joins after the users were read), or when pages overlap. Such a read aborts
-- the plan with an error that says what disagreed and to try again; it never makes a declared
-- object look undeclared and removed. The emulator's faults serve the inconsistent pages; the
-- planner's last guard is also driven with a crafted read that gets past the read checks.
local cjson = require "cjson"
local json = require "anthropic.json"
local planner = require "anthropic.reconcile.plan"
local read = require "anthropic.reconcile.read"
local reconcile = require "anthropic.reconcile"
local rh = require "helpers.reconcile"

describe("reconcile inconsistent reads", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  local USERS, WORKSPACES = "/v1/organizations/users", "/v1/organizations/workspaces"

  -- A page of `list` as the API sends it.
  local function page(list, has_more)
    local data = setmetatable({}, cjson.array_mt)
    for i, x in ipairs(list) do data[i] = x end
    return { data = data, has_more = has_more or false, first_id = list[1] and list[1].id or cjson.null,
             last_id = list[#list] and list[#list].id or cjson.null }
  end

  local function without(list, field, value)
    local out = {}
    for _, x in ipairs(list) do
      if x[field] ~= value then out[#out + 1] = x end
    end
    return out
  end

  -- The next GET of `path` (one page, whatever the query) answers `body`.
  local function serve(path, body, extra)
    local f = { path = path, method = "GET", status = 200, body = body }
    for k, v in pairs(extra or {}) do f[k] = v end
    return f
  end

  -- carol joined between the read of the users and the read of Production's members: the file
  -- invites her and lists her in Production, which prunes unlisted members
  local JOINED = [[
member "carol@example.com" { role = "user" }
workspace "Production" {
  members = { ["bob@example.com"] = "workspace_developer", ["carol@example.com"] = "workspace_user" },
}
prune { workspace_members = true }
]]

  local function writes()
    local n = 0
    for _, r in ipairs(org.emu:log().requests) do
      if r.method ~= "GET" then n = n + 1 end
    end
    return n
  end

  it("a workspace member who is not in the users read aborts the plan, and nothing is removed", function()
    local carol = org:user("carol@example.com")
    local users = without(org:users(), "email", "carol@example.com")
    org.emu:faults { serve(USERS, page(users), { count = 2 }) }
    local plan, err = org:plan(JOINED)
    assert.is_nil(plan, plan and table.concat(rh.changes(plan), ", "))
    assert.equal("decode", err.kind)
    assert.is_true(err.retryable)
    assert.equal("inconsistent read of the organization: workspace " .. org:workspace("Production").id
      .. " lists member " .. carol.id .. ", who is not in the users list. It probably changed while it was "
      .. "being read (or the API answered inconsistently): nothing was planned; try again", err.message)
    -- apply does nothing either
    org.emu:request("DELETE", "/_emulator/faults")
    org.emu:faults { serve(USERS, page(users), { count = 2 }) }
    org.emu:clear_log()
    assert.is_nil(org:apply(JOINED))
    assert.equal(0, writes())
    assert.equal("workspace_user", rh.role_of(org:members("Production"), carol.id))
    -- read again, consistently: carol is kept
    org.emu:request("DELETE", "/_emulator/faults")
    assert.same({}, rh.changes(assert(org:plan(JOINED))))
  end)

  it("an API key in a workspace missing from the workspaces read aborts the plan", function()
    local staging = org:workspace("Staging")
    local key = org:key("staging-ci")
    org.emu:faults { serve(WORKSPACES, page(without(org:workspaces(true), "name", "Staging"))) }
    local plan, err = org:plan('workspace "Production"\nprune { workspaces = true }', { allow_archive = true })
    assert.is_nil(plan)
    assert.equal("decode", err.kind)
    assert.matches("^inconsistent read of the organization: API key " .. key.id .. " is in workspace "
      .. staging.id .. ", which is not in the workspaces list%. .*try again$", err.message)
  end)

  it("an id listed on two pages, or two users with one e-mail, abort the plan", function()
    local users = org:users()
    -- two pages that overlap: the second starts again with the last user of the first
    org.emu:faults {
      serve(USERS, page({ users[1], users[2] }, true)),
      serve(USERS, page({ users[2], users[3], users[4], users[5] })),
    }
    local plan, err = org:plan(JOINED)
    assert.is_nil(plan)
    assert.matches("^inconsistent read of the organization: user " .. users[2].id .. " is listed twice%.", err.message)
    -- the same e-mail for two user ids
    local twin = {}
    for k, v in pairs(users[3]) do twin[k] = v end
    twin.id = "user_twin"
    users[#users + 1] = twin
    org.emu:faults { serve(USERS, page(users)) }
    plan, err = org:plan(JOINED)
    assert.is_nil(plan)
    assert.matches("users " .. users[3].id .. " and user_twin have the same e%-mail " .. users[3].email, err.message)
  end)

  it("a workspace's member list with a member twice aborts the plan", function()
    local prod = org:workspace("Production")
    local members = org:members("Production")
    members[#members + 1] = members[1]
    org.emu:faults { serve(WORKSPACES .. "/" .. prod.id .. "/members", page(members)) }
    local plan, err = org:plan(JOINED)
    assert.is_nil(plan)
    assert.matches("workspace " .. prod.id .. " lists member " .. members[1].user_id .. " twice", err.message, 1, true)
  end)

  describe("the planner's last guard", function()
    -- A read made consistently, then spoiled the way an undetected inconsistency would spoil it,
    -- planned without the read checks. -> plan | nil, err
    local function plan_spoiled(text, spoil)
      local admin = org:admin()
      local config = rh.config(text)
      local snap = assert(read.base(admin))
      local matches = assert(planner.match_workspaces(config, snap))
      snap = assert(read.members(admin, snap, planner.member_scope(config, matches)))
      admin:close()
      spoil(snap)
      return planner.build(config, snap, matches, {}, {})
    end

    it("refuses to remove a declared workspace member whose user is not in the read", function()
      local carol = org:user("carol@example.com")
      local plan, err = plan_spoiled(JOINED, function(snap)
        snap.users = without(snap.users, "email", "carol@example.com")
      end)
      assert.is_nil(plan, plan and table.concat(rh.changes(plan), ", "))
      assert.equal("decode", err.kind)
      assert.equal('refusing to plan: workspace "Production" member "' .. carol.id .. '" (workspace_member remove): '
        .. "user " .. carol.id .. " is not in the users read: cannot tell who it is. The file declares what this "
        .. "plan would remove: the read of the organization was inconsistent (or this is a bug); nothing was "
        .. "planned. Try again", err.message)
    end)

    it("refuses to remove the membership of a declared e-mail held by a second user id", function()
      local plan, err = plan_spoiled(JOINED, function(snap)
        -- carol's user appears again under another id, which holds her membership
        local prod = snap.members_of[1]
        local twin = {}
        for _, u in ipairs(snap.users) do
          if u.email == "carol@example.com" then
            for k, v in pairs(u) do twin[k] = v end
          end
        end
        twin.id = "user_twin"
        table.insert(snap.users, 1, twin)
        for _, m in ipairs(snap.members[prod]) do
          if m.user_id ~= twin.id and m.workspace_role == "workspace_user" then m.user_id = "user_twin" end
        end
      end)
      assert.is_nil(plan, plan and table.concat(rh.changes(plan), ", "))
      assert.matches("the file lists carol@example.com in this workspace", err.message, 1, true)
    end)

    it("lets every removal of an undeclared object through", function()
      local text = 'member "bob@example.com" { role = "developer" }\nmember "carol@example.com" { role = "user" }\n'
        .. 'member "dave@example.com" { role = "billing" }\n'
        .. 'workspace "Production" { members = { ["bob@example.com"] = "workspace_developer" }, '
        .. 'keys = { ["prod-batch"] = "active" } }\n'
        .. 'workspace "Staging" { archived = true }\n'
        .. 'prune { members = true, invites = true, workspace_members = true, keys = true, workspaces = true }'
      local plan = assert(plan_spoiled(text, function() end))
      assert.same({ '- workspace "Production" key "prod-backend"',
        '- workspace "Production" member "carol@example.com"', '- member "erin@example.com"',
        '- invite "frank@example.com"', '! workspace "Staging"' }, rh.changes(plan))
    end)
  end)

  it("the saved plan's read is checked too", function()
    local doc = reconcile.render.document(assert(org:plan(JOINED)))
    doc = assert(json.decode(reconcile.render.encode(doc)))
    org.emu:faults { serve(USERS, page(without(org:users(), "email", "carol@example.com"))) }
    local admin = org:admin()
    local ok, err = reconcile.check_saved(admin, doc)
    admin:close()
    assert.is_nil(ok)
    assert.matches("^inconsistent read of the organization: ", err.message)
  end)
end)
