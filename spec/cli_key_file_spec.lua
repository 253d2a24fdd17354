-- The CLI's global --key-file FILE and --admin-key-file FILE (issue 17): every command reads its
-- key from the file, before the environment, with the library's key file rules (a regular file,
-- mode 600 or 400); the key is never in argv, the output or an error (a leak scan of every run).
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("anthropic --key-file / --admin-key-file", function()
  local emu, key, admin_key, dir
  setup(function()
    key = emulator.make_key("api03")
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { key, admin_key } }
    emu:add_key(admin_key, "admin")
    dir = util.tmpdir()
    util.write(dir .. "/api.key", key .. "\n", "600")
    util.write(dir .. "/admin.key", admin_key .. "\n", "400")
    util.write(dir .. "/open.key", key .. "\n", "644")
  end)
  teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)

  -- run `anthropic ARGS...` with no key in the environment unless env gives one
  local function cli(args, env)
    local e = { ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_API_KEY = false, ANTHROPIC_AUTH_TOKEN = false,
      ANTHROPIC_ADMIN_KEY = false, ANTHROPIC_CONFIG = false, XDG_CONFIG_HOME = dir, ANTHROPIC_PROFILE = false }
    for k, v in pairs(env or {}) do e[k] = v end
    local argv = { "lua5.4", "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    for _, a in ipairs(argv) do
      util.assert_no_leak(a, key, "argv")
      util.assert_no_leak(a, admin_key, "argv")
    end
    local out, err, code = util.run(argv, e)
    util.assert_no_leak(out .. err, key, "the output of anthropic " .. table.concat(args, " "))
    util.assert_no_leak(out .. err, admin_key, "the output of anthropic " .. table.concat(args, " "))
    return out, err, code
  end

  it("gives a Messages command its key, before the command or after it, and wins over the environment", function()
    emu:clear_log()
    local out, err, code = cli { "--key-file", dir .. "/api.key", "count-tokens", "hello there" }
    assert.equal(0, code, err)
    assert.matches("^%d+\n$", out)
    out, err, code = cli { "models", "--key-file=" .. dir .. "/api.key", "--json" }
    assert.equal(0, code, err)
    assert.matches('"id":"claude-opus-4-6"', out, 1, true)
    -- an explicit option comes before the environment (docs/profiles.md#precedence)
    local revoked = emulator.make_key("api03")
    out, err, code = cli({ "--key-file", dir .. "/api.key", "count-tokens", "hi" }, { ANTHROPIC_API_KEY = revoked })
    assert.equal(0, code, err)
    util.assert_no_leak(out .. err, revoked, "the output")
    local sent = 0
    for _, r in ipairs(emu:log().requests) do
      if r.path:find("^/v1/") then
        sent = sent + 1
        assert.equal(key:sub(1, 16) .. "..." .. key:sub(-4), r.headers["x-api-key"]) -- (the log shows hints)
      end
    end
    assert.equal(3, sent)
  end)

  it("gives an Admin API command its key with --admin-key-file", function()
    local out, err, code = cli { "--admin-key-file", dir .. "/admin.key", "workspaces", "list", "--json" }
    assert.equal(0, code, err)
    assert.matches('"Production"', out)
    -- --key-file is the Messages key: an admin command does not take it
    local _
    _, err, code = cli { "--key-file", dir .. "/api.key", "workspaces", "list" }
    assert.equal(1, code)
    assert.matches("no Admin API key found", err, 1, true)
    assert.matches("--admin-key-file FILE", err, 1, true)
  end)

  it("refuses a key file others can read, a missing one, and a flag without a path, sending nothing", function()
    emu:clear_log()
    local _, err, code = cli { "--key-file", dir .. "/open.key", "count-tokens", "hi" }
    assert.equal(1, code)
    assert.matches("readable by group/others", err, 1, true)
    assert.matches("chmod 600", err, 1, true)
    -- a file holding something that is not a key: refused, and what it holds is not echoed
    local junk = "sk-ant-api03-" .. string.rep("Zq9", 12) .. " trailing words"
    util.write(dir .. "/junk.key", junk .. "\n", "600")
    _, err, code = cli { "--key-file", dir .. "/junk.key", "count-tokens", "hi" }
    assert.equal(1, code)
    util.assert_no_leak(err, junk, "the error for a malformed key file")
    util.assert_no_leak(err, string.rep("Zq9", 12), "the error for a malformed key file")
    _, err, code = cli { "--key-file", dir .. "/missing.key", "count-tokens", "hi" }
    assert.equal(1, code)
    assert.matches(dir .. "/missing.key", err, 1, true)
    _, err, code = cli { "count-tokens", "hi", "--key-file" }
    assert.equal(2, code)
    assert.matches("--key-file needs a file's path", err, 1, true)
    _, err, code = cli { "--admin-key-file=", "keys", "list" }
    assert.equal(2, code)
    assert.matches("--admin-key-file needs a file's path", err, 1, true)
    assert.same({}, emu:log().requests)
  end)

  it("is the admin key of doctor's workspace check, and listed in the help", function()
    local out, err, code = cli { "--key-file", dir .. "/api.key", "--admin-key-file", dir .. "/admin.key", "doctor",
      "--json" }
    assert.is_true(code == 0 or code == 1, err)
    local doc = require("cjson").decode(out)
    local by = {}
    for _, c in ipairs(doc.checks) do by[c.check] = c end
    assert.equal("PASS", by["authentication"].status)
    assert.is_not.equal("WARN", by["workspace"].status, by["workspace"].message)
    out = cli { "--help" }
    assert.matches("--key-file FILE", out, 1, true)
    assert.matches("--admin-key-file FILE", out, 1, true)
  end)
end)
