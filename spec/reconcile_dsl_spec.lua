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
        'org.lua:3: workspace "w": colour: unknown field (known: allow_recreate, archived, budget, display_color, '
          .. 'id, keys, members, rate_limits, tags)' },
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
        'org.lua:1: workspace "w": archived: an archived workspace has no members, keys, budget or rate limits' },
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
      { 'workspace "w" {} {}', 'org.lua:1: workspace "w": a second { ... } follows the block; a block takes one '
        .. 'table: workspace "w" { ... }' },
      { 'workspace "w" {' .. string.rep("{", 300),
        "org.lua:1: cannot read the file: C stack overflow (it nests too deep)" },
      { string.dump(function() end), "org.lua:1: binary chunks are not accepted" },
      { 'error("org.lua is not a line", 0)', "org.lua:1: org.lua is not a line" },
      { '\nprune {} {}', 'org.lua:2: prune: a second { ... } follows the block; prune takes one table: prune { ... }' },
    }
    for _, case in ipairs(cases) do
      it(case[2]:sub(1, 90), function()
        local msg = problem(case[1])
        if case[2]:find("near <eof>", 1, true) then -- the wording differs between Lua versions
          assert.matches("^org%.lua:3:", msg)
        elseif case[2]:find("nests too deep", 1, true) then -- LuaJIT: "chunk has too many syntax levels"
          assert.matches("^org%.lua:1: cannot read the file: .* %(it nests too deep%)$", msg)
          if _VERSION == "Lua 5.4" then assert.equal(case[2], msg) end
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

  describe("names that mislead", function()
    local cases = {
      { 'workspace "Prod\226\128\174noitcudorP" {}', 'org.lua:1: workspace "Prod\\u{202E}noitcudorP": contains a '
        .. 'bidirectional control (\\u{202E} RIGHT-TO-LEFT OVERRIDE, character 5), which makes the name display as '
        .. 'something else: remove it (got "Prod\\u{202E}noitcudorP")' },
      { 'workspace "Production " {}', 'org.lua:1: workspace "Production ": has a trailing space: write '
        .. '"Production" (got "Production ")' },
      { 'workspace " Production" {}', 'org.lua:1: workspace " Production": has a leading space: write '
        .. '"Production" (got " Production")' },
      { 'workspace "   " {}', 'org.lua:1: workspace "   ": is only spaces: give a name that can be read (got "   ")' },
      { 'workspace "a\\0b" {}', 'org.lua:1: workspace "a\\0b": contains a NUL byte (\\0, character 2): remove it '
        .. '(got "a\\0b")' },
      { 'workspace "a\\rb" {}', 'org.lua:1: workspace "a\\rb": contains a control character (\\r, character 2): '
        .. 'remove it (got "a\\rb")' },
      { 'workspace "a\\194\\133b" {}', 'org.lua:1: workspace "a\\u{85}b": contains a control character (\\u{85}, '
        .. 'character 2): remove it (got "a\\u{85}b")' },
      { 'workspace "a\226\128\139b" {}', 'org.lua:1: workspace "a\\u{200B}b": contains an invisible character '
        .. '(\\u{200B} ZERO WIDTH SPACE, character 2): remove it (got "a\\u{200B}b")' },
      { 'workspace "\\255" {}', 'org.lua:1: workspace "\\xFF": is not valid UTF-8 (at byte 1): write the name as '
        .. 'UTF-8 text (got "\\xFF")' },
      { 'workspace "w" {\n  keys = {\n    ["ci\\n"] = "active" },\n}', 'org.lua:2: workspace "w": keys["ci\\n"]: '
        .. 'contains a control character (\\n, character 3): remove it (got "ci\\n")' },
      { 'workspace "w" { keys = { { id = "apikey_01", name = "ci " } } }', 'org.lua:1: workspace "w": keys[1].name: '
        .. 'has a trailing space: write "ci" (got "ci ")' },
      { 'workspace "w" { tags = { ["team "] = "a" } }', 'org.lua:1: workspace "w": tags["team "]: has a trailing '
        .. 'space: write "team" (got "team ")' },
      { 'workspace "w" { tags = { team = "\226\128\174a" } }', 'org.lua:1: workspace "w": tags["team"]: contains a '
        .. 'bidirectional control (\\u{202E} RIGHT-TO-LEFT OVERRIDE, character 1), which makes the name display as '
        .. 'something else: remove it (got "\\u{202E}a")' },
      { 'member "bob\226\128\174@example.com" { role = "user" }', 'org.lua:1: member "bob\\u{202E}@example.com": not '
        .. 'an e-mail address: contains a bidirectional control (\\u{202E} RIGHT-TO-LEFT OVERRIDE, character 4), '
        .. 'which makes the name display as something else: remove it (got "bob\\u{202E}@example.com")' },
      { 'member "bob\\0@example.com" { role = "user" }', 'org.lua:1: member "bob\\0@example.com": not an e-mail '
        .. 'address: contains a NUL byte (\\0, character 4): remove it (got "bob\\0@example.com")' },
    }
    for _, case in ipairs(cases) do
      it(case[2]:sub(1, 90), function()
        assert.equal(case[2], problem(case[1]))
      end)
    end

    it("shows at most 100 characters of a value in a message", function()
      assert.equal('org.lua:1: workspace "' .. string.rep("x", 100) .. '"... (100000 characters): must have at most 40 '
        .. "characters", problem('workspace(("x"):rep(100000)) {}'))
    end)

    it("measures names in characters, not bytes", function()
      local cjk = string.rep("\231\148\159", 14) -- 14 characters, 42 bytes
      assert.equal(cjk, assert(load('workspace "' .. cjk .. '" { keys = { ["' .. cjk .. '"] = "active" } }'))
        .workspaces[1].name)
      local name40 = assert(load('workspace "' .. string.rep("\231\148\159", 40) .. '"')).workspaces[1].name
      assert.equal(40, require("anthropic.compat").utf8.len(name40))
      assert.equal('org.lua:1: workspace "' .. string.rep("\231\148\159", 41) .. '": must have at most 40 characters',
        problem('workspace "' .. string.rep("\231\148\159", 41) .. '"'))
    end)

    it("accepts joiners that scripts need, and other spaces inside a name", function()
      local config = assert(load('workspace "\217\133\226\128\140\219\140" {}\nworkspace "a\194\160b" {}'))
      assert.equal("\217\133\226\128\140\219\140", config.workspaces[1].name)
      assert.equal("a\194\160b", config.workspaces[2].name)
    end)
  end)

  describe("bounds: memory and time, whatever the file calls", function()
    local saved
    before_each(function()
      saved = { dsl.MAX_SECONDS, dsl.MAX_MEMORY_MB }
      dsl.MAX_SECONDS, dsl.MAX_MEMORY_MB = 1, 48
    end)
    after_each(function()
      dsl.MAX_SECONDS, dsl.MAX_MEMORY_MB = saved[1], saved[2]
    end)

    it("stops a pattern that backtracks inside one library call", function()
      assert.equal("org.lua:3: the organization file took longer than 1 s",
        problem('workspace "a" {}\n\nlocal s = ("a"):rep(3000):find(".-.-.-.-.-.-b")'))
    end)

    it("stops a file that keeps the processor busy between instructions too", function()
      dsl.MAX_INSTRUCTIONS, saved[3] = 1e12, dsl.MAX_INSTRUCTIONS
      local msg = problem('\nlocal s = ("a"):rep(100)\nwhile true do s:find(".-.-b") end')
      dsl.MAX_INSTRUCTIONS = saved[3]
      assert.equal("org.lua:3: the organization file took longer than 1 s", msg)
    end)

    it("stops a memory bomb: one large string, and doubling", function()
      assert.equal("org.lua:2: the organization file used more than 48 MB of memory",
        problem('workspace "a" {}\nlocal s = ("x"):rep(2^30); local t = s .. s'))
      assert.equal("org.lua:3: the organization file used more than 48 MB of memory",
        problem('local s = "x"\nfor i = 1, 40 do\n  s = s .. s\nend'))
      assert.matches("^org%.lua:%d: the organization file used more than 48 MB of memory$",
        problem('local t = {}\nfor i = 1, 1e9 do t[i] = { i } end'))
    end)

    it("stops a deep recursion", function()
      local msg = problem('local function f() return 1 + f() end\nf()')
      assert.matches("^org%.lua:1: ", msg)
      assert.truthy(msg:find("used more than 48 MB", 1, true) or msg:find("stack overflow", 1, true), msg)
      msg = problem('local function f() return ("x"):gsub(".", f) end\nf()')
      if rawget(_G, "jit") then -- LuaJIT crashes there (in the child, which is why it is one)
        assert.matches("^org%.lua:%d: the organization file crashed the interpreter .*segmentation fault", msg)
      else
        assert.equal("org.lua:1: C stack overflow", msg)
      end
    end)

    it("keeps what ordinary files give: the same errors as in this process, and numbers as they were", function()
      for _, text in ipairs {
        'workspace "w" {\n  colour = "red",\n}', '\n\nworkspace "w" {', 'member "x" {}\nmember "y" {}',
        'local x = nil\n\nx.y = 1', 'workspace "w" {} {}',
      } do
        local _, child = dsl.load_string(text, "org.lua")
        local _, here = dsl.evaluate(text, "org.lua")
        assert.equal(here.message, child.message)
        assert.same(here.problems, child.problems)
      end
      local w = assert(load('workspace "w" { budget = { monthly_usd = 10.0, warn_at = { 1.0, 0.5 } } }')).workspaces[1]
      if math.type then assert.equal("float", math.type(w.budget.monthly_usd)) end -- (5.3+: integers and floats apart)
      if math.type then assert.equal("float", math.type(w.budget.warn_at[2])) end -- (5.3+: integers and floats apart)
      assert.same({ 0.5, 1.0 }, w.budget.warn_at)
    end)

    it("starts the child with an empty environment: no key of the caller reaches it", function()
      local util = require "helpers.util"
      local dir = util.tmpdir()
      local wrapper = util.write(dir .. "/lua-wrapper", '#!/bin/sh\nenv > "' .. dir .. '/env"\nexec lua5.4 "$@"\n',
        "700")
      local key = "sk-ant-api03-" .. string.rep("q", 40)
      local out, err, code = util.run_lua(string.format([[
        local bounded = require "anthropic.reconcile.bounded"
        bounded.interpreter = %q
        local config = assert(require("anthropic.reconcile.dsl").load_string('workspace "w" {}'))
        io.write(config.workspaces[1].name)
      ]], wrapper), { ANTHROPIC_API_KEY = key, ANTHROPIC_ADMIN_KEY = key })
      local env = util.read(dir .. "/env")
      util.rmdir(dir)
      assert.equal(0, code, err)
      assert.equal("w", out)
      assert.matches("PATH=", env, 1, true)
      util.assert_no_leak(env, key, "the child's environment")
      assert.is_nil(env:find("ANTHROPIC", 1, true))
    end)

    -- #int64: needs integers apart from floats and math.mininteger (5.3+)
    it("sends the result in a format that keeps types and refuses what it did not write #int64", function()
      local bounded = require "anthropic.reconcile.bounded"
      local v = { "a\0\n", 1, 1.0, -0.5, math.mininteger, true, false, { x = { [2] = "y" } }, [""] = "" }
      local back = assert(bounded.decode(bounded.encode(v)))
      assert.same(v, back)
      assert.equal("float", math.type(back[3]))
      assert.equal("integer", math.type(back[2]))
      for _, bad in ipairs { "", "{", "}", "s5:ab", "i1", "ix;", "{T}", "TT", "q", "{i1;}" } do
        assert.is_nil(bounded.decode(bad), bad)
      end
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

    it("stops a busy loop in this process too, under LuaJIT's compiler as well", function()
      -- (LuaJIT runs no count hook inside a compiled loop: dsl.lua turns the compiler off while a
      -- file runs, and on again after)
      local jit = rawget(_G, "jit")
      local jit_on = jit and jit.status()
      local _, err = dsl.evaluate("\nlocal n = 0\nwhile true do n = n + 1 end", "org.lua", { instructions = 200000 })
      assert.matches("^org%.lua:3: the file ran too long %(more than 200000 instructions%)", err.message)
      assert.is_nil(debug.gethook())
      if jit_on then assert.is_true((jit.status())) end
    end)

    it("keeps string methods away from string.dump, and gives the host its string table back", function()
      local config = assert(load('workspace(tostring(("").dump) .. "-" .. tostring(string.dump) .. "-" '
        .. '.. ("ab"):rep(2)) {}'))
      assert.equal("nil-nil-abab", config.workspaces[1].name)
      -- in this process too (dsl.evaluate), also when the file fails
      assert.equal("nil", assert(dsl.evaluate('workspace(tostring(("").dump)) {}')).workspaces[1].name)
      local _, err = dsl.evaluate('local d = ("").dump\nerror("boom")')
      assert.equal("org.lua:2: boom", err.message)
      assert.equal(string, getmetatable("").__index)
      assert.equal(string.dump, ("").dump)
    end)

    it("builds its messages with its own string functions, whatever the file puts in its string table", function()
      local text = 'for k in pairs(string) do string[k] = function() error("mine") end end\n'
        .. 'workspace "a\\0" (1)'
      local want = 'org.lua:2: workspace "a\\0": expected a table after the name: workspace "a\\0" { ... } (got number)'
      assert.equal(want, problem(text))
      assert.equal(want, select(2, dsl.evaluate(text)).message)
    end)

    it("says what a non-message error value was", function()
      assert.equal("org.lua:2: error() was called with a table, not a message", problem("\nerror({})"))
      assert.equal("org.lua:1: error() was called with no message", problem("error()"))
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
