-- A canary key goes through every way a request can fail; its bytes (raw, base64, URL-encoded)
-- must appear nowhere: errors, tostring of every object, log lines, the emulator's log.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"
local json = require "anthropic.json"
local util = require "helpers.util"

describe("key leak scan", function()
  it("never shows the canary key, whatever fails", function()
    local canary = emulator.make_key("api03")
    local emu = emulator.start { keys = { canary } }
    local captured = {}
    local function capture(x) for _, s in ipairs(util.strings(x)) do captured[#captured + 1] = s end end
    local function client(extra)
      local opts = { api_key = canary, base_url = emu.url, max_retries = 1, retry_after_cap = 1,
        log = function(level, msg) capture(level .. " " .. msg) end }
      for k, v in pairs(extra or {}) do opts[k] = v end
      local c = anthropic.new(opts)
      capture(c)
      return c
    end
    local params = { model = "claude-opus-4-6", max_tokens = 8, messages = { { role = "user", content = "x" } } }
    local faults = {
      { status = 400 }, { status = 401 }, { status = 429, headers = { ["retry-after-ms"] = "1" } },
      { status = 500, headers = { ["retry-after-ms"] = "1" } }, { action = "spend_cap" },
      { action = "malformed_json" }, { action = "html_413" }, { action = "reset_before_headers" },
      { action = "reset_after_headers" },
    }
    local c = client()
    for _, f in ipairs(faults) do
      f.path, f.count = "/v1/messages", 2
      emu:faults { f }
      capture { c.messages:create(params) }
      emu:reset()
    end
    capture { c.messages:create(params) }
    capture { c.models:get("missing-model") }
    capture { c:key_hint() }
    capture(c._transport)
    capture(c._transport._key)
    emu:faults { { path = "/v1/messages", action = "stall" } }
    capture { client({ timeout = 0.2, max_retries = 0 }).messages:create(params) }
    capture { client({ base_url = "http://127.0.0.1:9" }).messages:create(params) }
    capture { client({ base_url = "http://example.invalid" }).messages:create(params) }
    capture { client({ base_url = "http://127.0.0.1:9", api_key = canary .. " tail" }).messages:create(params) }
    capture { client({ base_url = emu.url, max_body = 10 }).messages:create(params) }
    -- keys through every source
    local dir = util.tmpdir()
    util.write(dir .. "/key", canary, "644")
    capture { core.load_key { key_file = dir .. "/key", env = {} } }
    util.write(dir .. "/cmdkey", canary, "600")
    capture { core.load_key { key_command = { "sh", "-c", "cat " .. dir .. "/cmdkey; exit 1" }, env = {} } }
    capture { core.load_key { key_command = { "sh", "-c", "cat " .. dir .. "/cmdkey; cat " .. dir .. "/cmdkey" },
      env = {} } }
    capture { core.load_key { key_fn = function() error(canary) end, env = {} } }
    capture { core.load_key { api_key = "sk-ant-admin01-" .. canary:sub(14), env = {} } }
    util.rmdir(dir)
    local ok, err = pcall(error, select(2, c.models:get("x")))
    capture { ok, err }

    local emu_log = json.encode(emu:log())
    emu:stop()
    assert.is_true(#captured > 50)
    for _, s in ipairs(captured) do util.assert_no_leak(s, canary, "captured: " .. s:sub(1, 300)) end
    util.assert_no_leak(emu_log, canary, "the emulator log")
    assert.matches(canary:sub(1, 16) .. "...", emu_log, 1, true) -- hints are there instead
  end)

  it("never follows a redirect, so another host never receives the key", function()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key } }
    local other = emulator.start { keys = {} }
    emu:faults { { path = "/v1/messages", status = 307, headers = { location = other.url .. "/v1/messages" } } }
    local c = anthropic.new { api_key = key, base_url = emu.url }
    local msg, err = c.messages:create { model = "claude-opus-4-6", max_tokens = 8,
      messages = { { role = "user", content = "x" } } }
    assert.is_nil(msg)
    assert.equal(307, err.status)
    assert.matches("redirect", err.message)
    assert.equal(0, #other:log().requests)
    c:close()
    emu:stop()
    other:stop()
  end)

  it("keeps keys off every command line: key_command children and the emulator", function()
    local key = emulator.make_key("api03")
    local dir = util.tmpdir()
    util.write(dir .. "/key", key, "600")
    -- the child records its own command line, then prints the key
    local k = assert(core.load_key { env = {}, key_command = { "sh", "-c",
      "tr '\\0' ' ' < /proc/$$/cmdline > " .. dir .. "/cmdline; cat " .. dir .. "/key" } })
    assert.equal(key:sub(-4), k:hint():sub(-4))
    local cmdline = assert(util.read(dir .. "/cmdline"))
    assert.matches("sh %-c", cmdline)
    util.assert_no_leak(cmdline, key, "the key command's /proc/pid/cmdline")
    local emu = emulator.start { keys = { key } }
    local f = assert(io.open("/proc/" .. emu.pid .. "/cmdline", "rb"))
    local emu_cmdline = f:read("*a")
    f:close()
    assert.matches("emulator", emu_cmdline)
    util.assert_no_leak(emu_cmdline, key, "the emulator's /proc/pid/cmdline")
    emu:stop()
    util.rmdir(dir)
  end)

  -- A process that used a key and then dumps core (here: gcore on a live process) must not
  -- carry the key: it lives in MADV_DONTDUMP memory, and every other copy (the header line,
  -- libcurl's request buffers) is wiped once the request is done. Over https too, where libcurl
  -- copies the request into a per-handle upload buffer before TLS encrypts it, and after
  -- client:close() (the engine and its pooled handles and connections stay). And against a
  -- server that offers HTTP/2, as the real API does: nghttp2 would keep x-api-key in its HPACK
  -- table, in memory nobody wipes, for as long as the connection lives, so the engine speaks
  -- HTTP/1.1 (src/engine.c); nginx in front of the emulator offers h2 (helpers/terminator.lua).
  -- (Not under ASan: its shadow memory makes a core dump of terabytes of address space.)
  local has_gcore = os.execute("command -v gcore >/dev/null 2>&1")
  local sanitized = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true)
  local core_it = has_gcore and not sanitized and it or pending
  local terminator = require "helpers.terminator"
  for _, via in ipairs { "http", "https", "https (a server offering HTTP/2)" } do
  local h2 = via:find("HTTP/2", 1, true) ~= nil
  local this_it = (h2 and not terminator.available()) and pending or core_it
  this_it("leaves no key in a core dump of a process that made requests over " .. via
      .. " and closed its client", function()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key }, tls = via == "https" }
    local front = h2 and assert(terminator.start { upstream = emu.url })
    finally(function()
      if front then front:stop() end
      emu:stop()
    end)
    local base_url, ca_file = front and front.url or emu.url, front and front.ca_file or emu.ca_file
    assert.equal(via:match("^%a+"), base_url:match("^%a+"))
    local dir = util.tmpdir()
    util.write(dir .. "/key", key, "600")
    util.write(dir .. "/child.lua", string.format([[
      local anthropic = require "anthropic"
      local c = anthropic.new { key_file = %q, base_url = %q, ca_file = %s }
      for _ = 1, 3 do
        assert(c.messages:create { model = "claude-opus-4-6", max_tokens = 8,
          messages = { { role = "user", content = "hi" } } })
      end
      local s = assert(c.messages:stream { model = "claude-opus-4-6", max_tokens = 8,
        messages = { { role = "user", content = "hi" } } })
      assert(s:final())
      s:close()
      c:close()
      collectgarbage()
      io.stdout:write("ready\n")
      io.stdout:flush()
      io.stdin:read("*l")
    ]], dir .. "/key", base_url, ca_file and string.format("%q", ca_file) or "nil"), "600")
    local script = string.format([[
      cd %s && mkfifo %s/hold %s/ready || exit 1
      LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/?.so;;' \
        lua5.4 %s/child.lua < %s/hold > %s/ready 2>%s/err &
      pid=$!
      exec 3>%s/hold
      read line < %s/ready
      [ "$line" = ready ] && timeout 120 gcore -o %s/core $pid >/dev/null 2>&1
      exec 3>&-
      wait $pid
    ]], util.sh_quote(util.root()), dir, dir, dir, dir, dir, dir, dir, dir, dir)
    util.write(dir .. "/run.sh", script, "700")
    local ran = os.execute("sh " .. dir .. "/run.sh") -- (true on 5.2+, 0 on 5.1)
    assert.is_true(ran == true or ran == 0, util.read(dir .. "/err"))
    local p = io.popen("ls " .. dir .. "/core.*")
    local core_file = p:read("*l")
    p:close()
    assert.is_string(core_file, "gcore wrote no core file: " .. tostring(util.read(dir .. "/err")))
    local image = assert(util.read(core_file))
    assert.is_true(#image > 100000)
    assert.equal(4, #emu:log().requests) -- the child's requests all reached the emulator
    local protocols = front and front:protocols()
    if front then front:stop() end
    emu:stop()
    util.rmdir(dir)
    assert.is_nil(image:find(key, 1, true), "the key is in the core dump")
    assert.is_nil(image:find(key:sub(14, 60), 1, true), "part of the key is in the core dump")
    if front then assert.same({ "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1" }, protocols) end
  end)
  end
end)
