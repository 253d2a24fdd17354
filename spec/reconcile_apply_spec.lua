-- Apply under faults: ambiguous creates (the emulator makes the object, then resets the
-- connection) are adopted, not repeated; 500s and resets fail single actions while the others go
-- on; dependent actions are skipped; a rerun converges with no duplicates; removing what is gone is
-- success; a saved plan is applied exactly, and refused once stale.
local json = require "anthropic.json"
local reconcile = require "anthropic.reconcile"
local rh = require "helpers.reconcile"

local FAST = { ["retry-after-ms"] = "1" }

describe("reconcile apply", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  local FILE = [[
member "zed@example.com" { role = "developer" }
member "bob@example.com" { role = "user" }
workspace "Research" {
  tags = { team = "ml" },
  members = { ["carol@example.com"] = "workspace_developer", ["dave@example.com"] = "workspace_user" },
}
workspace "Production" {
  members = { ["bob@example.com"] = "workspace_developer", ["erin@example.com"] = "workspace_user" },
  keys = { ["prod-backend"] = "inactive", ["prod-batch"] = "active" },
}
prune { invites = true, workspace_members = true }
]]

  local function count(list, pred)
    local n = 0
    for _, x in ipairs(list) do
      if pred(x) then n = n + 1 end
    end
    return n
  end

  -- no duplicate objects: one live workspace per name, one pending invite per e-mail
  local function assert_no_duplicates()
    local names, emails = {}, {}
    for _, w in ipairs(org:workspaces()) do
      assert.is_nil(names[w.name], "two workspaces named " .. w.name)
      names[w.name] = true
    end
    for _, i in ipairs(org:invites()) do
      if i.status == "pending" then
        assert.is_nil(emails[i.email], "two pending invites for " .. i.email)
        emails[i.email] = true
      end
    end
  end

  local function outcomes(result)
    local out = {}
    for _, list in ipairs { result.done, result.failed, result.skipped } do
      for _, d in ipairs(list) do out[d.action.address] = d.outcome end
    end
    return out
  end

  -- apply until converged (at most `runs` times; a run that cannot even read counts as a run, as
  -- a scheduled job would simply run again); -> the number of runs
  local function converge(text, runs, client_opts)
    for run = 1, runs do
      local result, err = org:apply(text, { allow_empty = true }, client_opts)
      if result and result.converged then return run end
      if not result then assert.matches("^reading ", err.message) end
    end
    error("did not converge in " .. runs .. " runs")
  end

  it("adopts what an ambiguous create made instead of making it again", function()
    org.emu:faults {
      { path = "/v1/organizations/workspaces", method = "POST", action = "apply_then_reset" },
      { path = "/v1/organizations/invites", method = "POST", action = "apply_then_reset" },
    }
    local result = assert(org:apply(FILE))
    local o = outcomes(result)
    assert.equal("adopted", o['workspace "Research"'])
    assert.equal("adopted", o['member "zed@example.com"'])
    assert.same({}, result.failed)
    assert.is_true(result.converged)
    assert.same({ team = "ml" }, org:workspace("Research").tags)
    assert_no_duplicates()
    -- the emulator did make each object exactly once
    local posts = 0
    for _, r in ipairs(org.emu:log().requests) do
      if r.method == "POST" and r.path == "/v1/organizations/workspaces" then posts = posts + 1 end
    end
    assert.equal(1, posts)
  end)

  it("adopts an ambiguous member add", function()
    local plan = assert(org:plan(FILE))
    local prod = org:workspace("Production").id
    org.emu:faults { { path = "/v1/organizations/workspaces/" .. prod .. "/members", method = "POST",
      action = "apply_then_reset" } }
    local admin = org:admin()
    local result = assert(reconcile.execute(admin, plan))
    admin:close()
    assert.equal("adopted", outcomes(result)['workspace "Production" member "erin@example.com"'])
    assert.same({}, result.failed)
    assert.equal("workspace_user", rh.role_of(org:members("Production"), org:user("erin@example.com").id))
  end)

  it("goes on after a failed action, skips what waits for it, and converges on the next run", function()
    org.emu:faults {
      { path = "/v1/organizations/workspaces", method = "POST", status = 500, count = 100, headers = FAST },
      { path = "/v1/organizations/users/*", method = "POST", status = 503, count = 100, headers = FAST },
    }
    local result = assert(org:apply(FILE))
    assert.is_false(result.converged)
    local o = outcomes(result)
    assert.equal("failed", o['workspace "Research"'])
    assert.equal("failed", o['member "bob@example.com"'])
    assert.equal("skipped", o['workspace "Research" member "carol@example.com"'])
    assert.equal("skipped", o['workspace "Research" member "dave@example.com"'])
    assert.equal("done", o['member "zed@example.com"'])
    assert.equal("done", o['workspace "Production" member "erin@example.com"'])
    assert.equal("done", o['invite "frank@example.com"'])
    for _, f in ipairs(result.failed) do
      assert.equal(f.action.kind == "workspace" and 500 or 503, f.error.status)
    end
    -- the next run does only what is left
    org.emu:request("DELETE", "/_emulator/faults")
    result = assert(org:apply(FILE))
    assert.is_true(result.converged)
    assert.same({ '~ member "bob@example.com"', '+ workspace "Research"',
      '+ workspace "Research" member "carol@example.com"', '+ workspace "Research" member "dave@example.com"' },
      rh.changes(result.plan))
    assert_no_duplicates()
  end)

  it("converges through a storm of 500s, resets and ambiguous writes, with no duplicates", function()
    org.emu:faults {
      { path = "/v1/organizations/invites", method = "POST", action = "apply_then_reset" },
      { path = "/v1/organizations/workspaces", method = "POST", action = "apply_then_reset" },
      { path = "/v1/organizations/workspaces/*", method = "POST", status = 500, count = 4, headers = FAST },
      { path = "/v1/organizations/api_keys/*", method = "POST", action = "reset_before_headers", count = 2 },
      { path = "/v1/organizations/invites/*", method = "DELETE", action = "reset_before_headers", count = 2 },
      { path = "/v1/organizations/workspaces", method = "GET", status = 500, count = 2, headers = FAST },
    }
    local runs = converge(FILE, 8, { max_retries = 0 }) -- no retries inside a run: every fault bites
    assert.is_true(runs > 1)
    assert_no_duplicates()
    assert.same({}, rh.changes(assert(org:plan(FILE))))
    assert.equal("inactive", org:key("prod-backend").status)
    assert.equal(1, count(org:invites(), function(i) return i.status == "pending" end)) -- zed; frank withdrawn
  end)

  it("counts removing what is already gone as done", function()
    local text = 'workspace "Production" { members = { ["bob@example.com"] = "workspace_developer" } }\n'
      .. 'member "bob@example.com" { role = "developer" }\nmember "carol@example.com" { role = "user" }\n'
      .. 'member "dave@example.com" { role = "billing" }\nprune { members = true, invites = true, '
      .. 'workspace_members = true }'
    local plan = assert(org:plan(text, { allow_empty = true }))
    assert.same({ '- workspace "Production" member "carol@example.com"', '- member "erin@example.com"',
      '- invite "frank@example.com"' }, rh.changes(plan))
    -- someone else removes them first
    local admin = org:admin()
    assert(admin.members(org:workspace("Production").id):remove(org:user("carol@example.com").id))
    assert(admin.users:remove(org:user("erin@example.com").id))
    assert(admin.invites:delete(org:invites()[1].id))
    local result = assert(reconcile.execute(admin, plan))
    admin:close()
    assert.equal(3, #result.done)
    assert.same({}, result.failed)
  end)

  describe("saved plans", function()
    local function saved(text, opts)
      local plan = assert(org:plan(text, opts))
      local doc = reconcile.render.document(plan)
      return assert(json.decode(reconcile.render.encode(doc)))
    end

    it("applies exactly the saved actions", function()
      local doc = saved(FILE)
      assert.equal("1.0", doc.format_version)
      local admin = org:admin()
      assert(reconcile.check_saved(admin, doc))
      local result = assert(reconcile.execute(admin, doc))
      admin:close()
      assert.same({}, result.failed)
      assert.equal(doc.summary.changes, #result.done)
      assert.same({}, rh.changes(assert(org:plan(FILE))))
    end)

    it("refuses a stale plan: anything the plan read changed", function()
      local changes = {
        function(admin) return admin.workspaces:update(org:workspace("Staging").id, { tags = { x = "y" } }) end,
        function(admin) return admin.users:update(org:user("carol@example.com").id, { role = "developer" }) end,
        function(admin) return admin.invites:create { email = "new@example.com", role = "user" } end,
        function(admin) return admin.api_keys:update(org:key("prod-batch").id, { name = "renamed" }) end,
        function(admin)
          return admin.members(org:workspace("Production").id):update(org:user("bob@example.com").id,
            { workspace_role = "workspace_admin" })
        end,
      }
      for i, change in ipairs(changes) do
        org:reset()
        local doc = saved(FILE)
        local admin = org:admin()
        assert(change(admin), "change " .. i)
        local ok, err = reconcile.check_saved(admin, doc)
        admin:close()
        assert.is_nil(ok, "change " .. i)
        assert.equal("the plan is stale: the organization changed since it was made; plan again", err.message)
      end
    end)

    it("refuses a plan for another organization or format", function()
      local doc = saved(FILE)
      local admin = org:admin()
      doc.organization.id = "another"
      local _, err = reconcile.check_saved(admin, doc)
      assert.matches("^the plan is for organization another", err.message)
      doc.format_version = "2.0"
      _, err = reconcile.check_saved(admin, doc)
      assert.matches("plan format 2%.0 is not supported", err.message)
      _, err = reconcile.check_saved(admin, { hello = 1 })
      assert.matches("not a plan file", err.message)
      admin:close()
    end)
  end)
end)
