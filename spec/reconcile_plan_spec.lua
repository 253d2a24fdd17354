-- Plan and apply against the emulator's organization, kind by kind: create, update, remove and
-- archive; stateless matching (names, e-mails, key names, id pins, archived objects); what is never
-- touched; read errors; waves. The emulator starts with its default organization (docs/emulator.md):
-- ada (admin), bob (developer), carol (user), dave (billing), erin (claude_code_user); workspaces
-- Production (bob developer, carol user) and Staging (bob admin, erin developer); invites frank
-- (pending, developer) and grace (expired); keys default-scripts (default workspace), prod-backend,
-- prod-batch (Production) and staging-ci (Staging, inactive).
local rh = require "helpers.reconcile"
local planner = require "anthropic.reconcile.plan"

describe("reconcile plan and apply", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  -- apply, check it converged, and that planning again shows nothing to do
  local function converge(text, opts)
    local result = assert(org:apply(text, opts))
    for _, f in ipairs(result.failed) do error(f.action.address .. ": " .. tostring(f.error)) end
    assert.is_true(result.converged)
    assert.same({}, rh.changes(assert(org:plan(text, opts))))
    return result
  end

  describe("workspaces", function()
    it("creates one, with tags", function()
      local text = 'workspace "Research" { tags = { team = "ml", cost_center = "42" } }'
      local plan = assert(org:plan(text))
      assert.same({ '+ workspace "Research"' }, rh.changes(plan))
      assert.same({ '? workspace "Production"', '? workspace "Staging"' }, rh.notes(plan)) -- unmanaged
      converge(text)
      assert.same({ team = "ml", cost_center = "42" }, org:workspace("Research").tags)
    end)

    it("updates only the tags the file mentions, and removes a tag set to false", function()
      local ws = org:workspace("Production")
      local admin = org:admin()
      assert(admin.workspaces:update(ws.id, { tags = { team = "web", owner = "ana", old = "x" } }))
      admin:close()
      local text = 'workspace "Production" { tags = { team = "platform", old = false } }\nworkspace "Staging"'
      local plan = assert(org:plan(text))
      local a = rh.action(plan, 'workspace "Production"')
      assert.equal("~", a.symbol)
      assert.same({ { "tags.old", "x", nil }, { "tags.team", "web", "platform" } }, a.changes)
      converge(text)
      assert.same({ team = "platform", owner = "ana" }, org:workspace("Production").tags)
    end)

    it("renames a workspace pinned by id", function()
      local id = org:workspace("Staging").id
      local text = 'workspace "Production"\nworkspace "QA" { id = "' .. id .. '" }'
      local plan = assert(org:plan(text))
      assert.same({ { "name", "Staging", "QA" } }, rh.action(plan, 'workspace "QA"').changes)
      converge(text)
      assert.equal(id, org:workspace("QA").id)
    end)

    it("archives one the file marks archived, with the second switch only", function()
      local text = 'workspace "Production"\nworkspace "Staging" { archived = true }'
      local plan = assert(org:plan(text))
      local a = rh.action(plan, 'workspace "Staging"')
      assert.equal("!", a.symbol)
      assert.is_true(a.irreversible)
      assert.equal("archive", plan.refusals[1].rule)
      assert.is_nil(org:apply(text))
      assert.truthy(org:workspace("Staging")) -- nothing was done
      converge(text, { allow_archive = true })
      assert.is_nil(org:workspace("Staging"))
      assert.equal("archived", org:key("staging-ci").status) -- archived with its workspace
    end)

    it("never matches an archived workspace, and creates one again only when allowed", function()
      local admin = org:admin()
      assert(admin.workspaces:archive(org:workspace("Staging").id))
      admin:close()
      local plan = assert(org:plan('workspace "Staging" {}'))
      assert.same({}, rh.changes(plan))
      local a = rh.action(plan, 'workspace "Staging"')
      assert.equal("?", a.symbol)
      assert.matches("archiving is final", a.reason)
      converge('workspace "Staging" { allow_recreate = true }')
      assert.equal(2, #(function()
        local n = {}
        for _, w in ipairs(org:workspaces(true)) do
          if w.name == "Staging" then n[#n + 1] = w end
        end
        return n
      end)())
    end)

    it("errors on an unknown pinned id and on two entries for one workspace", function()
      local _, err = org:plan('workspace "X" { id = "wrkspc_01nothere" }')
      assert.equal('org.lua:1: workspace "X": id wrkspc_01nothere does not exist in this organization', err.message)
      local id = org:workspace("Staging").id
      _, err = org:plan('workspace "Staging"\nworkspace "Other" { id = "' .. id .. '" }')
      assert.equal('org.lua:2: workspace "Other": the same workspace as line 1', err.message)
    end)

    it("errors when two live workspaces share a name (matching is by name)", function()
      local config = rh.config('workspace "Same"')
      local snap = { workspaces = { { id = "wrkspc_a", name = "Same" }, { id = "wrkspc_b", name = "Same" } } }
      local matches, err = planner.match_workspaces(config, snap)
      assert.is_nil(matches)
      assert.equal('org.lua:1: workspace "Same": ambiguous: 2 live workspaces have this name (wrkspc_a, wrkspc_b); '
        .. 'pin one with id = "..."', err.message)
    end)

    it("never touches the Claude Code workspace", function()
      org.emu:seed { merge = true, workspaces = { { name = "Claude Code" } } }
      local plan = assert(org:plan('workspace "Production"\nworkspace "Staging"\nprune { workspaces = true }',
        { allow_archive = true }))
      assert.same({}, rh.changes(plan))
      assert.same({}, rh.notes(plan))
      local id = org:workspace("Claude Code").id
      local _, err = org:plan('workspace "CC" { id = "' .. id .. '" }')
      assert.matches("pins the Claude Code workspace, which is never touched", err.message)
    end)

    it("archives workspaces left out of the file only with prune and the second switch", function()
      local text = 'workspace "Production"\nprune { workspaces = true }'
      local plan = assert(org:plan(text))
      assert.same({ '! workspace "Staging"' }, rh.changes(plan))
      assert.equal("archive", plan.refusals[1].rule)
      converge(text, { allow_archive = true })
      assert.is_nil(org:workspace("Staging"))
    end)
  end)

  describe("organization members", function()
    it("invites a member who is not in the organization; a pending invite satisfies the member", function()
      local text = 'member "Zed@Example.com" { role = "developer" }'
      local plan = assert(org:plan(text))
      assert.same({ '+ member "zed@example.com"' }, rh.changes(plan))
      converge(text)
      local invites = org:invites()
      assert.equal("zed@example.com", invites[1].email)
      assert.equal("pending", invites[1].status)
      org.emu:accept_invite { email = "zed@example.com" }
      assert.same({}, rh.changes(assert(org:plan(text)))) -- now a user: still satisfied
    end)

    it("sends an invite again when the role differs (an invite cannot be changed)", function()
      local text = 'member "frank@example.com" { role = "user" }'
      local plan = assert(org:plan(text))
      local a = rh.action(plan, 'member "frank@example.com"')
      assert.equal("reinvite", a.op)
      local old = org:invites()[1].id
      converge(text)
      local pending = {}
      for _, i in ipairs(org:invites()) do
        if i.status == "pending" then pending[#pending + 1] = i end
      end
      assert.equal(1, #pending)
      assert.equal("user", pending[1].role)
      assert.not_equal(old, pending[1].id)
    end)

    it("invites again a member whose invite expired", function()
      assert.same({ '+ member "grace@example.com"' },
        rh.changes(assert(org:plan('member "grace@example.com" { role = "user" }'))))
    end)

    it("changes a user's role", function()
      local text = 'member "bob@example.com" { role = "user" }'
      assert.same({ '~ member "bob@example.com"' }, rh.changes(assert(org:plan(text))))
      converge(text)
      assert.equal("user", org:user("bob@example.com").role)
    end)

    it("never changes or removes an organization admin", function()
      local plan = assert(org:plan('member "ada@example.com" { role = "user" }'))
      assert.same({}, rh.changes(plan))
      assert.matches("ada@example.com is an organization admin", plan.warnings[1])
      plan = assert(org:plan('member "bob@example.com" { role = "admin" }'))
      assert.same({}, rh.changes(plan))
      assert.matches("the admin role cannot be given through the API",
        rh.action(plan, 'member "bob@example.com"').reason)
      plan = assert(org:plan('member "bob@example.com" { role = "developer" }\nprune { members = true }'))
      for _, a in ipairs(plan.actions) do assert.not_equal('member "ada@example.com"', a.address) end
    end)

    it("removes users and withdraws invites the file leaves out, only when pruned", function()
      local text = [[
member "bob@example.com" { role = "developer" }
member "carol@example.com" { role = "user" }
member "dave@example.com" { role = "billing" }
prune { members = true, invites = true }
]]
      local plan = assert(org:plan(text))
      assert.same({ '- member "erin@example.com"', '- invite "frank@example.com"' }, rh.changes(plan))
      assert.equal("removals", plan.actions[1].wave)
      converge(text, { allow_empty = true }) -- the only pending invite goes
      assert.is_nil(org:user("erin@example.com"))
      for _, i in ipairs(org:invites()) do assert.not_equal("pending", i.status) end
      -- without prune, the same people are reported, not removed
      org:reset()
      plan = assert(org:plan('member "bob@example.com" { role = "developer" }'))
      assert.same({}, rh.changes(plan))
      assert.same({ '? member "carol@example.com"', '? member "dave@example.com"', '? member "erin@example.com"',
        '? invite "frank@example.com"' }, rh.notes(plan))
    end)
  end)

  describe("workspace members", function()
    it("adds, changes and (with prune) removes members", function()
      local text = [[
workspace "Production" {
  members = {
    ["bob@example.com"] = "workspace_admin",
    ["dave@example.com"] = "workspace_billing",
    ["erin@example.com"] = "workspace_restricted_developer",
  },
}
prune { workspace_members = true }
]]
      local plan = assert(org:plan(text))
      assert.same({
        '~ workspace "Production" member "bob@example.com"',
        '+ workspace "Production" member "dave@example.com"',
        '+ workspace "Production" member "erin@example.com"',
        '- workspace "Production" member "carol@example.com"',
      }, rh.changes(plan))
      converge(text)
      local members = org:members("Production")
      assert.equal("workspace_admin", rh.role_of(members, org:user("bob@example.com").id))
      assert.equal("workspace_billing", rh.role_of(members, org:user("dave@example.com").id)) -- added, then updated
      assert.is_nil(rh.role_of(members, org:user("carol@example.com").id))
    end)

    it("adds members to a workspace it creates in the same run", function()
      local text = 'workspace "Research" { members = { ["carol@example.com"] = "workspace_developer" } }'
      local plan = assert(org:plan(text))
      local add = rh.action(plan, 'workspace "Research" member "carol@example.com"')
      assert.equal('workspace "Research"', add.needs)
      converge(text)
      assert.equal("workspace_developer", rh.role_of(org:members("Research"), org:user("carol@example.com").id))
    end)

    it("leaves the inherited membership of organization admins alone", function()
      local plan = assert(org:plan('workspace "Staging" { members = { ["ada@example.com"] = "workspace_user", '
        .. '["bob@example.com"] = "workspace_admin", ["erin@example.com"] = "workspace_developer" } }\n'
        .. 'prune { workspace_members = true }'))
      assert.same({}, rh.changes(plan))
      assert.matches("organization admin, workspace_admin in every workspace", plan.warnings[1])
    end)

    it("waits for a member whose invite is pending, and refuses one who is not in the organization", function()
      local plan = assert(org:plan('workspace "Production" { members = { ["frank@example.com"] = "workspace_user" } }'))
      assert.equal("waiting", rh.action(plan, 'workspace "Production" member "frank@example.com"').op)
      local _, err = org:plan('workspace "Production" {\n members = { ["nobody@example.com"] = "workspace_user" } }')
      assert.equal('org.lua:1: workspace "Production": members["nobody@example.com"]: not in the organization; '
        .. 'declare member "nobody@example.com" { role = "..." } to invite them', err.message)
    end)
  end)

  describe("API keys", function()
    it("changes the status of keys matched by name, and asks for missing keys in the Console", function()
      local text = 'workspace "Production" { keys = { ["prod-backend"] = "inactive", ["prod-batch"] = "active", '
        .. '["new-app"] = "active" } }\nworkspace "Staging" { keys = { ["staging-ci"] = "active" } }'
      local plan = assert(org:plan(text))
      assert.same({ '~ workspace "Production" key "prod-backend"', '~ workspace "Staging" key "staging-ci"' },
        rh.changes(plan))
      local missing = rh.action(plan, 'workspace "Production" key "new-app"')
      assert.equal("?", missing.symbol)
      assert.matches("create a key named \"new%-app\" in workspace \"Production\" in the Console", missing.reason)
      converge(text)
      assert.equal("inactive", org:key("prod-backend").status)
      assert.equal("active", org:key("staging-ci").status)
    end)

    it("errors on two keys with one name unless one is pinned by id, and renames a pinned key", function()
      local made = org.emu:create_api_keys { name = "prod-batch", workspace_id = "Production" }
      local _, err = org:plan('workspace "Production" { keys = { ["prod-batch"] = "active" } }')
      assert.matches('^org%.lua:1: workspace "Production": keys%["prod%-batch"%]: ambiguous: 2 keys have this name',
        err.message)
      local id = made.data[1].id
      local text = 'workspace "Production" { keys = { { id = "' .. id
        .. '", name = "prod-batch-2", status = "inactive" } } }'
      local plan = assert(org:plan(text))
      assert.same({ '~ workspace "Production" key "prod-batch"' }, rh.changes(plan))
      local a = rh.action(plan, 'workspace "Production" key "prod-batch" (' .. id .. ')')
      assert.same({ { "name", "prod-batch", "prod-batch-2" }, { "status", "active", "inactive" } }, a.changes)
      converge(text)
    end)

    it("archives a key only with the second switch", function()
      local text = 'workspace "Production" { keys = { ["prod-backend"] = "archived" } }'
      local plan = assert(org:plan(text))
      assert.same({ '! workspace "Production" key "prod-backend"' }, rh.changes(plan))
      assert.equal("archive", plan.refusals[1].rule)
      converge(text, { allow_archive = true })
      assert.equal("archived", org:key("prod-backend").status)
    end)

    it("deactivates keys left out of a workspace only when pruned, never in the default workspace", function()
      local text = 'workspace "Production" { keys = { ["prod-batch"] = "active" } }'
      assert.same({ '? workspace "Staging"', '? workspace "Production" key "prod-backend"' },
        rh.notes(assert(org:plan(text))))
      text = text .. '\nprune { keys = true }'
      local plan = assert(org:plan(text))
      assert.same({ '- workspace "Production" key "prod-backend"' }, rh.changes(plan))
      converge(text)
      assert.equal("inactive", org:key("prod-backend").status)
      assert.equal("active", org:key("default-scripts").status)
    end)
  end)

  describe("reading", function()
    it("checks the organization pin", function()
      local _, err = org:plan('\norganization { id = "another-org" }')
      assert.matches("^org%.lua:2: organization: this file is for organization another%-org, but the admin key "
        .. "belongs to", err.message)
    end)

    local faults = {
      { "a 500 after the retries", { status = 500, count = 3, headers = { ["retry-after-ms"] = "1" } }, "api" },
      { "a 401", { status = 401 }, "api" },
      { "a 403", { status = 403 }, "api" },
      { "connection resets", { action = "reset_before_headers", count = 10 }, "connection" },
    }
    for _, f in ipairs(faults) do
      for _, path in ipairs { "/v1/organizations/users", "/v1/organizations/workspaces/*" } do
        it("aborts on " .. f[1] .. " reading " .. path .. ", never taking it for absent", function()
          local fault = { path = path, method = "GET" }
          for k, v in pairs(f[2]) do fault[k] = v end
          org.emu:faults { fault }
          local plan, err = org:plan('workspace "Production" { members = {} }\n'
            .. 'member "bob@example.com" { role = "user" }'
            .. '\nprune { members = true, workspace_members = true }', { allow_empty = true })
          assert.is_nil(plan)
          assert.equal(f[3], err.kind)
          assert.matches("^reading ", err.message)
        end)
      end
    end
  end)

  it("plans and applies examples/org.lua against the emulator's organization", function()
    local f = assert(io.open("examples/org.lua", "r"))
    local text = f:read("*a")
    f:close()
    local plan = assert(org:plan(text))
    assert.same({}, plan.refusals)
    assert.is_true(plan.summary.changes > 0)
    converge(text)
  end)

  it("orders actions by wave: organization, workspaces, members, keys, then removals in reverse", function()
    local text = [[
member "zed@example.com" { role = "user" }
member "bob@example.com" { role = "developer" }
workspace "Research" { members = { ["bob@example.com"] = "workspace_user" } }
workspace "Production" { members = { ["bob@example.com"] = "workspace_user" }, keys = { ["prod-batch"] = "active" } }
workspace "Staging" { keys = { ["staging-ci"] = "active" } }
prune { members = true, invites = true, workspace_members = true, keys = true }
]]
    local plan = assert(org:plan(text, { allow_mass_removal = true, allow_empty = true }))
    assert.same({
      '+ member "zed@example.com"',
      '+ workspace "Research"',
      '+ workspace "Research" member "bob@example.com"',
      '~ workspace "Production" member "bob@example.com"',
      '~ workspace "Staging" key "staging-ci"',
      '- workspace "Production" key "prod-backend"',
      '- workspace "Production" member "carol@example.com"',
      '- member "carol@example.com"',
      '- member "dave@example.com"',
      '- member "erin@example.com"',
      '- invite "frank@example.com"',
    }, rh.changes(plan))
    converge(text, { allow_mass_removal = true, allow_empty = true })
  end)
end)
