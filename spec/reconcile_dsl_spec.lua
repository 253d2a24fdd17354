-- The organization DSL: what a file declares, the sandbox, and errors that name the file, the
-- line and the field. No server is needed.
local dsl = require "anthropic.reconcile.dsl"

local function load(text, path)
  return dsl.load_string(text, path or "org.lua")
end

local function problem(text, path)
  local config, err = load(text, path)
  assert.is_nil(config, "expected the file to be refused")
  assert.equal("config", err.kind)
  return err.message
end

describe("organization DSL", function()
  it("reads the example of the issue", function()
    local config = assert(load([[
organization { id = "org-1" }
workspace "production" {
  tags = { team = "platform" },
  members = { ["Ana@Example.com"] = "workspace_developer" },
  keys = { ["prod-app"] = { status = "active", max_age_days = 90 } },
  budget = { monthly_usd = 500, warn_at = { 1.0, 0.8 }, on_exceed = "deactivate_keys" },
}
member "bob@example.com" { role = "developer" }
prune { members = false, invites = true }
]]))
    assert.same({ id = "org-1", line = 1 }, config.organization)
    local w = config.workspaces[1]
    assert.equal("production", w.name)
    assert.equal(2, w.line)
    assert.same({ team = "platform" }, w.tags)
    assert.same({ ["ana@example.com"] = "workspace_developer" }, w.members) -- e-mails lower-cased
    assert.same({ { name = "prod-app", label = "prod-app", status = "active", max_age_days = 90 } }, w.keys)
    assert.same({ monthly_usd = 500, warn_at = { 0.8, 1.0 }, on_exceed = "deactivate_keys" }, w.budget)
    assert.same({ { email = "bob@example.com", role = "developer", line = 8 } }, config.members)
    assert.same({ members = false, invites = true }, config.prune)
  end)

  it("takes a status as shorthand for a key, list entries with ids, and bare workspaces", function()
    local config = assert(load([[
workspace "a"
workspace "b" { keys = { ["x"] = "inactive", { id = "apikey_01abc", status = "active" } } }
]]))
    assert.equal(2, #config.workspaces)
    assert.is_nil(config.workspaces[1].keys)
    local keys = config.workspaces[2].keys
    assert.same({ name = "x", label = "x", status = "inactive" }, keys[1])
    assert.same({ id = "apikey_01abc", label = "apikey_01abc", status = "active" }, keys[2])
  end)

  it("defaults the budget thresholds and action", function()
    local config = assert(load('workspace "w" { budget = { monthly_usd = 12.5 } }'))
    assert.same({ monthly_usd = 12.5, warn_at = { 0.8, 1.0 }, on_exceed = "warn" }, config.workspaces[1].budget)
  end)

  it("lets a file compute its declarations with plain Lua", function()
    local config = assert(load([[
local teams = { "alpha", "beta" }
for _, t in ipairs(teams) do
  workspace(string.format("team-%s", t)) { tags = { team = t } }
end
]]))
    assert.equal("team-beta", config.workspaces[2].name)
    assert.same({ team = "beta" }, config.workspaces[2].tags)
  end)

  describe("errors name the file, the line and the field", function()
    local cases = {
      { 'workspace "w" {\n  tags = {},\n  colour = "red",\n}',
        'org.lua:3: workspace "w": colour: unknown field (known: allow_recreate, archived, budget, id, keys, '
          .. 'members, tags)' },
      { 'member "bob@example.com" {\n  role = "owner" }',
        'org.lua:2: member "bob@example.com": role: must be one of "user", "developer", "billing", '
          .. '"claude_code_user", "admin" (got "owner")' },
      { 'workspace "w" {\n  members = {\n    ["ana@example.com"] = "workspace_user",\n    ["ana.example.com"] = '
          .. '"workspace_user",\n  },\n}',
        'org.lua:4: workspace "w": members["ana.example.com"]: not an e-mail address: "ana.example.com"' },
      { 'workspace "w" {\n  members = {\n    ["ana@example.com"] = "workspace_owner",\n  },\n}',
        'org.lua:3: workspace "w": members["ana@example.com"]: must be one of "workspace_user", '
          .. '"workspace_developer", "workspace_restricted_developer", "workspace_admin", "workspace_billing" '
          .. '(got "workspace_owner")' },
      { 'workspace "w" {}\n\nworkspace "w" {}', 'org.lua:3: workspace "w": duplicate workspace name (also at line 1)' },
      { 'member "a@b.co" { role = "user" }\nmember "A@B.co" { role = "developer" }',
        'org.lua:2: member "A@B.co": duplicate member (also at line 1)' },
      { 'member "not-an-email" { role = "user" }',
        'org.lua:1: member "not-an-email": not an e-mail address: "not-an-email"' },
      { 'member "a@b.co"', 'org.lua:1: member "a@b.co": role: is required' },
      { 'workspace "w" {\n  budget = {\n    monthly_usd = -1,\n  },\n}',
        'org.lua:3: workspace "w": budget.monthly_usd: must be at least 0 (got -1)' },
      { 'workspace "w" { budget = { warn_at = { 0.5 } } }',
        'org.lua:1: workspace "w": budget.monthly_usd: is required' },
      { 'workspace "w" {\n  keys = {\n    ["k"] = { rotate = "deactivate" },\n  },\n}',
        'org.lua:3: workspace "w": keys["k"]: rotate = "deactivate" needs max_age_days' },
      { 'workspace "w" {\n  keys = { ["k"] = { status = "expired" } },\n}',
        'org.lua:2: workspace "w": keys["k"].status: must be one of "active", "inactive", "archived" (got "expired")' },
      { 'workspace "w" { keys = { { status = "active" } } }',
        'org.lua:1: workspace "w": keys[1]: a list entry needs id or name' },
      { 'workspace "w" { tags = { anthropic_x = "y" } }',
        'org.lua:1: workspace "w": tags["anthropic_x"]: must not start with \'anthropic\' (got "anthropic_x")' },
      { 'workspace "w" { id = "ws_1" }',
        'org.lua:1: workspace "w": id: must be a workspace id (wrkspc_...) (got "ws_1")' },
      { 'workspace "Default" {}', 'org.lua:1: workspace "Default": the default workspace is not an object of the '
        .. 'Admin API and is never managed' },
      { 'workspace "Claude Code" {}', 'org.lua:1: workspace "Claude Code": the Claude Code workspace is managed by '
        .. 'Anthropic (archiving it disables Claude Code) and is never touched' },
      { 'workspace "w" { archived = true, members = {} }',
        'org.lua:1: workspace "w": archived: an archived workspace has no members, keys or budget' },
      { 'prune { members = "yes" }', 'org.lua:1: prune: members: must be true or false (got "yes")' },
      { 'prune { member = true }', 'org.lua:1: prune: member: unknown field (known: invites, keys, members, '
        .. 'workspace_members, workspaces)' },
      { 'prune {}\nprune {}', 'org.lua:2: prune is given twice (first at line 1)' },
      { 'workspace { name = "x" }', 'org.lua:1: workspace needs a workspace name first: workspace "NAME" { ... } '
        .. '(got table)' },
      { 'workspace "w" "x"', 'org.lua:1: workspace "w": expected a table after the name: workspace "w" { ... } '
        .. '(got string)' },
      { 'workspace "' .. string.rep("x", 41) .. '"', 'org.lua:1: workspace "' .. string.rep("x", 41)
        .. '": must have at most 40 characters' },
      { '\n\nworkspace "w" {', "org.lua:3: unexpected symbol near <eof>" },
      { 'error("no budget for you")', "org.lua:1: no budget for you" },
    }
    for _, case in ipairs(cases) do
      it(case[2]:sub(1, 90), function()
        local msg = problem(case[1])
        if case[2]:find("near <eof>", 1, true) then -- the wording differs between Lua versions
          assert.matches("^org%.lua:3:", msg)
        else
          assert.equal(case[2], msg)
        end
      end)
    end

    it("reports every problem of the file, in line order", function()
      local msg = problem('member "a@b.co" { role = "boss" }\nworkspace "w" { colour = 1 }\nmember "x" {}',
        "teams/org.lua")
      local lines = {}
      for l in msg:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal(3, #lines)
      assert.matches("^teams/org%.lua:1: member", lines[1])
      assert.matches("^teams/org%.lua:2: workspace", lines[2])
      assert.matches("^teams/org%.lua:3: member", lines[3])
    end)

    it("reads files from disk and names them", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write('\nmember "bob@example.com" { role = "root" }\n')
      f:close()
      local config, err = dsl.load_file(path)
      os.remove(path)
      assert.is_nil(config)
      assert.equal(path .. ':2: member "bob@example.com": role: must be one of "user", "developer", "billing", '
        .. '"claude_code_user", "admin" (got "root")', err.message)
      assert.same({ { file = path, line = 2, message = 'member "bob@example.com": role: must be one of "user", '
        .. '"developer", "billing", "claude_code_user", "admin" (got "root")' } }, err.problems)
      local _, missing = dsl.load_file("/nonexistent/org.lua")
      assert.matches("cannot read /nonexistent/org.lua", missing.message)
    end)
  end)

  describe("sandbox", function()
    for _, name in ipairs { "io", "os", "require", "load", "loadstring", "debug", "dofile", "loadfile",
      "collectgarbage", "getmetatable", "setmetatable", "package", "rawget", "rawset", "_G", "pcall" } do
      it("has no " .. name, function()
        local msg = problem("\nlocal x = " .. name)
        assert.equal("org.lua:2: unknown name '" .. name .. "' (an organization file can use organization, "
          .. "workspace, member, prune, and string, table, math; no io, os, require or load)", msg)
      end)
    end

    it("cannot reach the string metatable or change the libraries the module uses", function()
      assert.matches("unknown name 'getmetatable'", problem('local mt = getmetatable("")'))
      assert(load('string.format = nil; table.concat = nil; math.floor = nil'))
      assert.equal("a1", string.format("a%d", 1))
      assert.equal("ab", table.concat { "a", "b" })
    end)

    it("does not run binary chunks", function()
      local bytecode = string.dump(function() return 1 end)
      assert.matches("binary chunks are not accepted", problem(bytecode))
    end)

    it("stops a file that runs too long", function()
      local saved = dsl.MAX_INSTRUCTIONS
      dsl.MAX_INSTRUCTIONS = 100000
      local msg = problem("\nwhile true do end")
      dsl.MAX_INSTRUCTIONS = saved
      assert.matches("^org%.lua:2: the file ran too long", msg)
      assert.is_nil(debug.gethook()) -- the hook is removed again
    end)

    it("keeps the DSL names reserved", function()
      assert.equal("org.lua:1: 'workspace' is a reserved name", problem("workspace = 1"))
    end)

    it("has no randomness: a plan must not change from run to run", function()
      assert.matches("^org%.lua:1: attempt to call .*random", problem("local x = math.random()"))
      assert.matches("^org%.lua:3: attempt to index", problem("local x = nil\n\nx.y = 1"))
    end)
  end)
end)
