-- Profiles (profiles.lua): the config file, its checks (file:line, no key, nobody else writes
-- it), the choice of a profile and the precedence option > environment > profile > default,
-- the workspace check with an admin key, and `anthropic profiles` / `--profile`.
local anthropic = require "anthropic"
local profiles = require "anthropic.profiles"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local PROMPT = { model = "claude-opus-4-5", max_tokens = 5, messages = { { role = "user", content = "hi" } } }

describe("profiles", function()
  local dir, server, key, other, admin_key

  lazy_setup(function()
    key, other, admin_key = emulator.make_key("api03"), emulator.make_key("api03"), emulator.make_key("admin01")
    server = emulator.start { keys = { key, other, admin_key } }
  end)
  lazy_teardown(function() server:stop() end)
  before_each(function()
    server:reset()
    dir = util.tmpdir()
    util.write(dir .. "/prod.key", key .. "\n", "600")
    util.write(dir .. "/other.key", other .. "\n", "600")
    util.write(dir .. "/admin.key", admin_key .. "\n", "600")
  end)
  after_each(function() util.rmdir(dir) end)

  local function config(text, mode)
    return util.write(dir .. "/config.lua", text, mode or "600")
  end

  local function load_error(text, mode)
    local c, err = profiles.load(config(text, mode))
    assert.is_nil(c)
    assert.equal("config", err.kind)
    return err.message
  end

  describe("the config file", function()
    it("declares profiles and a default", function()
      local c = assert(profiles.load(config(string.format([[
profile "prod" { key_file = %q, workspace = "Production", spend_limit = { usd = 50 }, rate_limit = "build" }
profile "dev" { default = true, key_command = { "cat", %q }, base_url = "http://127.0.0.1:1", timeout = 30 }
]], dir .. "/prod.key", dir .. "/other.key"))))
      assert.same({ "prod", "dev" }, c.order)
      assert.equal("dev", c.default)
      assert.equal("Production", c.profiles.prod.workspace)
      assert.equal(30, c.profiles.dev.timeout)
      assert.equal(2, c.profiles.dev.line)
    end)

    it("refuses a key's bytes anywhere in it, comments too, without showing them", function()
      local secret = emulator.make_key("api03")
      local msg = load_error('profile "p" {\n  key_file = "x", -- ' .. secret .. '\n}\n')
      assert.matches("config.lua:2: this line holds a key", msg)
      assert.matches("key_file", msg)
      util.assert_no_leak(msg, secret, "the error")
      msg = load_error('profile "p" {\n  api_key = "abc",\n}\n')
      assert.matches("config.lua:2: profile \"p\": api_key is refused; a config file never holds a key", msg)
      msg = load_error('profile "p" { workspace = "' .. string.rep("Ab9_", 12) .. '" }\n')
      assert.matches("config.lua:1: profile \"p\": field 'workspace' holds what looks like a key", msg)
    end)

    it("refuses a file or a directory others can write", function()
      assert.matches("refused: others can write it %(mode 666%): run chmod go%-w ",
        load_error('profile "p" {}\n', "666"))
      assert.matches("refused: others can write it %(mode 620%)", load_error('profile "p" {}\n', "620"))
      config('profile "p" {}\n')
      os.execute("chmod 777 " .. util.sh_quote(dir))
      local c, err = profiles.load(dir .. "/config.lua")
      os.execute("chmod 700 " .. util.sh_quote(dir))
      assert.is_nil(c)
      assert.matches("others can write its directory .* so they could replace it", err.message)
    end)

    it("reports each problem with file:line", function()
      local msg = load_error('profile "a" {\n  timeout = -1,\n  colour = 1,\n}\nprofile "b" { rate_limit = "gold" }\n')
      assert.matches("config.lua:2: profile \"a\": field 'timeout' must be a number of seconds from 0.001", msg)
      assert.matches("config.lua:3: profile \"a\": unknown field 'colour' %(known: admin_key_command", msg)
      assert.matches("config.lua:5: profile \"b\": field 'rate_limit' must be a table { rpm =, itpm =, otpm = }, "
        .. "a tier name or \"auto\"", msg)
      assert.matches("config.lua:3: unknown name 'os' %(a config file can use profile",
        load_error('profile "a" {}\n\nos.exit(1)\n'))
      -- (the parser's own words: LuaJIT quotes '<eof>')
      assert.matches("config.lua:3: unexpected symbol near '?<eof>'?", load_error('profile "a" {}\nprofile "b" {\n'))
      assert.matches('config.lua:2: profile "b": default = true is given twice %(also profile "a", line 1%)',
        load_error('profile "a" { default = true }\nprofile "b" { default = true }\n'))
      assert.matches('config.lua:2: profile "a" is declared twice %(first at line 1%)',
        load_error('profile "a" {}\nprofile "a" {}\n'))
    end)

    it("runs in the sandbox's child process, bounded in time", function()
      assert.matches("config.lua:1: the file ran too long", load_error('while true do end\n'))
    end)
  end)

  describe("anthropic.new{ profile = ... }", function()
    local function file_with_profiles(extra)
      return config(string.format([[
profile "prod" { key_file = %q, base_url = %q, workspace = "Production" %s }
profile "dev" { default = true, key_file = %q, base_url = %q }
profile "broken" { key_file = %q, base_url = %q }
]], dir .. "/prod.key", server.url, extra or "", dir .. "/other.key", server.url, dir .. "/missing.key",
        server.url))
    end

    it("takes the key, base URL and settings of the profile named, or of the default", function()
      local path = file_with_profiles(", spend_limit = { usd = 0.000001 }")
      local c = anthropic.new { config_file = path, profile = "prod" }
      assert.equal(c:key_hint(), (key:sub(1, 16) .. "..." .. key:sub(-4)))
      assert.equal(server.url, c._transport.base_url)
      assert.truthy(c:spend().limit_usd)
      c:close()
      c = anthropic.new { config_file = path }
      assert.equal(c:key_hint(), (other:sub(1, 16) .. "..." .. other:sub(-4)))
      assert(c.messages:create(PROMPT))
      c:close()
    end)

    it("lets options win over the profile, and profile = false use none", function()
      local path = file_with_profiles()
      local c = anthropic.new { config_file = path, profile = "prod", key_file = dir .. "/other.key",
        base_url = "http://127.0.0.1:9" }
      assert.equal(c:key_hint(), (other:sub(1, 16) .. "..." .. other:sub(-4)))
      assert.equal("http://127.0.0.1:9", c._transport.base_url)
      c:close()
      c = anthropic.new { config_file = path, profile = false, api_key = key }
      assert.equal("https://api.anthropic.com", c._transport.base_url)
      c:close()
    end)

    it("names an unknown profile, a missing config file, and a key source that fails", function()
      local path = file_with_profiles()
      local ok, err = pcall(anthropic.new, { config_file = path, profile = "staging" })
      assert.is_false(ok)
      assert.equal("config", err.kind)
      assert.matches("anthropic.new: no profile 'staging' %(option profile%) in .* %(profiles: prod, dev, broken%)",
        err.message)
      ok, err = pcall(anthropic.new, { config_file = dir .. "/none.lua", profile = "prod" })
      assert.is_false(ok)
      assert.matches("option config_file names .*none.lua, which cannot be read", err.message)
      local c = anthropic.new { config_file = path, profile = "broken" }
      local msg, kerr = c.messages:create(PROMPT)
      assert.is_nil(msg)
      assert.equal("key", kerr.kind)
      assert.matches("%(profile broken key_file .*missing.key %(.*config.lua%)%)", kerr.message)
      c:close()
    end)

    it("checks the profile's workspace with an admin key before sending", function()
      local made = server:create_api_keys { workspace_id = "Production", name = "prod-app" }
      util.write(dir .. "/prod.key", made.keys[1] .. "\n", "600")
      local path = file_with_profiles(string.format(", admin_key_file = %q", dir .. "/admin.key"))
      local c = anthropic.new { config_file = path, profile = "prod" }
      assert(c.messages:create(PROMPT))
      assert.equal("checked", c._transport.workspace_status)
      c:close()
      server:clear_log() -- a second client with the same key: not asked again
      c = anthropic.new { config_file = path, profile = "prod" }
      assert(c.messages:create(PROMPT))
      for _, r in ipairs(server:log().requests) do
        assert.is_nil(tostring(r.path):find("/v1/organizations/", 1, true))
      end
      assert.equal(1, #server:log().requests)
      c:close()
      -- the key of the default workspace in a profile that says Production
      util.write(dir .. "/prod.key", key .. "\n", "600")
      server:clear_log()
      c = anthropic.new { config_file = path, profile = "prod" }
      local msg, err = c.messages:create(PROMPT)
      assert.is_nil(msg)
      assert.equal("config", err.kind)
      assert.matches('profile prod declares workspace = "Production", but the key sk%-ant%-api03%-.-%.%.%..- %(profile '
        .. 'prod key_file .*%) belongs to workspace "Default" %(%(default workspace%)%); nothing was sent', err.message)
      util.assert_no_leak(err.message, key, "the error")
      local requests = server:log().requests
      local looked_up = false
      for _, r in ipairs(requests) do
        assert.is_nil(tostring(r.path):find("/v1/messages", 1, true))
        looked_up = looked_up or tostring(r.path):find("/v1/organizations/api_keys", 1, true) ~= nil
      end
      assert.is_true(looked_up) -- (the admin key's look-up is all that was sent)
      c:close()
    end)

    it("without an admin key, sends and says the workspace is unchecked", function()
      local c = anthropic.new { config_file = file_with_profiles(), profile = "prod" }
      assert(c.messages:create(PROMPT))
      assert.equal("unchecked (no admin key)", c._transport.workspace_status)
      c:close()
    end)
  end)

  describe("the environment", function()
    local function run(code, env)
      local out, err, status = util.run_lua("local anthropic = require 'anthropic'\n" .. code, env)
      assert.equal(0, status, err)
      return out
    end

    it("ANTHROPIC_CONFIG and ANTHROPIC_PROFILE choose; ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL beat the profile",
      function()
        local path = config(string.format('profile "prod" { key_file = %q, base_url = "http://127.0.0.1:7" }\n'
          .. 'profile "dev" { default = true, key_file = %q }\n', dir .. "/prod.key", dir .. "/other.key"))
        local code = "local c = anthropic.new() io.write(c:key_hint(), ' ', c._transport.base_url, ' ', "
          .. "tostring(c._transport.key_origin))"
        local hint = function(k) return k:sub(1, 16) .. "..." .. k:sub(-4) end
        local out = run(code, { ANTHROPIC_CONFIG = path, ANTHROPIC_PROFILE = "prod", ANTHROPIC_API_KEY = false,
          ANTHROPIC_BASE_URL = false })
        assert.equal(hint(key) .. " http://127.0.0.1:7 profile prod key_file " .. dir .. "/prod.key (" .. path .. ")",
          out)
        out = run(code, { ANTHROPIC_CONFIG = path, ANTHROPIC_PROFILE = false, ANTHROPIC_API_KEY = false,
          ANTHROPIC_BASE_URL = false })
        assert.matches("^" .. hint(other):gsub("%p", "%%%0") .. " https://api.anthropic.com profile dev", out)
        out = run(code, { ANTHROPIC_CONFIG = path, ANTHROPIC_PROFILE = "prod", ANTHROPIC_API_KEY = other,
          ANTHROPIC_BASE_URL = "http://127.0.0.1:8" })
        assert.equal(hint(other) .. " http://127.0.0.1:8 environment ANTHROPIC_API_KEY (before profile prod's "
          .. "key_file)", out)
        -- the option still beats the environment
        out = run("local c = anthropic.new { profile = 'dev' } io.write(c._transport.base_url)",
          { ANTHROPIC_CONFIG = path, ANTHROPIC_PROFILE = "prod", ANTHROPIC_BASE_URL = false })
        assert.equal("https://api.anthropic.com", out)
      end)

    it("finds the file under XDG_CONFIG_HOME, else HOME", function()
      os.execute("mkdir -p " .. util.sh_quote(dir .. "/xdg/anthropic"))
      util.write(dir .. "/xdg/anthropic/config.lua",
        'profile "x" { default = true, base_url = "http://127.0.0.1:5" }\n')
      local code = "io.write(anthropic.new()._transport.base_url)"
      assert.equal("http://127.0.0.1:5", run(code, { XDG_CONFIG_HOME = dir .. "/xdg", ANTHROPIC_CONFIG = false,
        ANTHROPIC_PROFILE = false, ANTHROPIC_BASE_URL = false }))
      os.execute("mkdir -p " .. util.sh_quote(dir .. "/home/.config"))
      os.execute("mv " .. util.sh_quote(dir .. "/xdg/anthropic") .. " " .. util.sh_quote(dir .. "/home/.config/"))
      assert.equal("http://127.0.0.1:5", run(code, { HOME = dir .. "/home", XDG_CONFIG_HOME = false,
        ANTHROPIC_CONFIG = false, ANTHROPIC_PROFILE = false, ANTHROPIC_BASE_URL = false }))
      local out, err, status = util.run_lua("require('anthropic').new()", { ANTHROPIC_CONFIG = dir .. "/nope.lua" })
      assert.equal(1, status)
      assert.matches("ANTHROPIC_CONFIG names .*nope.lua, which cannot be read", err)
      assert.equal("", out)
      out, err, status = util.run_lua("require('anthropic').new()", { HOME = dir .. "/empty",
        XDG_CONFIG_HOME = false, ANTHROPIC_CONFIG = false, ANTHROPIC_PROFILE = "prod" })
      assert.equal(1, status)
      assert.equal("", out)
      assert.matches("profile 'prod' is asked for %(ANTHROPIC_PROFILE%), but there is no config file "
        .. "%(.*empty/%.config/anthropic/config%.lua%)", err)
    end)
  end)

  describe("the CLI", function()
    it("anthropic profiles lists each profile's key source and hint, never the key", function()
      local path = config(string.format('profile "prod" { key_file = %q, workspace = "Production" }\n'
        .. 'profile "dev" { default = true, key_command = { "cat", %q } }\n', dir .. "/prod.key", dir .. "/other.key"))
      local out, err, status = util.run({ "lua5.4", "bin/anthropic", "profiles" }, { ANTHROPIC_CONFIG = path,
        ANTHROPIC_API_KEY = false, ANTHROPIC_PROFILE = false })
      assert.equal(0, status, err)
      util.assert_no_leak(out .. err, key, "profiles output")
      util.assert_no_leak(out .. err, other, "profiles output")
      assert.matches("prod%s+key_file " .. (dir .. "/prod.key"):gsub("%p", "%%%0") .. "%s+"
        .. key:sub(1, 16):gsub("%p", "%%%0"), out)
      assert.matches("%*%s+dev%s+key_command cat", out)
      out, err, status = util.run({ "lua5.4", "bin/anthropic", "profiles", "--json" }, { ANTHROPIC_CONFIG = path })
      assert.equal(0, status, err)
      local doc = require("anthropic.json").decode(out)
      assert.equal("dev", doc.default)
      assert.equal("Production", doc.profiles[1].workspace)
    end)

    it("--profile chooses the profile of any command", function()
      local path = config(string.format('profile "prod" { key_file = %q, base_url = %q }\n', dir .. "/prod.key",
        server.url))
      local out, err, status = util.run({ "lua5.4", "bin/anthropic", "--profile", "prod", "messages", "--model",
        "claude-opus-4-5", "hello" }, { ANTHROPIC_CONFIG = path, ANTHROPIC_API_KEY = false,
        ANTHROPIC_BASE_URL = false })
      assert.equal(0, status, err)
      assert.truthy(#out > 0)
      -- an Admin API command takes the profile's admin key
      path = config(string.format('profile "prod" { admin_key_file = %q, base_url = %q }\n', dir .. "/admin.key",
        server.url))
      out, err, status = util.run({ "lua5.4", "bin/anthropic", "workspaces", "list", "--profile", "prod", "--json" },
        { ANTHROPIC_CONFIG = path, ANTHROPIC_ADMIN_KEY = false, ANTHROPIC_BASE_URL = false })
      assert.equal(0, status, err)
      assert.matches('"name":"Production"', out)
      util.assert_no_leak(out .. err, admin_key, "workspaces output")
      out, err, status = util.run({ "lua5.4", "bin/anthropic", "messages", "--profile=nope", "hi" },
        { ANTHROPIC_CONFIG = path })
      assert.equal(1, status)
      assert.matches("no profile 'nope' %(option profile%)", err)
      assert.equal("", out)
    end)
  end)
end)
