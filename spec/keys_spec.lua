-- Key sources, their precedence, validation and hints (design section 4).
local core = require "anthropic.core"
local anthropic = require "anthropic"
local util = require "helpers.util"

local make_key = require("helpers.emulator").make_key

describe("keys", function()
  local dir, key, admin_key
  before_each(function()
    dir = util.tmpdir()
    key = make_key("api03")
    admin_key = make_key("admin01")
  end)
  after_each(function() util.rmdir(dir) end)

  local function load(opts)
    opts.env = opts.env or {}
    return core.load_key(opts)
  end

  it("keeps an api_key in C and shows only a hint", function()
    local k = assert(load { api_key = key })
    assert.equal(key:sub(1, 16) .. "..." .. key:sub(-4), k:hint())
    assert.equal("api_key", k:source())
    assert.equal("x-api-key", k:scheme())
    assert.equal("api", k:kind())
    assert.equal("anthropic.key (" .. k:hint() .. ")", tostring(k))
    util.assert_no_leak(tostring(k) .. k:hint() .. k:source(), key, "the key object")
  end)

  it("close is idempotent, and a closed key says so", function()
    local k = assert(load { api_key = key })
    k:close()
    k:close()
    assert.equal("anthropic.key (closed)", tostring(k))
    assert.has_error(function() k:hint() end, "attempt to use a closed key")
  end)

  it("trims surrounding whitespace and refuses inner whitespace or control bytes", function()
    local k = assert(load { api_key = "  " .. key .. "\n" })
    assert.equal(key:sub(-4), k:hint():sub(-4))
    local nk, msg, kind = load { api_key = key:sub(1, 40) .. " " .. key:sub(41) }
    assert.is_nil(nk)
    assert.equal("key", kind)
    assert.matches("whitespace", msg)
    util.assert_no_leak(msg, key, "the whitespace error")
    nk, msg = load { api_key = key:sub(1, 40) .. "\1" .. key:sub(41) }
    assert.is_nil(nk)
    assert.matches("control", msg)
    nk, msg = load { api_key = "" }
    assert.is_nil(nk)
    assert.matches("empty", msg)
  end)

  it("reads a key file, and refuses one readable by group or others with the chmod that fixes it", function()
    local path = util.write(dir .. "/key", "\n" .. key .. "\n", "600")
    local k = assert(load { key_file = path })
    assert.equal("key_file", k:source())
    assert.equal(key:sub(-4), k:hint():sub(-4))
    for _, mode in ipairs { "640", "604", "644" } do
      util.write(path, key .. "\n", mode)
      local nk, msg, kind = load { key_file = path }
      assert.is_nil(nk)
      assert.equal("key", kind)
      assert.matches("chmod 600 " .. path, msg, 1, true)
      util.assert_no_leak(msg, key, "the permission error")
    end
    local nk, msg = load { key_file = dir .. "/missing" }
    assert.is_nil(nk)
    assert.matches("missing", msg)
  end)

  it("runs a key command without a shell, with a timeout, and never captures its stderr", function()
    local k = assert(load { key_command = { "printf", "%s\n", key } })
    assert.equal("key_command", k:source())
    assert.equal(key:sub(-4), k:hint():sub(-4))
    -- a shell would expand this; without one it is a literal argument
    local nk, msg = load { key_command = { "printf", "sk-ant-api03-$HOME" .. key:sub(20) } }
    assert.is_not_nil(nk, msg)
    assert.equal("sk-ant-api03-$HO", nk:hint():sub(1, 16))
    -- stderr goes to our stderr (a password prompt must reach the user), never into the error
    nk, msg = load { key_command = { "sh", "-c", "echo stderr-marker-7f3a >&2; exit 3" } }
    assert.is_nil(nk)
    assert.matches("status 3", msg)
    assert.is_nil(msg:find("stderr-marker-7f3a", 1, true))
    nk, msg = load { key_command = { "sleep", "5" }, key_command_timeout = 0.2 }
    assert.is_nil(nk)
    assert.matches("timed out", msg)
    nk, msg = load { key_command = { dir .. "/no-such-program" } }
    assert.is_nil(nk)
    assert.matches("cannot run", msg)
    assert.has_error(function() load { key_command = "pass show x" } end)
  end)

  it("calls key_fn and checks what it returns", function()
    local k = assert(load { key_fn = function() return key end })
    assert.equal("key_fn", k:source())
    local nk, msg = load { key_fn = function() return 42 end }
    assert.is_nil(nk)
    assert.matches("must return the key as a string", msg)
    nk, msg = load { key_fn = function() error("vault says " .. key) end }
    assert.is_nil(nk)
    assert.matches("key_fn failed", msg)
    util.assert_no_leak(msg, key, "the key_fn error")
  end)

  it("takes the first source given, in the documented order", function()
    local path = util.write(dir .. "/key", make_key() .. "\n", "600")
    local cmd = { "printf", make_key() }
    local fn = function() return make_key() end
    local dotenv = util.write(dir .. "/.env", "ANTHROPIC_API_KEY=" .. make_key() .. "\n", "600")
    local all = { api_key = key, key_file = path, key_command = cmd, key_fn = fn, dotenv = dotenv,
      env = { "ANTHROPIC_API_KEY" } }
    local order = { "api_key", "key_file", "key_command", "key_fn" }
    for _, source in ipairs(order) do
      local k = assert(core.load_key(all))
      assert.equal(source, k:source())
      all[source] = nil
    end
    local k = assert(core.load_key(all))
    assert.equal("dotenv:ANTHROPIC_API_KEY", k:source())
  end)

  it("reads a dotenv file after the environment", function()
    local path = util.write(dir .. "/.env",
      "# comment\r\nexport OTHER='x'\r\nANTHROPIC_API_KEY=\"" .. key .. "\" # inline\r\n", "600")
    local k = assert(load { dotenv = path, env = { "ANTHROPIC_LUA_TEST_UNSET_VAR", "ANTHROPIC_API_KEY" } })
    assert.equal(key:sub(-4), k:hint():sub(-4))
    util.write(path, "ANTHROPIC_API_KEY=" .. key .. "\n", "644")
    local nk, msg = load { dotenv = path, env = { "ANTHROPIC_API_KEY" } }
    assert.is_nil(nk)
    assert.matches("chmod 600", msg)
    util.write(path, "ANTHROPIC_API_KEY=\"unterminated\n", "600")
    nk, msg = load { dotenv = path, env = { "ANTHROPIC_API_KEY" } }
    assert.is_nil(nk)
    assert.matches(":1", msg)
  end)

  it("refuses an admin key on the Messages client and a regular key on the admin client", function()
    local nk, msg, kind = load { api_key = admin_key }
    assert.is_nil(nk)
    assert.equal("key", kind)
    assert.matches("Admin API key", msg)
    util.assert_no_leak(msg, admin_key, "the wrong-kind error")
    nk, msg = load { api_key = key, admin = true }
    assert.is_nil(nk)
    assert.matches("not an Admin API key", msg)
    assert.equal("admin", assert(load { api_key = admin_key, admin = true }):kind())
  end)

  it("lists the sources it tried when there is no key", function()
    local nk, msg, kind = load { env = { "ANTHROPIC_LUA_TEST_UNSET_VAR" } }
    assert.is_nil(nk)
    assert.equal("key", kind)
    for _, s in ipairs { "api_key", "key_file", "key_command", "key_fn", "ANTHROPIC_LUA_TEST_UNSET_VAR" } do
      assert.matches(s, msg, 1, true)
    end
  end)

  describe("from the environment (child processes)", function()
    local probe = [[
      local anthropic = require "anthropic"
      local c = anthropic.new(%s)
      local hint, err = c:key_hint()
      if hint then
        print(c._transport._key:source(), c._transport._key:scheme(), hint)
      else
        print("error", err.kind, err.message)
      end
    ]]
    it("uses ANTHROPIC_API_KEY, then ANTHROPIC_AUTH_TOKEN as a Bearer token", function()
      local out = util.run_lua(probe:format("{}"), { ANTHROPIC_API_KEY = key, ANTHROPIC_AUTH_TOKEN = false }, dir)
      assert.matches("^env:ANTHROPIC_API_KEY\tx%-api%-key\t", out)
      util.assert_no_leak(out, key, "stdout")
      out = util.run_lua(probe:format("{}"), { ANTHROPIC_API_KEY = false, ANTHROPIC_AUTH_TOKEN = key }, dir)
      assert.matches("^env:ANTHROPIC_AUTH_TOKEN\tbearer\t", out)
      out = util.run_lua(probe:format("{ api_key = '" .. make_key() .. "' }"), { ANTHROPIC_API_KEY = key }, dir)
      assert.matches("^api_key\t", out)
    end)

    it("uses ANTHROPIC_ADMIN_KEY for the admin client only", function()
      local admin_probe = [[
        local core = require "anthropic.core"
        local k, msg = core.load_key { env = { "ANTHROPIC_ADMIN_KEY" }, admin = true }
        print(k and k:source() or msg)
      ]]
      local out = util.run_lua(admin_probe, { ANTHROPIC_ADMIN_KEY = admin_key }, dir)
      assert.matches("^env:ANTHROPIC_ADMIN_KEY", out)
      out = util.run_lua(probe:format("{}"),
        { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_API_KEY = false, ANTHROPIC_AUTH_TOKEN = false }, dir)
      assert.matches("^error\tkey\tno API key found", out)
    end)

    it("says which variable holds a malformed key", function()
      local out = util.run_lua(probe:format("{}"),
        { ANTHROPIC_API_KEY = key .. " x", ANTHROPIC_AUTH_TOKEN = false }, dir)
      assert.matches("ANTHROPIC_API_KEY: .*whitespace", out)
      util.assert_no_leak(out, key, "stdout")
    end)
  end)

  it("loads lazily: a client without a key fails at the first request with kind = 'key'", function()
    local c = anthropic.new { base_url = "http://127.0.0.1:9", api_key = admin_key }
    local msg, err = c.messages:create { model = "m", max_tokens = 1, messages = { { role = "user", content = "x" } } }
    assert.is_nil(msg)
    assert.equal("key", err.kind)
    assert.is_true(anthropic.is_error(err))
    util.assert_no_leak(tostring(err), admin_key, "tostring(err)")
  end)

  it("scrubs key bytes and any sk-ant- token from strings", function()
    local k = assert(load { api_key = key })
    local s = core.scrub("before " .. key .. " after sk-ant-api03-Other_Token-1 end", k)
    assert.equal("before [redacted] after [redacted] end", s)
  end)
end)
