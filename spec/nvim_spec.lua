-- examples/nvim in a real editor: Debian's `nvim --headless` (Neovim 0.7, LuaJIT) loads the plugin
-- with the LuaJIT core (build-luajit/) and plays a case of spec/nvim/driver.lua against the
-- emulator. The reply streams into a scratch buffer while a 60 Hz timer in the same editor keeps
-- its time; cancels reach the server; errors are the library's; the key shows nowhere.
local emulator = require "helpers.emulator"
local util = require "helpers.util"
local cjson = require "cjson"

local CORE = "build-luajit/anthropic/core.so"
local WORST_MS = 50 -- generous: CI machines are shared; what it measures is printed

local function have(cmd)
  local _, _, status = util.run({ "sh", "-c", "command -v " .. cmd })
  return status == 0
end

-- The LuaJIT core, built when missing (make test builds it first); nil, why when it cannot be.
local function luajit_core()
  if util.read(CORE) then return true end
  local out, err, status = util.run({ "make", "--no-print-directory", "build", "LUA=luajit" }, { LD_PRELOAD = false })
  if status == 0 and util.read(CORE) then return true end
  local last = (out .. err):match("([^\n]*)\n?$") or ""
  return nil, "LuaJIT core could not be built (make build LUA=luajit said: " .. last .. ")"
end

local eventually = util.eventually

