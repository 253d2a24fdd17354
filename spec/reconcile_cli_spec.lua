-- `anthropic plan | apply | export` as child processes against the emulator, with the admin key
-- in the environment only: exit codes (plan 0 / 2 / 1; apply 0 only when converged), the text and
-- JSON plans, saved plans and staleness, confirmation, and no key in any output.
local cjson = require "cjson"
local rh = require "helpers.reconcile"
local util = require "helpers.util"

describe("anthropic plan, apply and export", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  local function cli(args, opts)
    local out, err, code = org:cli(args, opts)
    util.assert_no_leak(out .. err, org.admin_key, "anthropic " .. table.concat(args, " "))
    return out, err, code
  end

  local CHANGES = [[
member "zed@example.com" { role = "developer" }
workspace "Research" { tags = { team = "ml" }, members = { ["carol@example.com"] = "workspace_developer" } }
workspace "Production" { keys = { ["prod-backend"] = "inactive", ["new-app"] = "active" } }
]]

  it("lists plan, apply and export in the top-level help", function()
    local out, _, code = cli { "--help" }
    assert.equal(0, code)
    for _, cmd in ipairs { "plan", "apply", "export" } do assert.matches("\n  " .. cmd .. " ", out, 1, true) end
  end)

  describe("plan", function()
    it("exits 2 with changes and prints them by wave with a summary line", function()
      local out, err, code = cli { "plan", org:file("org.lua", CHANGES) }
      assert.equal("", err)
      assert.equal(2, code)
      assert.matches('\nOrganization\n  %+ member "zed@example.com": invite as developer\n', out)
      assert.matches('\nWorkspaces\n  %+ workspace "Research": create %(tags team = ml%)\n', out)
      assert.matches('\nWorkspace members\n  %+ workspace "Research" member "carol@example.com": add as '
        .. 'workspace_developer\n', out)
      assert.matches('\nAPI keys\n  ~ workspace "Production" key "prod%-backend" %(apikey_[%w]+%): status active '
        .. '%-> inactive\n  %? workspace "Production" key "new%-app": does not exist', out)
      assert.matches("\nPlan: 3 to add, 1 to change, 0 to remove, 0 to archive; 1 not done by this tool, "
        .. "6 unmanaged%.\n$", out)
    end)

    it("exits 0 when there is nothing to change", function()
      local out, _, code = cli { "plan", org:file("org.lua", 'workspace "Production"\nworkspace "Staging"') }
      assert.equal(0, code)
      assert.matches("No changes: the organization matches .*org%.lua%.\n$", out)
    end)

    it("exits 1 on a bad file, naming the file, the line and the field", function()
      local path = org:file("bad.lua", 'workspace "w" {\n  members = { ["ana@example.com"] = "owner" },\n}\n')
      local out, err, code = cli { "plan", path }
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal("anthropic plan: " .. path .. ':2: workspace "w": members["ana@example.com"]: must be one of '
        .. '"workspace_user", "workspace_developer", "workspace_restricted_developer", "workspace_admin", '
        .. '"workspace_billing" (got "owner")\n', err)
    end)

    it("exits 1 on a read error and on a refused plan", function()
      local path = org:file("org.lua", CHANGES)
      local _, err, code = cli({ "plan", path }, { env = { ANTHROPIC_ADMIN_KEY = "sk-ant-admin01-wrong-keyAA" } })
      assert.equal(1, code)
      assert.matches("^anthropic plan: .*reading the organization", err)
      local out
      out, err, code = cli { "plan", org:file("org.lua", 'workspace "Production"\nprune { workspaces = true }') }
      assert.equal(1, code)
      assert.matches("Refused: 1 irreversible action", out)
      assert.matches("anthropic plan: refused: .*%-%-allow%-archive", err)
      _, _, code = cli { "plan", org:file("org.lua", 'workspace "Production"\nprune { workspaces = true }'),
        "--allow-archive" }
      assert.equal(2, code)
    end)

    it("refuses keys on the command line and usage errors with 1 (2 means changes)", function()
      local _, err, code = cli { "plan", "org.lua", "--admin-key", "sk-ant-admin01-xx" }
      assert.equal(1, code)
      assert.matches("keys are never given on the command line", err)
      _, _, code = cli { "plan" }
      assert.equal(1, code)
      _, _, code = cli { "plan", "a.lua", "b.lua" }
      assert.equal(1, code)
      local out
      out, _, code = cli { "plan", "--help" }
      assert.equal(0, code)
      assert.matches("^usage: anthropic plan FILE", out)
    end)

    it("prints a versioned JSON plan", function()
      local out, _, code = cli { "plan", "--json", org:file("org.lua", CHANGES .. 'workspace "Staging" '
        .. '{ budget = { monthly_usd = 100 } }\nmember "ada@example.com" { role = "user" }') }
      assert.equal(2, code)
      local doc = cjson.decode(out)
      assert.equal("1.0", doc.format_version)
      assert.equal("org.lua", doc.source:match("[^/]+$"))
      assert.matches("^%x+$", doc.fingerprint)
      assert.same({ add = 3, change = 1, remove = 0, archive = 0, manual = 1, unmanaged = 5, changes = 4 }, doc.summary)
      local first = doc.actions[1]
      assert.same({ email = "zed@example.com", role = "developer" }, first.after)
      assert.equal("+", first.symbol)
      assert.equal("create", first.op)
      assert.equal("organization", first.wave)
      assert.is_false(first.irreversible)
      assert.equal("string", type(first.reason))
      local key
      for _, a in ipairs(doc.actions) do
        if a.kind == "api_key" and a.executable then key = a end
      end
      assert.same({ name = "prod-backend", status = "active" }, key.before)
      assert.same({ { field = "status", before = "active", after = "inactive" } }, key.changes)
      assert.equal("budget", doc.checks[1].kind)
      assert.equal("0", doc.checks[1].spent_cents)
      assert.equal(1, #doc.warnings)
      assert.same({}, doc.refusals)
    end)
  end)

  describe("apply", function()
    it("asks first, and applies nothing without yes", function()
      local path = org:file("org.lua", CHANGES)
      local out, err, code = cli({ "apply", path }, { stdin = "no\n" })
      assert.equal(1, code)
      assert.matches("Type yes to go on: \n$", out)
      assert.matches("not applied", err)
      assert.is_nil(org:workspace("Research"))
      local _, _, code2 = cli { "apply", path } -- no answer at all
      assert.equal(1, code2)
      assert.is_nil(org:workspace("Research"))
    end)

    it("applies after yes, and exits 0 once the organization matches", function()
      local path = org:file("org.lua", CHANGES)
      local out, _, code = cli({ "apply", path }, { stdin = "yes\n" })
      assert.equal(0, code)
      assert.matches('\n  done    %+ workspace "Research"\n', out)
      assert.matches("\nApplied: 4 done, 0 failed, 0 skipped%.\nThe organization matches .*org%.lua%.\n$", out)
      assert.truthy(org:workspace("Research"))
      local _, _, again = cli { "plan", path }
      assert.equal(0, again)
      local _, _, nothing = cli { "apply", path }
      assert.equal(0, nothing) -- nothing to do: no question asked
    end)

    it("exits 1 when something failed, and 0 when a rerun finishes the job", function()
      local path = org:file("org.lua", CHANGES)
      org.emu:faults { { path = "/v1/organizations/workspaces", method = "POST", status = 500, count = 30,
        headers = { ["retry-after-ms"] = "1" } } }
      local out, _, code = cli { "apply", path, "--yes" }
      assert.equal(1, code)
      assert.matches('\n  FAILED  %+ workspace "Research": anthropic: api error 500', out)
      assert.matches('\n  skipped %+ workspace "Research" member "carol@example.com": waits for workspace '
        .. '"Research"', out)
      assert.matches("Applied: 2 done, 1 failed, 1 skipped%.\nNot there yet: Plan: 2 to add", out)
      org.emu:request("DELETE", "/_emulator/faults")
      out, _, code = cli { "apply", path, "--yes" }
      assert.equal(0, code)
      assert.matches("Applied: 2 done, 0 failed, 0 skipped", out)
    end)

    it("applies a saved plan exactly, and refuses it once the organization changed", function()
      local path = org:file("org.lua", CHANGES)
      local plan_path = org:dir() .. "/plan.json"
      local out, _, code = cli { "plan", path, "--out", plan_path }
      assert.equal(2, code)
      assert.matches("Saved to .*plan%.json; apply exactly this plan with: anthropic apply .*plan%.json\n$", out)
      assert.equal("1.0", cjson.decode(util.read(plan_path)).format_version)
      out, _, code = cli { "apply", plan_path, "--yes" }
      assert.equal(0, code)
      assert.matches("Applied: 4 done, 0 failed, 0 skipped%.\n$", out)
      -- a second time: the organization changed (the plan did it), so the plan is stale
      local err
      _, err, code = cli { "apply", plan_path, "--yes" }
      assert.equal(1, code)
      assert.equal("anthropic apply: the plan is stale: the organization changed since it was made; plan again\n", err)
    end)

    it("refuses a plan that breaks a safety rail", function()
      local _, err, code = cli { "apply", "--yes", org:file("org.lua", 'workspace "Production" { members = {} }\n'
        .. 'prune { workspace_members = true }') }
      assert.equal(1, code)
      assert.matches("refused: pruning would remove all 2 members", err)
      local out
      out, _, code = cli { "apply", "--yes", "--allow-empty", org:file("org.lua", 'workspace "Production" '
        .. '{ members = {} }\nprune { workspace_members = true }') }
      assert.equal(0, code)
      assert.matches("The organization matches", out)
    end)
  end)

  describe("export", function()
    it("writes a file that plans no changes against the same organization", function()
      local out, err, code = cli { "export" }
      assert.equal(0, code)
      assert.equal("", err)
      assert.matches('\nworkspace "Production" {\n  id = "wrkspc_', out)
      assert.matches('\nmember "frank@example.com" { role = "developer" }  %-%- invite pending\n', out)
      local path = org:file("exported.lua", out)
      local plan_out, _, plan_code = cli { "plan", path }
      assert.equal(0, plan_code)
      assert.matches("No changes", plan_out)
      local _, _, out_code = cli { "export", "--out", org:dir() .. "/again.lua" }
      assert.equal(0, out_code)
      assert.equal(out:gsub("exported by .- on [^.]+%.", ""), util.read(org:dir() .. "/again.lua")
        :gsub("exported by .- on [^.]+%.", ""))
    end)

    it("writes names a file may not use escaped, commented out under a warning, and plans show them escaped",
      function()
        local admin = org:admin()
        local ws = assert(admin.workspaces:create { name = "Prod\226\128\174noitcudorP" })
        local prod
        for w in admin.workspaces:list():each() do
          if w.name == "Production" then prod = w end
        end
        admin:close()
        org.emu:create_api_keys { name = "ci\226\128\139", workspace_id = prod.id }
        local out, err, code = cli { "export" }
        assert.equal(0, code, err)
        assert.is_nil(out:find("\226\128\174", 1, true), "a raw right-to-left override in the export")
        assert.is_nil(out:find("\226\128\139", 1, true), "a raw zero width space in the export")
        assert.matches('\n%-%- WARNING: workspace "Prod\\u{202E}noitcudorP" %(' .. ws.id .. '%): its name contains a '
          .. "bidirectional control", out)
        assert.matches('\n%-%- workspace "Prod\\u{202E}noitcudorP" {\n%-%-   id = "' .. ws.id .. '",', out)
        assert.matches('\n    %-%- WARNING: key "ci\\u{200B}" %(apikey_[%w_]+%) in workspace "Production": its name '
          .. "contains an invisible character", out)
        assert.matches('anthropic export: warning: workspace "Prod\\u{202E}noitcudorP"', err, 1, true)
        assert.matches('anthropic export: warning: key "ci\\u{200B}"', err, 1, true)
        local plan_out, plan_err, plan_code = cli { "plan", org:file("exported.lua", out) }
        assert.equal(0, plan_code, plan_err) -- what is left out is unmanaged, shown with its escapes
        assert.matches('? workspace "Prod\\u{202E}noitcudorP": not in the file (unmanaged)', plan_out, 1, true)
        assert.matches('? workspace "Production" key "ci\\u{200B}" (apikey_', plan_out, 1, true)
        assert.matches("Plan: 0 to add, 0 to change, 0 to remove, 0 to archive; 2 unmanaged.", plan_out, 1, true)
        -- a plan that prunes the workspace names it with its escapes
        plan_out = cli { "plan", org:file("prune.lua", out .. "\nprune { workspaces = true }\n") }
        assert.matches('workspace "Prod\\u{202E}noitcudorP": archive', plan_out, 1, true)
        assert.is_nil(plan_out:find("\226\128\174", 1, true))
      end)
  end)
end)
