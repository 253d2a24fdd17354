-- The `anthropic` command as a shell user meets it, run as a child process against the emulator:
-- --version, "did you mean", SIGINT (exit 130, no traceback: a stream cancelled, an apply stopped
-- between actions), messages for the shell, tables that fit the terminal, messages --json,
-- ANTHROPIC_LOG. Keys travel in the environment only and never show in any output.
local compat = require "anthropic.compat"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local rh = require "helpers.reconcile"
local util = require "helpers.util"

describe("the anthropic command", function()
  local org, api_key, dir
  lazy_setup(function()
    api_key = emulator.make_key("api03")
    org = rh.start { keys = { api_key } }
    dir = util.tmpdir()
  end)
  lazy_teardown(function()
    org:stop()
    util.rmdir(dir)
  end)
  before_each(function() org:reset() end)

  local function env_with(extra)
    local e = { ANTHROPIC_ADMIN_KEY = org.admin_key, ANTHROPIC_API_KEY = api_key, ANTHROPIC_BASE_URL = org.emu.url,
      ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_LOG = false, COLUMNS = false, NO_COLOR = false }
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end

  local function no_leak(text, what)
    util.assert_no_leak(text, org.admin_key, what)
    util.assert_no_leak(text, api_key, what)
  end

  -- `anthropic ARGS...` -> stdout, stderr, exit status
  local function cli(args, env)
    local argv = { emulator.LUA, "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, code = util.run(argv, env_with(env), dir)
    no_leak(out .. err, "anthropic " .. table.concat(args, " "))
    return out, err, code
  end

  local function spawn(args, env)
    local argv = { emulator.LUA, "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return util.spawn(argv, env_with(env))
  end

  describe("--version", function()
    it("prints the version of the library, libcurl and the API version, exit 0", function()
      for _, flag in ipairs { "--version", "-V", "version" } do
        local out, err, code = cli { flag }
        assert.equal(0, code)
        assert.equal("", err)
        assert.matches("^anthropic %d+%.%d+%.%d+ %(libcurl [%d.]+, Lua 5%.%d; API version 2026%-10%-21%)\n$", out)
      end
      local out = cli { "--api-version", "2023-06-01", "--version" }
      assert.matches("API version 2023%-06%-01", out)
    end)
  end)

  describe("did you mean", function()
    it("suggests the command meant, exit 2", function()
      local out, err, code = cli { "mesages", "hi" }
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("^anthropic: unknown command 'mesages'; did you mean 'messages'%?\n", err)
      local _
      _, err = cli { "worksapces" }
      assert.matches("did you mean 'workspaces'%?", err)
      _, err = cli { "--verison" }
      assert.matches("did you mean '%-%-version'%?", err)
    end)

    it("says no more than unknown when nothing is close", function()
      local _, err, code = cli { "frobnicate" }
      assert.equal(2, code)
      assert.matches("^anthropic: unknown command 'frobnicate'\n", err)
    end)

    it("suggests subcommands and options", function()
      local _, err, code = cli { "keys", "lsit" }
      assert.equal(2, code)
      assert.matches("unknown subcommand 'lsit'; did you mean 'list'%?", err)
      _, err, code = cli { "keys", "list", "--stauts", "active" }
      assert.equal(2, code)
      assert.matches("unknown option '%-%-stauts'; did you mean '%-%-status'%?", err)
      _, err, code = cli { "messages", "hi", "--max-token", "5" }
      assert.equal(2, code)
      assert.matches("unknown option '%-%-max%-token'; did you mean '%-%-max%-tokens'%?", err)
    end)
  end)

  describe("messages for the shell", function()
    it("a missing key names the variable and --profile, not anthropic.new()", function()
      local _, err, code = cli({ "messages", "hi" }, { ANTHROPIC_API_KEY = false })
      assert.equal(1, code)
      assert.matches("export ANTHROPIC_API_KEY=", err, 1, true)
      assert.matches("--profile NAME", err, 1, true)
      assert.not_matches("anthropic%.new", err)
      assert.not_matches("key_command to", err)
      _, err, code = cli({ "keys", "list" }, { ANTHROPIC_ADMIN_KEY = false })
      assert.equal(1, code)
      assert.matches("export ANTHROPIC_ADMIN_KEY=", err, 1, true)
      assert.not_matches("anthropic%.admin%(", err)
    end)
  end)

  describe("messages --json", function()
    it("prints the whole Message", function()
      local out, err, code = cli { "messages", "--json", "hello there", "--max-tokens", "64" }
      assert.equal("", err)
      assert.equal(0, code)
      local m = cjson.decode(out)
      assert.equal("message", m.type)
      assert.matches("^msg_", m.id)
      assert.equal("assistant", m.role)
      assert.equal("You said: hello there", m.content[1].text)
      assert.equal("end_turn", m.stop_reason)
      assert.is_number(m.usage.input_tokens)
      assert.is_number(m.usage.output_tokens)
    end)
  end)

  -- #lua54: the exit code comes from io.popen's close, which gives none on 5.1 and LuaJIT (the CLI
  -- itself always runs on lua5.4)
  describe("SIGINT", function()
    it("cancels a stream mid-way: exit 130, one line, no traceback #lua54", function()
      org.emu:faults { { path = "/v1/messages", action = "stream_stall_after", after = 4 } }
      local child = spawn { "messages", "a prompt that streams" }
      local shown = child.read_until("Y") -- the first text delta has arrived; the stream now stalls
      assert.matches("Y", shown)
      child.signal("INT")
      local out, err, code = child.wait()
      no_leak(out .. err, "an interrupted stream")
      assert.equal(130, code)
      assert.equal("anthropic messages: interrupted: the stream was cancelled\n", err)
      assert.not_matches("traceback", err)
      assert.matches("^You", out)
      assert.matches("\n$", out) -- the line is ended
    end)

    it("stops an apply between actions and says what was done #lua54", function()
      -- the second create is slow to answer: the interrupt comes while it is under way
      org.emu:faults { { path = "/v1/organizations/workspaces", method = "POST", skip = 1, count = 1, delay = 2 } }
      local file = org:file("three.lua", 'workspace "Production"\nworkspace "Staging"\n'
        .. 'workspace "Alpha"\nworkspace "Beta"\nworkspace "Gamma"\n')
      local child = spawn { "apply", "--yes", file }
      child.read_until('done    + workspace "Alpha"')
      child.signal("INT")
      local out, err, code = child.wait()
      no_leak(out .. err, "an interrupted apply")
      assert.equal(130, code)
      assert.matches('done    %+ workspace "Beta"', out) -- the action under way was finished
      assert.not_matches('done    %+ workspace "Gamma"', out)
      assert.matches("Interrupted after 2 of 3 actions", out, 1, true)
      assert.equal("anthropic apply: interrupted; run `anthropic apply " .. file .. "` again to carry on\n", err)
      local names = {}
      for _, w in ipairs(org:workspaces()) do names[w.name] = true end
      assert.is_true(names.Alpha and names.Beta)
      assert.is_nil(names.Gamma)
    end)
  end)

  describe("tables", function()
    local function widest(out)
      local n = 0
      for line in out:gmatch("[^\n]+") do n = math.max(n, compat.utf8.len(line)) end
      return n
    end

    it("keys list fits COLUMNS, shows names where names belong, --wide shows all", function()
      local out, err, code = cli({ "keys", "list" }, { COLUMNS = "100" })
      assert.equal("", err)
      assert.equal(0, code)
      assert.is_true(widest(out) <= 100, out)
      local header = out:match("^[^\n]+")
      assert.matches("^ID +NAME +STATUS +WORKSPACE +CREATED +CREATED BY$", header) -- HINT left out first
      assert.matches("Ada Admin", out) -- the creator's name
      local whole = cli { "keys", "list" } -- a pipe without COLUMNS: whole lines
      assert.matches("^ID +NAME +STATUS +WORKSPACE +CREATED +CREATED BY +HINT\n", whole)
      assert.not_matches("wrkspc_", out) -- names, not ids
      assert.matches("Production", out)
      assert.not_matches("\27%[", out) -- no color when not on a terminal
      local wide = cli({ "keys", "list", "--wide" }, { COLUMNS = "100" })
      assert.matches("WORKSPACE ID", wide)
      assert.matches("CREATED BY ID", wide)
      assert.matches("wrkspc_", wide)
      assert.is_true(widest(wide) > 100)
    end)

    it("cuts long names with an ellipsis, never ids", function()
      local out = cli({ "keys", "list" }, { COLUMNS = "70" })
      assert.is_true(widest(out) <= 70, out)
      local ids = {}
      for _, k in ipairs(org:keys()) do ids[#ids + 1] = k.id end
      for _, id in ipairs(ids) do assert.matches(id, out, 1, true) end
      assert.matches("\226\128\166", out)
    end)

    it("colors the header only on a terminal, and never with NO_COLOR", function()
      if not os.execute("command -v script >/dev/null 2>&1") then
        pending("needs script(1) (util-linux) for a pseudo-terminal")
        return
      end
      -- script(1) runs the command on a pseudo-terminal: standard output is a terminal there
      local argv = { "script", "-qec", emulator.LUA .. " bin/anthropic keys list", "/dev/null" }
      local out, err, code = util.run(argv, env_with { COLUMNS = "200" }, dir)
      no_leak(out .. err, "keys list on a terminal")
      assert.equal(0, code, err)
      assert.matches("\27%[1mID +NAME", out)
      out = util.run(argv, env_with { COLUMNS = "200", NO_COLOR = "1" }, dir)
      assert.matches("ID +NAME", out)
      assert.not_matches("\27%[", out)
    end)

    it("keeps --json for scripts", function()
      local out = cli({ "keys", "list", "--json" }, { COLUMNS = "40" })
      local doc = cjson.decode(out)
      assert.is_true(#doc > 0)
      assert.matches("^apikey_", doc[1].id)
      assert.is_nil(doc[1]._workspace)
    end)
  end)

  describe("models and count-tokens", function()
    it("models lists the models as a table or JSON, models get shows one", function()
      local out, err, code = cli { "models" }
      assert.equal(0, code, err)
      assert.matches("^ID +NAME +CREATED +LIFECYCLE +RETIRES\n", out)
      assert.matches("\nclaude%-opus%-4%-6 ", out)
      local doc = cjson.decode((cli { "models", "list", "--json", "--limit", "2" }))
      assert.equal(2, #doc)
      assert.equal("model", doc[1].type)
      out, err, code = cli { "models", "get", "claude-opus-4-6" }
      assert.equal(0, code, err)
      assert.matches("^ID +claude%-opus%-4%-6\n", out)
      local _
      _, err, code = cli { "models", "get", "claude-nope" }
      assert.equal(1, code)
      assert.matches("^anthropic models get: api error 404", err)
    end)

    it("count-tokens prints the prompt's input tokens", function()
      local out, err, code = cli { "count-tokens", "hello there, how are you" }
      assert.equal(0, code, err)
      local n = tonumber(out:match("^(%d+)\n$"))
      assert.is_true(n and n > 0, out)
      local doc = cjson.decode((cli { "count-tokens", "--json", "hello there, how are you" }))
      assert.equal(n, doc.input_tokens)
      local _
      _, err, code = cli { "count-tokens" }
      assert.equal(2, code)
      assert.matches("give the prompt", err)
    end)
  end)

  describe("completion and the man page", function()
    -- what bash completes for the words typed so far
    local function complete(line)
      local script = util.write(dir .. "/complete.sh", string.format([[
        eval "$(%s bin/anthropic completion bash)"
        COMP_WORDS=(%s); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        _anthropic; echo "${COMPREPLY[*]}"
      ]], emulator.LUA, line))
      local out, err, code = util.run({ "bash", script }, env_with())
      assert.equal(0, code, err)
      return out
    end

    it("bash completes commands, subcommands and options", function()
      assert.equal("models\n", complete("anthropic mod"))
      assert.equal("get list\n", complete("anthropic models ''"))
      assert.equal("--max-tokens\n", complete("anthropic messages --max"))
      assert.matches("%-%-wide", complete("anthropic keys list --"))
    end)

    it("zsh gets a completion function; a shell it does not know is a usage error", function()
      local out, _, code = cli { "completion", "zsh" }
      assert.equal(0, code)
      assert.matches("^#compdef anthropic\n", out)
      assert.matches("'models:list the models, or show one'", out, 1, true)
      local _, err
      _, err, code = cli { "completion", "fish" }
      assert.equal(2, code)
      assert.matches("unknown shell 'fish'", err)
    end)

    it("the man page holds every command's help text", function()
      local out, _, code = cli { "completion", "man" }
      assert.equal(0, code)
      assert.matches("^%.TH ANTHROPIC 1 ", out)
      for _, cmd in ipairs { "messages", "models", "count-tokens", "keys", "apply" } do
        assert.matches("\n.SS " .. cmd:gsub("%-", "%%-") .. "\n", out)
        local help = cli { cmd, "--help" }
        local first = help:match("^([^\n]+)"):gsub("%-", "\\-")
        assert.matches(first, out, 1, true)
      end
      assert.matches("130 interrupted", out, 1, true)
    end)
  end)

  describe("the emulator without keys", function()
    it("is an error with the fix, unless --no-keys says so", function()
      for _, keys in ipairs { false, "" } do
        local out, err, code = util.run({ emulator.LUA, "bin/anthropic", "emulator", "--port", "0" },
          { ANTHROPIC_EMULATOR_KEYS = keys }, dir)
        assert.equal(1, code)
        assert.equal("", out)
        assert.matches("^anthropic emulator: no keys: ANTHROPIC_EMULATOR_KEYS is ", err)
        assert.matches('ANTHROPIC_EMULATOR_KEYS="$key" anthropic emulator', err, 1, true)
        assert.matches("--no-keys", err, 1, true)
      end
      local emu = emulator.start {} -- the helper passes --no-keys
      assert.is_true(emu:alive())
      emu:stop()
    end)
  end)

  describe("ANTHROPIC_LOG", function()
    it("debug logs each request on stderr, keys redacted", function()
      local out, err, code = cli({ "messages", "hello" }, { ANTHROPIC_LOG = "debug" })
      assert.equal(0, code)
      assert.matches("You said: hello", out)
      assert.matches("anthropic: debug: POST /v1/messages %-> stream", err)
    end)

    it("warn logs retries", function()
      org.emu:faults { { path = "/v1/organizations/api_keys", status = 529, count = 1 } }
      local _, err, code = cli({ "keys", "list" }, { ANTHROPIC_LOG = "warn" })
      assert.equal(0, code)
      assert.matches("anthropic: warn: GET /v1/organizations/api_keys[^\n]*: attempt 1 failed %(HTTP 529%)", err)
      assert.not_matches("debug:", err)
    end)

    it("an unknown value is an error that says which are known", function()
      local _, err, code = cli({ "keys", "list" }, { ANTHROPIC_LOG = "loud" })
      assert.equal(1, code)
      assert.matches("ANTHROPIC_LOG must be debug, info or warn", err, 1, true)
    end)

    it("anthropic.new logs to stderr when no log function is given", function()
      local _, err, code = util.run_lua(string.format([[
        package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
        local c = require("anthropic").new { base_url = %q }
        assert(c.messages:create { model = "claude-opus-4-6", max_tokens = 8,
          messages = { { role = "user", content = "x" } } })
      ]], org.emu.url), env_with { ANTHROPIC_LOG = "info" })
      assert.equal(0, code, err)
      assert.matches("anthropic: debug: POST /v1/messages %-> 200", err)
      no_leak(err, "the log")
    end)
  end)
end)