local function percentile(list, p)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  return s[math.max(1, math.ceil(#s * p))] or 0
end

describe("the Neovim plugin (examples/nvim)", function()
  local emu, key, dir, ready, why
  lazy_setup(function()
    assert(have("nvim"), "nvim is not installed: apt-get install -y neovim (make deps installs it)")
    ready, why = luajit_core()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
    dir = util.tmpdir()
  end)
  lazy_teardown(function()
    if emu then emu:stop() end
    if dir then util.rmdir(dir) end
  end)
  before_each(function() emu:reset() end)

  -- Plays a case in nvim -> what the driver wrote, nvim's stdout and stderr
  local function play(case, env)
    if not ready then
      pending(why)
      return nil
    end
    local root = util.root()
    local outfile = dir .. "/result.json"
    os.remove(outfile)
    local e = {
      ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url, CLAUDE_SPEC_CASE = case, CLAUDE_SPEC_OUT = outfile,
      HOME = dir, XDG_CONFIG_HOME = dir, XDG_DATA_HOME = dir, XDG_STATE_HOME = dir, XDG_CACHE_HOME = dir,
      ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_LOG = false, ANTHROPIC_API_VERSION = false, ANTHROPIC_PROFILE = false,
      ANTHROPIC_CONFIG = false, ANTHROPIC_CA_FILE = false, LD_PRELOAD = false,
    }
    for k, v in pairs(env or {}) do e[k] = v end
    local paths = string.format("lua package.path = %q .. package.path; package.cpath = %q .. package.cpath",
      root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;", root .. "/build-luajit/?.so;")
    -- (env -u: util.run's LUA_PATH/LUA_CPATH name the 5.4 core, which LuaJIT must not see)
    local out, err, status = util.run({ "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", "timeout", "60",
      "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", "set rtp+=examples/nvim", "--cmd", paths,
      "-c", "luafile spec/nvim/driver.lua" }, e, dir)
    local written = util.read(outfile) or ""
    for _, text in ipairs { out, err, written } do
      util.assert_no_leak(text, key, "nvim's output")
      util.assert_no_leak(text, e.ANTHROPIC_API_KEY, "nvim's output")
    end
    assert(status == 0 and written ~= "",
      string.format("nvim exited with %s:\n%s%s%s", tostring(status), out, err, written))
    local result = cjson.decode(written)
    assert.is_nil(result.error)
    return result, out, err
  end

  -- The emulator's own text for a prompt: its stream's text deltas, joined
  local function reply_text(prompt)
    local res = assert(emu:api("POST", "/v1/messages", { model = "claude-opus-4-6", max_tokens = 4096, stream = true,
      messages = { { role = "user", content = prompt } } }, key))
    assert.equal(200, res.status)
    local text = {}
    for _, ev in ipairs(emulator.parse_sse(res.body)) do
      if ev.event == "content_block_delta" and ev.data.delta.type == "text_delta" then
        text[#text + 1] = ev.data.delta.text
      end
    end
    return table.concat(text)
  end

  local function messages_log()
    local list = {}
    for _, r in ipairs(emu:log().requests) do
      if r.path == "/v1/messages" then list[#list + 1] = r end
    end
    return list
  end

  it(":Claude streams the whole reply into a scratch buffer while a 60 Hz timer keeps its time", function()
    -- events 50 ms apart, each text delta sent 300 times: a slow stream with a flood inside
    emu:stream_options { event_delay = 0.05, text_repeat = 300 }
    local r = play("stream")
    if not r then return end
    assert.equal("running", r.status_after_command, "the command returned before the reply")
    assert.same({ "" }, r.lines_after_command)
    assert.is_true(r.command_ms < WORST_MS, ":Claude took " .. r.command_ms .. " ms")
    assert.equal("done", r.status)
    assert.equal("nofile", r.buftype)
    local want = reply_text("hello")
    assert.equal(300 * #"You said: hello", #want) -- (the emulator's text: each delta 300 times)
    assert.equal(want, table.concat(r.lines, "\n"))
    assert.is_true(r.stream_ms >= 250, "the stream lasted " .. r.stream_ms .. " ms")
    local late = r.late_ms
    assert.is_true(#late >= 0.5 * r.stream_ms / 16.7, #late .. " ticks in " .. r.stream_ms .. " ms")
    local worst, sum = 0, 0
    for _, v in ipairs(late) do
      worst, sum = math.max(worst, v), sum + v
    end
    print(string.format("\nnvim: 60 Hz timer during a %.0f ms stream: %d ticks, late by worst %.2f ms, p99 %.2f ms, "
      .. "mean %.2f ms", r.stream_ms, #late, worst, percentile(late, 0.99), sum / #late))
    assert.is_true(worst < WORST_MS, string.format("the timer waited %.1f ms past its due time", worst))
    local log = messages_log()
    assert.equal(2, #log) -- the plugin's and reply_text's
    local body = cjson.decode(log[1].body)
    assert.is_true(body.stream)
    assert.equal("hello", body.messages[1].content)
    assert.equal(4096, body.max_tokens)
    assert.equal("claude-opus-4-6", body.model)
  end)

  it("a reply of several lines fills as many buffer lines", function()
    local prompt = "one\ntwo\n\nthree\n"
    local r = play("lines", { CLAUDE_SPEC_PROMPT = prompt })
    if not r then return end
    assert.equal("done", r.status)
    assert.same({ "You said: one", "two", "", "three", "" }, r.lines)
    assert.equal(reply_text(prompt), table.concat(r.lines, "\n"))
  end)

  local PROMPT = "one two three four five six seven eight nine ten eleven twelve"
  for _, how in ipairs { "stop", "wipe" } do
    it((how == "stop" and ":ClaudeStop" or "wiping the buffer") .. " cancels the reply at the server", function()
      emu:stream_options { event_delay = 0.2 }
      local r = play(how, { CLAUDE_SPEC_PROMPT = PROMPT })
      if not r then return end
      assert.equal("canceled", r.status)
      eventually(function() return messages_log()[1].canceled end, "the emulator to log the cancel")
      local full = reply_text(PROMPT)
      if how == "stop" then
        assert.is_true(r.valid)
        local got = table.concat(r.lines, "\n")
        assert.is_true(#got > 0 and #got < #full and full:sub(1, #got) == got, "kept: " .. got)
        assert.equal("claude: canceled 1 reply", r.notes[#r.notes].msg)
      else
        assert.is_false(r.valid)
        assert.same({}, r.notes) -- closing the window is its own answer
      end
    end)
  end

  it(":ClaudeStop before the answer has started cancels it as soon as it opens", function()
    emu:faults { { path = "/v1/messages", delay = 0.3 } }
    emu:stream_options { event_delay = 0.2 }
    local r = play("stop_early")
    if not r then return end
    assert.equal("canceled", r.status)
    assert.same({ "" }, r.lines)
    eventually(function() return messages_log()[1].canceled end, "the emulator to log the cancel")
  end)

  it("shows the library's error with vim.notify, without the key", function()
    local refused = emulator.make_key("api03") -- a key the emulator does not know
    local r, out, err = play("error", { ANTHROPIC_API_KEY = refused })
    if not r then return end
    assert.equal("failed", r.status)
    assert.same({ "" }, r.lines)
    assert.equal(1, #r.notes)
    assert.matches("^anthropic: api error 401 authentication_error: ", r.notes[1].msg)
    assert.equal(4, r.notes[1].level) -- vim.log.levels.ERROR
    assert.truthy(r.messages:find(r.notes[1].msg, 1, true), "the error is in :messages")
    util.assert_no_leak(out .. err .. r.messages .. r.notes[1].msg, refused, "nvim's output")
  end)

  it("setup refuses what is wrong, saying how to fix it", function()
    local r = play("setup")
    if not r then return end
    assert.matches("client.api_key: the plugin holds no key; set ANTHROPIC_API_KEY", r.errors[1], 1, true)
    assert.matches("max_tokens must be a whole number of tokens, 1 or more (got 0)", r.errors[2], 1, true)
    assert.matches("unknown setting modle (known: model, max_tokens", r.errors[3], 1, true)
    assert.matches('open must be "split", "vsplit", "tab" or "current" (got "float")', r.errors[4], 1, true)
    -- a client option anthropic.new refuses: its config error, at :Claude, and no buffer
    assert.is_nil(r.buf)
    assert.equal(1, #r.notes)
    assert.matches("^anthropic: config error: .*base_url", r.notes[1].msg)
    assert.equal(0, #messages_log())
  end)
end)
