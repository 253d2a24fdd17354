-- NUL bytes where C would take a string as ending (issue 19): in a key (the key would be cut short
-- and a shorter one sent), a key file's path, header text, a URL, a request's header lines.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("NUL bytes", function()
  local key
  setup(function() key = emulator.make_key("api03") end)

  it("in api_key are a config error at anthropic.new that never shows the key", function()
    for _, ctor in ipairs { anthropic.new, anthropic.admin } do
      local cut = key:sub(1, 40) .. "\0" .. key:sub(41)
      local ok, err = pcall(ctor, { api_key = cut, base_url = "http://127.0.0.1:1" })
      assert.is_false(ok)
      assert.equal("config", err.kind)
      assert.matches("option 'api_key' contains a NUL byte at byte 41; ", err.message)
      util.assert_no_leak(tostring(err) .. table.concat(util.strings(err), "\n"), key, "the NUL error")
      ok, err = pcall(ctor, { api_key = key .. "\0" })
      assert.is_false(ok)
      assert.equal("config", err.kind)
    end
  end)

  it("in a key reaching the C core are refused, not cut short there", function()
    local k, msg, kind = core.load_key { api_key = key:sub(1, 40) .. "\0" .. key:sub(41) }
    assert.is_nil(k)
    assert.equal("key", kind)
    assert.matches("control byte at byte 41", msg)
    util.assert_no_leak(msg, key, "the key error")
    k, msg = core.load_key { key_file = "/etc/hostname\0/elsewhere" }
    assert.is_nil(k)
    assert.matches("NUL byte at byte 14", msg)
    -- a key_fn result, a key file and a dotenv file go through the same check
    k, msg = core.load_key { key_fn = function() return key .. "\0tail" end }
    assert.is_nil(k)
    assert.matches("control byte", msg)
    local dir = util.tmpdir()
    local file = util.write(dir .. "/key", key:sub(1, 40) .. "\0" .. key:sub(41) .. "\n", "600")
    -- (a name of its own: the environment has no value for it, so the dotenv file's is read)
    local env = util.write(dir .. "/.env", "NUL_SPEC_KEY=" .. key:sub(1, 40) .. "\0" .. key:sub(41) .. "\n", "600")
    local cases = { { key_file = file }, { env = { "NUL_SPEC_KEY" }, dotenv = env } }
    for _, opts in ipairs(cases) do
      k, msg = core.load_key(opts)
      assert.is_nil(k)
      assert.matches("control byte at byte 41", msg)
      util.assert_no_leak(msg, key, "the key error")
    end
    util.rmdir(dir)
  end)

  it("in header text, a URL or a request header line are refused", function()
    for _, opts in ipairs { { user_agent = "agent\0x" }, { beta = { "b\0" } }, { headers = { ["x-team"] = "a\0b" } },
      { user_agent = "a\r\nx-api-key: other" }, { base_url = "http://127.0.0.1:1/\0" } } do
      local ok, msg = pcall(anthropic.new, opts)
      assert.is_false(ok)
      assert.matches("control byte %(", tostring(msg))
    end
    local engine = require("anthropic.transport").engine()
    assert.has_error(function() engine:submit { method = "GET", url = "http://127.0.0.1:1/\0x" } end,
      "request field 'url' contains a NUL byte at byte 20")
    assert.has_error(function()
      engine:submit { method = "GET", url = "http://127.0.0.1:1/", headers = { "x-a: b\0c" } }
    end, "request headers[1] contains a NUL byte at byte 7")
  end)
end)
