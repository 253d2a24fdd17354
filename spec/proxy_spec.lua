-- The path a key's bytes take (src/route.h): never in clear to anything but a loopback peer.
-- A recorder (helpers/recorder.lua) stands in for a proxy and keeps every byte it receives. The
-- proxy variables are read by libcurl in the process that makes the request, so each case runs a
-- client in a child process with exactly the variables of the case set (and the others unset);
-- the key reaches the child through its environment, never argv.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"
local recorder = require "helpers.recorder"
local util = require "helpers.util"

local PROXY_VARS = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy" }
-- the variables libcurl takes an https:// request's proxy from (http_proxy is for http only)
local FOR_HTTPS = { https_proxy = true, HTTPS_PROXY = true, ALL_PROXY = true, all_proxy = true }
-- a name that never resolves (RFC 6761): a request sent to it directly fails at once
local REMOTE = "https://api.example.invalid"

-- The child: one messages:create with these options (a Lua table constructor's inside).
local CHILD = [[
local anthropic = require "anthropic"
local c = anthropic.new { %s, max_retries = 0, connect_timeout = 5, timeout = 30 }
local msg, err = c.messages:create { model = "claude-opus-4-6", max_tokens = 8,
  messages = { { role = "user", content = "hi" } } }
if msg then print("ok " .. msg.type) else print("error " .. err.kind .. ": " .. err.message) end
]]

describe("proxies", function()
  local emu, key, rec, dir
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
    dir = util.tmpdir()
    rec = recorder.start(dir)
  end)
  teardown(function()
    rec:stop()
    emu:stop()
    util.rmdir(dir)
  end)
  before_each(function() rec:clear() end)

  -- Runs the child with options `opts` (Lua source) and `env` set, every other proxy variable
  -- unset. -> its one line of output
  local function run(opts, env)
    local e = { ANTHROPIC_API_KEY = key, ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_BASE_URL = false,
      no_proxy = false, NO_PROXY = false }
    for _, v in ipairs(PROXY_VARS) do e[v] = false end
    for k, v in pairs(env or {}) do e[k] = v end
    local out, err, status = util.run_lua(CHILD:format(opts), e)
    assert.equal(0, status, err)
    util.assert_no_leak(out .. err, key, "the child's output")
    return out
  end

  local function base(url) return string.format("base_url = %q", url) end

  -- Nothing of the key, in any encoding, and no header of ours reached the recorder.
  local function assert_no_key_recorded(where)
    local got = rec:bytes()
    util.assert_no_leak(got, key, where)
    assert.is_nil(got:lower():find("x-api-key", 1, true), where .. ": the x-api-key header reached the proxy")
    assert.is_nil(got:lower():find("anthropic-version", 1, true), where .. ": a request header reached the proxy")
  end

  -- The recorder got exactly one CONNECT to host:443 and nothing after it.
  local function assert_connect_only(host, where)
    local got = rec:bytes()
    assert.equal(1, rec:connections(), where)
    assert.matches("^CONNECT " .. host:gsub("%p", "%%%0") .. ":443 HTTP/1%.1\r\n", got, 1, where)
    local head = got:find("\r\n\r\n", 1, true)
    assert.equal(#got, head and head + 3, where .. ": bytes after the CONNECT's headers: " .. got)
    assert_no_key_recorded(where)
  end

  describe("a plain-http loopback target (the emulator)", function()
    it("goes direct whatever proxy variable is set; the proxy sees no byte", function()
      for _, var in ipairs(PROXY_VARS) do
        local out = run(base(emu.url), { [var] = rec.url })
        assert.equal("ok message\n", out, var)
        assert.equal(0, rec:connections(), var .. ": a connection reached the proxy")
        assert.equal("", rec:bytes(), var)
      end
    end)

    it("goes direct by the name localhost, with every variable set at once", function()
      local env = {}
      for _, var in ipairs(PROXY_VARS) do env[var] = rec.url end
      assert.equal("ok message\n", run(base("http://localhost:" .. emu.port), env))
      assert.equal("ok message\n", run(base(emu.url), env))
      assert.equal(0, rec:connections())
    end)

    it("goes direct with a proxy option too", function()
      assert.equal("ok message\n", run(base(emu.url) .. string.format(", proxy = %q", rec.url)))
      assert.equal(0, rec:connections())
    end)
  end)

  describe("an https target", function()
    it("through each proxy variable libcurl reads for https is only a CONNECT tunnel", function()
      for _, var in ipairs(PROXY_VARS) do
        rec:clear()
        local out = run(base(REMOTE), { [var] = rec.url })
        assert.matches("^error connection: ", out, 1, var)
        if FOR_HTTPS[var] then
          assert_connect_only("api.example.invalid", var)
        else -- http_proxy is not for https: libcurl goes direct (and the name does not resolve)
          assert.equal(0, rec:connections(), var)
        end
        assert_no_key_recorded(var)
      end
    end)

    it("through the proxy option is only a CONNECT tunnel, whatever the environment says", function()
      local out = run(base(REMOTE) .. string.format(", proxy = %q", rec.url),
        { https_proxy = "http://127.0.0.1:1" })
      assert.matches("^error connection: ", out)
      assert_connect_only("api.example.invalid", "the proxy option")
    end)

    it("with proxy = false ignores the environment's proxies", function()
      local out = run(base(REMOTE) .. ", proxy = false", { https_proxy = rec.url, ALL_PROXY = rec.url })
      assert.matches("^error connection: ", out)
      assert.equal(0, rec:connections())
    end)

    it("through socks and https proxies sends no byte of the request in clear", function()
      local cases = {
        { "socks5h", "^\5" }, -- a SOCKS5 greeting, refused by the recorder
        { "socks5", "^\5" },
        { "socks4a", "^\4\1\1\187" }, -- SOCKS4 CONNECT to port 443
        { "https", "^\22\3", "tls" }, -- a TLS ClientHello to the proxy itself: its handshake fails
      }
      for _, case in ipairs(cases) do
        rec:clear()
        local url = case[1] .. "://127.0.0.1:" .. rec.port
        local out = run(base(REMOTE), { https_proxy = url })
        assert.matches("^error " .. (case[3] or "connection") .. ": ", out, 1, case[1])
        assert.equal(1, rec:connections(), case[1])
        assert.matches(case[2], rec:bytes(), 1, case[1])
        assert_no_key_recorded(case[1])
      end
    end)

    it("honours NO_PROXY and no_proxy as libcurl does", function()
      for _, np in ipairs { "no_proxy", "NO_PROXY" } do
        for _, list in ipairs { "example.invalid", ".example.invalid", "other.example, api.example.invalid", "*" } do
          rec:clear()
          local out = run(base(REMOTE), { https_proxy = rec.url, [np] = list })
          assert.matches("^error connection: ", out)
          assert.equal(0, rec:connections(), np .. "=" .. list)
        end
        rec:clear()
        run(base(REMOTE), { https_proxy = rec.url, [np] = "xample.invalid,api.example" })
        assert_connect_only("api.example.invalid", np .. " naming other hosts")
      end
    end)
  end)

  describe("in this process (the engine, with no variable needed)", function()
    local engine = require("anthropic.transport").engine()

    it("sends an https request through the proxy option as a CONNECT only, and keeps the key off it", function()
      if (os.getenv("no_proxy") or os.getenv("NO_PROXY") or "") ~= "" then
        return pending("NO_PROXY is set for this process, and libcurl honours it for the proxy option too")
      end
      local k = assert(core.load_key { api_key = key })
      local t = assert(engine:submit { method = "POST", url = REMOTE .. "/v1/messages", body = "{}", key = k,
        headers = { "anthropic-version: 2023-06-01" }, proxy = rec.url, max_retries = 0 })
      while not t:done() do engine:wait(1) end
      local res = t:result()
      t:close()
      k:close()
      assert.equal("connection", res.error.kind)
      assert_connect_only("api.example.invalid", "the engine's proxy field")
    end)

    it("refuses a proxy it cannot use, and goes direct to loopback whatever the proxy", function()
      local k = assert(core.load_key { api_key = key })
      local t, msg, kind = engine:submit { method = "GET", url = REMOTE .. "/v1/models", key = k,
        proxy = "ftp://user:hunter2pass@127.0.0.1:1" }
      assert.is_nil(t)
      assert.equal("config", kind)
      assert.matches("^the proxy option names a proxy of scheme 'ftp'", msg)
      assert.is_nil(msg:find("hunter2pass", 1, true))
      t = assert(engine:submit { method = "GET", url = emu.url .. "/v1/models", key = k, proxy = rec.url,
        headers = { "anthropic-version: 2023-06-01" } })
      while not t:done() do engine:wait(1) end
      assert.equal(200, t:status())
      t:close()
      k:close()
      assert.equal(0, rec:connections())
    end)
  end)

  describe("a proxy that cannot be used", function()
    it("in a variable is a config error naming the variable, never its value", function()
      local cases = {
        { "https_proxy", "ftp://user:hunter2pass@127.0.0.1:1", REMOTE, "scheme 'ftp'" },
        { "ALL_PROXY", "gopher://user:hunter2pass@127.0.0.1:1", REMOTE, "scheme 'gopher'" },
        { "all_proxy", "http://user:hunter2pass@[::1", REMOTE, "not a proxy URL" },
        { "HTTPS_PROXY", "http://hunter2pass@proxy.example:80\1", REMOTE, "control byte" },
      }
      for _, case in ipairs(cases) do
        local var, value, url, why = case[1], case[2], case[3], case[4]
        local out = run(base(url), { [var] = value })
        assert.matches("^error config: the " .. var .. " environment variable ", out, 1, var)
        assert.truthy(out:find(why, 1, true), out)
        assert.matches("http://HOST:PORT", out)
        assert.is_nil(out:find("hunter2pass", 1, true), "the proxy's password shown: " .. out)
        assert.equal(0, rec:connections())
      end
    end)

    it("in the proxy option is refused by anthropic.new, never quoting it", function()
      local cases = {
        { "ftp://user:hunter2pass@proxy.example:21", "got scheme 'ftp'" },
        { "proxy.example:3128", "must be a proxy URL" },
        { "http://user:hunter2pass@proxy example", "a space" },
        { "http://proxy.example\r\nx: y", "control byte (CR)" },
        { true, "or false for no proxy" },
        { 3128, "must be a string or boolean" },
      }
      for _, case in ipairs(cases) do
        local ok, err = pcall(anthropic.new, { proxy = case[1] })
        assert.is_false(ok)
        assert.equal("config", err.kind)
        local msg = err.message
        assert.matches("^option 'proxy' for anthropic%.new ", tostring(msg))
        assert.truthy(tostring(msg):find(case[2], 1, true), msg)
        assert.is_nil(tostring(msg):find("hunter2pass", 1, true), msg)
      end
      local good_ones = { "http://proxy.example:3128", "HTTPS://proxy.example", "socks5h://u:p@proxy.example:1080",
        false }
      for _, good in ipairs(good_ones) do
        assert.truthy(anthropic.new { proxy = good })
      end
    end)
  end)
end)

describe("loopback by name", function()
  local emu, key
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)

  local params = { model = "claude-opus-4-6", max_tokens = 8, messages = { { role = "user", content = "hi" } } }

  it("refuses plain http to a name that merely looks like a loopback address, before connecting", function()
    local hosts = { "127.evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "127.0.0.1.nip.io",
      "[::2]", "10.0.0.1", "0.0.0.0" }
    for _, host in ipairs(hosts) do
      local client = anthropic.new { api_key = key, base_url = "http://" .. host .. ":" .. emu.port, max_retries = 0 }
      local msg, err = client.messages:create(params)
      assert.is_nil(msg, host)
      assert.equal("config", err.kind, host)
      assert.matches("refusing to send the API key over plain http to " .. host:gsub("%p", "%%%0") .. "; use https://",
        err.message)
      assert.matches("127%.0%.0%.0/8, ::1, localhost", err.message)
      assert.is_nil(err.attempts, host .. ": an attempt was made") -- refused at submit: nothing sent
      util.assert_no_leak(table.concat(util.strings(err), "\n"), key, "the error")
      client:close()
    end
  end)

  it("sends to 127.0.0.0/8 literals and to localhost", function()
    for _, url in ipairs { emu.url, "http://localhost:" .. emu.port } do
      local client = anthropic.new { api_key = key, base_url = url }
      local msg, err = client.messages:create(params)
      assert.is_nil(err, url)
      assert.equal("message", msg.type)
      client:close()
    end
  end)
end)
