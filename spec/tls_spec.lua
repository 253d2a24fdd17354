-- HTTPS: the emulator's --tls, the client's ca_file / ca_path, and the `tls` error kind. A
-- certificate the client cannot verify (another CA, another host name, the system's CAs only)
-- fails the request with kind tls after one attempt, before any byte of the request is sent.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local util = require "helpers.util"
local tls = require "anthropic.emulator.tls"

local PARAMS = { model = "claude-opus-4-6", max_tokens = 16, messages = { { role = "user", content = "hello" } } }

-- A directory with a CA and a certificate of its own (names: the certificate's; default
-- 127.0.0.1 and localhost).
local function cert_dir(names)
  local dir = assert(tls.tmpdir())
  assert(tls.make(dir, { names = names }))
  return dir
end

describe("https", function()
  local key, emu, other_ca, wrong_name, wrong_emu
  lazy_setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key }, tls = true }
    other_ca = cert_dir()                                   -- a second throwaway CA
    wrong_name = cert_dir { "wrong-name.invalid" }          -- a certificate for another host
    wrong_emu = emulator.start { keys = { key }, tls_dir = wrong_name }
  end)
  lazy_teardown(function()
    emu:stop()
    wrong_emu:stop()
    tls.rmdir(other_ca)
    tls.rmdir(wrong_name)
  end)
  before_each(function()
    emu:reset()
    wrong_emu:reset()
  end)

  local function client(opts)
    opts.api_key = key
    opts.base_url = opts.base_url or emu.url
    return anthropic.new(opts)
  end

  -- The call fails with kind tls after one attempt (of three allowed), and the server saw nothing.
  local function assert_tls_failure(server, opts, pattern)
    server:clear_log()
    opts.max_retries = 2
    opts.base_url = opts.base_url or server.url
    local lines = {}
    opts.log = function(level, msg) lines[#lines + 1] = level .. " " .. msg end
    local c = client(opts)
    local msg, err = c.messages:create(PARAMS)
    c:close()
    assert.is_nil(msg)
    assert.is_true(anthropic.is_error(err))
    assert.equal("tls", err.kind)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.is_falsy(err.ambiguous)
    assert.matches("^TLS handshake failed: ", err.message)
    if pattern then assert.matches(pattern, err.message) end
    assert.matches("anthropic: tls error: TLS handshake failed", tostring(err), 1, true)
    for _, l in ipairs(lines) do assert.is_nil(l:find("retrying", 1, true), l) end
    assert.equal(0, #server:log().requests, "a request reached the server")
    for _, s in ipairs(util.strings(err)) do util.assert_no_leak(s, key, "the error") end
    return err
  end

  it("serves the emulator over https with the CA made for it", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", emu.url)
    assert.is_truthy(tls.exists(emu.ca_file))
    local c = client { ca_file = emu.ca_file }
    local msg = assert(c.messages:create(PARAMS))
    assert.equal("You said: hello", msg.content[1].text)
    local s = assert(c.messages:stream(PARAMS))
    assert.equal("You said: hello", assert(s:final()).content[1].text)
    s:close()
    c:close()
    assert.equal(2, #emu:log().requests)
  end)

  it("takes the CAs from a directory with ca_path", function()
    local dir = util.tmpdir()
    assert(os.execute("cp " .. util.sh_quote(emu.ca_file) .. " " .. util.sh_quote(dir .. "/emu.pem")
      .. " && openssl rehash " .. util.sh_quote(dir) .. " >/dev/null 2>&1"))
    local c = client { ca_path = dir }
    local msg, err = c.messages:create(PARAMS)
    c:close()
    util.rmdir(dir)
    assert.is_nil(err)
    assert.equal("message", msg.type)
  end)

  it("a certificate from another CA gives kind tls, not retried", function()
    assert_tls_failure(emu, { ca_file = other_ca .. "/ca.pem" }, "certificate")
  end)

  it("a certificate for another host name gives kind tls, not retried", function()
    assert_tls_failure(wrong_emu, { ca_file = wrong_name .. "/ca.pem" }, "127%.0%.0%.1")
    -- the same certificate is fine where the name matches its CA and host: only the name is wrong
    local c = client { ca_file = emu.ca_file, base_url = (emu.url:gsub("127%.0%.0%.1", "localhost")) }
    assert(c.messages:create(PARAMS))
    c:close()
  end)

  it("without ca_file the system's CAs are used, and they do not know the emulator's", function()
    -- (under `make test-tls` ANTHROPIC_CA_FILE names the run's CA: this emulator has its own)
    assert_tls_failure(emu, {})
  end)

  -- libcurl keeps a parsed CA bundle for the next connections only when no CA directory is set;
  -- Debian's defaults set both, so every new connection read and parsed the whole bundle again
  -- (about 15 ms inside one step of a host's frame: docs/embedding.md). And an https client loads
  -- the bundle when it is made (a warm-up handshake on loopback), not in its first request's step.
  -- Read bytes from /proc/self/io: new() reads the bundle, no request reads it again.
  local BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
  local bundle = io.open(BUNDLE, "rb")
  local bundle_size = bundle and bundle:seek("end")
  if bundle then bundle:close() end
  local it_bundle = (bundle_size and bundle_size > 50000 and io.open("/proc/self/io")) and it or pending
  it_bundle("the system's CA bundle is read once, by new(), not by each new connection", function()
    local script = [[
      local anthropic = require "anthropic"
      local function rchar()
        local f = assert(io.open("/proc/self/io")); local n = tonumber(f:read("*a"):match("rchar: (%d+)")); f:close()
        return n
      end
      local r0 = rchar()
      local c = anthropic.new { max_retries = 0 }
      local reads = { rchar() - r0 }
      local P = { model = "claude-opus-4-6", max_tokens = 8, messages = { { role = "user", content = "hi" } } }
      for i = 1, 3 do
        r0 = rchar()
        local _, err = c.messages:create(P) -- a new connection each time: the handshake fails
        reads[#reads + 1] = rchar() - r0
        assert(err and err.kind == "tls", tostring(err))
      end
      print(table.concat(reads, " "))
    ]]
    local out, err, status = util.run({ util.LUA, "-e", script },
      { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_CA_FILE = false, ANTHROPIC_CA_PATH = false })
    assert.equal(0, status, out .. err)
    local made, first, second, third = out:match("^(%d+) (%d+) (%d+) (%d+)")
    assert.is_true(tonumber(made) >= bundle_size, "new() reads the bundle: " .. out)
    assert.is_true(tonumber(first) < bundle_size / 4, "the first request read it: " .. out)
    assert.is_true(tonumber(second) < bundle_size / 4, "the second read it again: " .. out)
    assert.is_true(tonumber(third) < bundle_size / 4, "the third read it again: " .. out)
  end)

  it("engine:warm_tls loads a CA file, not a CA directory (libcurl caches none then)", function()
    local core = require "anthropic.core"
    local e = core.engine()
    assert.is_false(e:warm_tls(nil, other_ca))
    assert.is_true(e:warm_tls(emu.ca_file))
    assert.is_true(e:warm_tls(emu.ca_file)) -- already loaded
    assert.is_true(e:warm_tls(other_ca .. "/ca.pem"))
    assert.is_true(e:warm_tls()) -- the system's
  end)

  it("an https client's warm-up sends nothing to its server, and its requests work as before", function()
    emu:reset()
    local c = client { ca_file = emu.ca_file }
    assert.equal(0, emu:connections().total)
    assert.equal(0, #emu:log().requests)
    local msg = assert(c.messages:create(PARAMS))
    assert.equal("message", msg.type)
    assert.equal(1, emu:connections().total)
    c:close()
  end)

  it("a stream fails the same way, before its first event", function()
    local c = client { ca_file = other_ca .. "/ca.pem", max_retries = 2 }
    local s, err = c.messages:stream(PARAMS)
    if s then
      local msg
      msg, err = s:final()
      assert.is_nil(msg)
      s:close()
    end
    c:close()
    assert.equal("tls", err.kind)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
  end)

  it("the pooled handles and connections of the shared engine do not carry one client's CAs to another", function()
    local good = client { ca_file = emu.ca_file }
    assert(good.messages:create(PARAMS))
    -- a kept-alive connection verified with the right CA is not lent to a client with another CA
    assert_tls_failure(emu, { ca_file = other_ca .. "/ca.pem" })
    assert_tls_failure(emu, {})
    -- and the handle that failed goes back to the right CA for the next client
    assert(good.messages:create(PARAMS))
    good:close()
  end)

  it("the admin client takes the same options", function()
    local admin_key = emulator.make_key("admin01")
    emu:add_key(admin_key, "admin")
    local a = anthropic.admin { api_key = admin_key, base_url = emu.url, ca_file = emu.ca_file }
    local page, err = a.api_keys:list { limit = 1 }:all()
    assert.is_nil(err)
    assert.is_table(page)
    a:close()
    a = anthropic.admin { api_key = admin_key, base_url = emu.url, ca_file = other_ca .. "/ca.pem", max_retries = 1 }
    page, err = a.api_keys:list { limit = 1 }:all()
    a:close()
    assert.is_nil(page)
    assert.equal("tls", err.kind)
    assert.equal(1, err.attempts)
  end)

  it("a plain-http client at the https port gets an error, and the emulator goes on", function()
    local c = client { base_url = (emu.url:gsub("^https:", "http:")), max_retries = 0, timeout = 5 }
    local msg, err = c.messages:create(PARAMS)
    c:close()
    assert.is_nil(msg)
    assert.is_true(anthropic.is_error(err))
    c = client { ca_file = emu.ca_file }
    assert(c.messages:create(PARAMS))
    c:close()
  end)
end)

describe("ca_file and ca_path", function()
  local function refused(opts, ctor)
    local ok, err = pcall(ctor or anthropic.new, opts)
    assert.is_false(ok)
    assert.equal("config", err.kind) -- a bad option is a config error
    return err.message
  end

  it("must name a readable file / directory, said at once", function()
    local dir = util.tmpdir()
    util.write(dir .. "/ca.pem", "not a certificate", "600")
    for _, ctor in ipairs { anthropic.new, anthropic.admin } do
      assert.matches("^option 'ca_file' for anthropic%.%a+ cannot be read %(.*No such file or directory%); "
        .. "give a readable PEM file of CA certificates$", refused({ ca_file = dir .. "/nothing.pem" }, ctor))
      assert.matches("^option 'ca_file' for anthropic%.%a+ is not a file %(Is a directory%)",
        refused({ ca_file = dir }, ctor))
      assert.matches("^option 'ca_path' for anthropic%.%a+ is not a readable directory; give a directory of "
        .. "CA certificates", refused({ ca_path = dir .. "/ca.pem" }, ctor))
      assert.matches("^option 'ca_file' for anthropic%.%a+ must be a string %(got number%)",
        refused({ ca_file = 1 }, ctor))
      assert.matches("^option 'ca_path' for anthropic%.%a+ must not be empty", refused({ ca_path = "" }, ctor))
    end
    anthropic.new({ ca_file = dir .. "/ca.pem" }):close() -- readable: what is inside is the handshake's
    util.rmdir(dir)
  end)

  it("a file that is not a CA certificate fails the request with kind tls", function()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key }, tls = true }
    local dir = util.tmpdir()
    util.write(dir .. "/ca.pem", "not a certificate", "600")
    local c = anthropic.new { api_key = key, base_url = emu.url, ca_file = dir .. "/ca.pem", max_retries = 2 }
    local msg, err = c.messages:create(PARAMS)
    c:close()
    emu:stop()
    util.rmdir(dir)
    assert.is_nil(msg)
    assert.equal("tls", err.kind)
    assert.equal(1, err.attempts)
  end)

  it("come from ANTHROPIC_CA_FILE / ANTHROPIC_CA_PATH when neither option is given", function()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key }, tls = true }
    local code = [[
      local anthropic = require "anthropic"
      local ok, c = pcall(anthropic.new, { base_url = os.getenv("URL") })
      if not ok then print(tostring(c)) return end
      local msg, err = c.messages:create { model = "claude-opus-4-6", max_tokens = 8,
        messages = { { role = "user", content = "hi" } } }
      print(msg and msg.type or err.kind)
    ]]
    local base = { ANTHROPIC_API_KEY = key, URL = emu.url, ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_CA_PATH = false }
    local function run(env)
      for k, v in pairs(base) do if env[k] == nil then env[k] = v end end
      local out, err, status = util.run_lua(code, env)
      assert.equal(0, status, err)
      return out
    end
    assert.equal("message\n", run { ANTHROPIC_CA_FILE = emu.ca_file })
    assert.equal("tls\n", run { ANTHROPIC_CA_FILE = false })
    assert.equal("tls\n", run { ANTHROPIC_CA_FILE = "" }) -- empty: unset
    assert.matches("^anthropic: config error: anthropic%.new: ca_file %('/nonexistent/ca%.pem', from "
      .. "ANTHROPIC_CA_FILE%) cannot be read", run { ANTHROPIC_CA_FILE = "/nonexistent/ca.pem" })
    assert.matches("^anthropic: config error: anthropic%.new: ca_path %('/nonexistent', from "
      .. "ANTHROPIC_CA_PATH%) is not a readable directory",
      run { ANTHROPIC_CA_FILE = false, ANTHROPIC_CA_PATH = "/nonexistent" })
    emu:stop()
  end)
end)

describe("anthropic emulator --tls", function()
  it("refuses --tls-dir without --tls, and --tls-dir without a directory (usage errors)", function()
    local out, err, status = util.run { "lua5.4", "bin/anthropic", "emulator", "--tls-dir", "/tmp" }
    assert.equal(2, status)
    assert.equal("", out)
    assert.matches("%-%-tls%-dir goes with %-%-tls", err)
    out, err, status = util.run { "lua5.4", "bin/anthropic", "emulator", "--tls", "--tls-dir" }
    assert.equal(2, status)
    assert.equal("", out)
    assert.matches("%-%-tls%-dir needs a directory", err)
  end)

  it("alone, makes a CA and certificate in a temp directory of its own, removed when it exits", function()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key }, tls = "self" }
    local dir = emu.ca_file:match("^(.*)/ca%.pem$")
    assert.matches("/anthropic%-tls%.%w+$", dir)
    assert.is_truthy(tls.exists(dir .. "/cert.pem"))
    assert.is_falsy(tls.exists(dir .. "/ca.key"), "the CA's key outlived the signing")
    local c = anthropic.new { api_key = key, base_url = emu.url, ca_file = emu.ca_file }
    assert(c.messages:create(PARAMS))
    c:close()
    emu:shutdown()
    emu:stop()
    assert.is_falsy(tls.exists(dir .. "/ca.pem"), "the emulator left its certificates behind")
  end)

  it("makes its certificate in --tls-dir when absent, and serves it", function()
    local dir = util.tmpdir()
    local key = emulator.make_key("api03")
    local emu = emulator.start { keys = { key }, tls_dir = dir }
    assert.equal(dir .. "/ca.pem", emu.ca_file)
    assert.is_truthy(tls.exists(dir .. "/cert.pem"))
    assert.is_falsy(tls.exists(dir .. "/ca.key"), "the CA's key outlived the signing")
    local c = anthropic.new { api_key = key, base_url = emu.url, ca_file = emu.ca_file }
    assert(c.messages:create(PARAMS))
    c:close()
    emu:stop()
    util.rmdir(dir)
  end)
end)
