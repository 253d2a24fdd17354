-- Safety rails: no prune unless asked, kind by kind; archive needs a second switch; no removal of
-- more than 25% of a managed set of 4 or more; no emptying a managed set; a refused plan changes
-- nothing.
local rh = require "helpers.reconcile"
local reconcile = require "anthropic.reconcile"

describe("reconcile safety rails", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  local function rules(plan)
    local out = {}
    for _, r in ipairs(plan.refusals) do out[#out + 1] = r.rule end
    return out
  end

  -- writes (anything but GET) the emulator received since the last clear_log
  local function writes()
    local n = 0
    for _, r in ipairs(org.emu:log().requests) do
      if r.method ~= "GET" then n = n + 1 end
    end
    return n
  end

  -- eight non-admin users u1..u8@example.com, and a workspace "Big" where all of them are members
  local function big_org()
    local users, members = {}, {}
    for i = 1, 8 do
      users[i] = { email = "u" .. i .. "@example.com", role = "user" }
      members[i] = { user_id = users[i].email, workspace_role = "workspace_user" }
    end
    users[9] = { email = "root@example.com", role = "admin" }
    org.emu:seed { users = users, workspaces = { { name = "Big", members = members } } }
  end

  local function declare(n, extra)
    local lines = {}
    for i = 1, n do lines[#lines + 1] = string.format('member "u%d@example.com" { role = "user" }', i) end
    lines[#lines + 1] = extra or ""
    return table.concat(lines, "\n")
  end

  it("prunes nothing unless the file asks, kind by kind", function()
    local plan = assert(org:plan('member "bob@example.com" { role = "developer" }\n'
      .. 'workspace "Production" { members = {}, keys = {} }'))
    assert.same({}, rh.changes(plan))
    assert.is_true(#rh.notes(plan) > 0)
    plan = assert(org:plan('member "bob@example.com" { role = "developer" }\nprune { invites = true }'))
    assert.same({ '- invite "frank@example.com"' }, rh.changes(plan)) -- users stay
  end)

  it("refuses an irreversible archive without the second switch, and changes nothing", function()
    org.emu:clear_log()
    local result, err = org:apply('workspace "Production"\nprune { workspaces = true }')
    assert.is_nil(result)
    assert.matches("irreversible action .*archive is final.*workspace \"Staging\".*%-%-allow%-archive", err.message)
    assert.equal(0, writes())
  end)

  it("refuses removing more than 25% of a managed set of 4 or more", function()
    big_org()
    local plan = assert(org:plan(declare(5, "prune { members = true }")))
    assert.same({ "mass_removal" }, rules(plan))
    assert.equal("pruning would remove 3 of 8 organization members (38%, more than 25%); pass "
      .. "--allow-mass-removal to allow", plan.refusals[1].message)
    org.emu:clear_log()
    assert.is_nil(org:apply(declare(5, "prune { members = true }")))
    assert.equal(0, writes())
    -- 2 of 8 is 25%: allowed
    assert.same({}, rules(assert(org:plan(declare(6, "prune { members = true }")))))
    -- overridden
    local result = assert(org:apply(declare(5, "prune { members = true }"), { allow_mass_removal = true }))
    assert.is_true(result.converged)
    assert.equal(6, #org:users())
  end)

  it("applies the 25% rule to each managed set: workspace members, keys, workspaces", function()
    big_org()
    local ws = 'workspace "Big" { members = { ["u1@example.com"] = "workspace_user", '
      .. '["u2@example.com"] = "workspace_user" } }\n'
    local plan = assert(org:plan(declare(8, ws .. "prune { workspace_members = true }")))
    assert.same({ "mass_removal" }, rules(plan))
    assert.matches('6 of 8 members of workspace "Big"', plan.refusals[1].message)

    org:reset()
    org.emu:seed { merge = true, workspaces = { { name = "A" }, { name = "B" }, { name = "C" } } }
    plan = assert(org:plan('workspace "Production"\nworkspace "Staging"\nprune { workspaces = true }',
      { allow_archive = true }))
    assert.same({ "mass_removal" }, rules(plan)) -- 3 of 5
    assert.matches("3 of 5 workspaces", plan.refusals[1].message)

    org:reset()
    org.emu:create_api_keys { name = "extra", workspace_id = "Production", count = 3 }
    plan = assert(org:plan('workspace "Production" { keys = { ["prod-batch"] = "active", '
      .. '["prod-backend"] = "active" } }\nprune { keys = true }'))
    assert.same({ "mass_removal" }, rules(plan)) -- 3 of 5 active keys
  end)

  it("lets a small set lose members, but refuses to empty any set", function()
    -- Production has 2 explicit members: removing one of them is fine (fewer than 4)
    local plan = assert(org:plan('workspace "Production" { members = { ["bob@example.com"] = "workspace_developer" } }'
      .. '\nprune { workspace_members = true }'))
    assert.same({}, rules(plan))
    assert.same({ '- workspace "Production" member "carol@example.com"' }, rh.changes(plan))
    -- removing both empties it
    local text = 'workspace "Production" { members = {} }\nprune { workspace_members = true }'
    plan = assert(org:plan(text))
    assert.same({ "empty" }, rules(plan))
    assert.equal('pruning would remove all 2 members of workspace "Production"; pass --allow-empty to allow',
      plan.refusals[1].message)
    assert.is_true(assert(org:apply(text, { allow_empty = true })).converged)
    assert.same({}, (function()
      local explicit = {}
      for _, m in ipairs(org:members("Production")) do
        if m.workspace_role ~= "workspace_admin" then explicit[#explicit + 1] = m end
      end
      return explicit
    end)())
  end)

  it("does not count a set as emptied when the plan adds to it", function()
    local plan = assert(org:plan('workspace "Production" { members = { ["dave@example.com"] = "workspace_user" } }'
      .. '\nprune { workspace_members = true }'))
    assert.same({}, rules(plan))
  end)

  it("refuses a file with no members that prunes members, and pruning workspaces with none declared", function()
    local plan = assert(org:plan("prune { members = true }"))
    assert.same({ "empty", "mass_removal" }, rules(plan)) -- 4 of 4 non-admin users
    plan = assert(org:plan("prune { members = true }", { allow_mass_removal = true }))
    assert.same({ "empty" }, rules(plan))
    plan = assert(org:plan("prune { members = true }", { allow_empty = true }))
    assert.same({ "mass_removal" }, rules(plan))
    plan = assert(org:plan("prune { workspaces = true }", { allow_archive = true }))
    assert.same({ "empty" }, rules(plan))
  end)

  it("reports every broken rail at once, and execute refuses a refused plan", function()
    local plan = assert(org:plan('workspace "Production" { members = {} }\n'
      .. 'prune { workspace_members = true, workspaces = true }'))
    assert.same({ "archive", "empty" }, rules(plan))
    local admin = org:admin()
    local result, err = reconcile.execute(admin, plan)
    admin:close()
    assert.is_nil(result)
    assert.matches("^the plan is refused: ", err.message)
  end)
end)
