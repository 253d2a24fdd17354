-- anthropic doctor (doctor.lua, cli/doctor.lua): every check in order, and each FAIL produced
-- against the emulator: a revoked key, an archived workspace, the wrong key kind (both ways), an
-- unreachable host, an exhausted rate limit, a spend cap reached; never a key in the output.
local doctor = require "anthropic.doctor"
local json = require "anthropic.json"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("anthropic doctor", function()
  local server, dir, admin_key, key, key_id

  lazy_setup(function()
    admin_key = emulator.make_key("admin01")
    server = emulator.start { keys = { admin_key } }
  end)
  lazy_teardown(function() server:stop() end)

  before_each(function()
    server:reset()
    dir = util.tmpdir()
    local made = server:create_api_keys { workspace_id = "Production", name = "prod-app" }
    key, key_id = made.keys[1], made.data[1].id
    util.write(dir .. "/prod.key", key .. "\n", "600")
    util.write(dir .. "/admin.key", admin_key .. "\n", "600")
  end)
  after_each(function() util.rmdir(dir) end)

  local function profile(fields)
    local text = string.format('profile "prod" { key_file = %q, admin_key_file = %q, base_url = %q, '
      .. 'workspace = "Production" %s }\n', dir .. "/prod.key", dir .. "/admin.key", server.url, fields or "")
    return util.write(dir .. "/config.lua", text, "600")
  end

  local function run(fields)
    local results, failed = doctor.run { profile = "prod", config_file = profile(fields), connect_timeout = 2 }
    local by = {}
    for _, r in ipairs(results) do by[r.check] = r end
    local text = json.encode(results)
    util.assert_no_leak(text, key, "doctor's results")
    util.assert_no_leak(text, admin_key, "doctor's results")
    return by, failed, results
  end

  local function admin_api(method, path, body)
    local res = server:api(method, path, body, admin_key)
    assert(res.status == 200, path .. ": " .. tostring(res.status))
    return res.json
  end

  it("passes every check, in order, for a working profile", function()
    local by, failed, results = run(', models = { "claude-opus-4-6" }')
    local order = {}
    for i, r in ipairs(results) do order[i] = r.check end
    assert.same(doctor.CHECKS, order)
    for _, r in ipairs(results) do assert.equal("PASS", r.status, r.check .. ": " .. r.message) end
    assert.is_false(failed)
    assert.matches("key from profile prod key_file", by["key source"].message)
    assert.matches("^a Messages API key, sk%-ant%-api03%-", by["key format"].message)
    assert.matches('the key "prod%-app" %(active%) is in workspace "Production"', by.workspace.message)
    assert.matches("requests %d+ of %d+ left", by["rate limits"].message)
    assert.matches("this month the organization spent USD", by.spend.message)
  end)

  it("FAIL: a revoked key (401 explained, and its status with the admin key)", function()
    admin_api("POST", "/v1/organizations/api_keys/" .. key_id, { status = "archived" })
    local by, failed = run()
    assert.is_true(failed)
    assert.equal("FAIL", by.authentication.status)
    assert.matches("401: the key is archived %(revoked", by.authentication.message)
    assert.equal("FAIL", by.workspace.status)
    assert.matches('the key "prod%-app" %(workspace "Production"%) is archived', by.workspace.message)
  end)

  it("FAIL: an archived workspace", function()
    local ws
    for _, w in ipairs(admin_api("GET", "/v1/organizations/workspaces").data) do
      if w.name == "Production" then ws = w.id end
    end
    admin_api("POST", "/v1/organizations/workspaces/" .. ws .. "/archive")
    local by, failed = run()
    assert.is_true(failed)
    assert.equal("FAIL", by.workspace.status)
    assert.matches('in workspace "Production" %(' .. ws .. '%), archived at', by.workspace.message)
    assert.matches("archived workspace's keys are revoked", by.workspace.fix)
  end)

  it("FAIL: the wrong key kind, an admin key for Messages or an API key as the admin key", function()
    util.write(dir .. "/prod.key", admin_key .. "\n", "600")
    local by, failed = run()
    assert.is_true(failed)
    assert.equal("FAIL", by["key format"].status)
    assert.matches("an Admin API key %(sk%-ant%-admin%.%.%.%) is where the Messages API key should be",
      by["key format"].message)
    util.write(dir .. "/prod.key", key .. "\n", "600")
    util.write(dir .. "/admin.key", key .. "\n", "600")
    local results
    by, failed, results = run()
    assert.is_true(failed)
    assert.is_table(by.authentication, json.encode(results))
    assert.equal("PASS", by.authentication.status)
    assert.equal("FAIL", by.workspace.status)
    assert.matches("regular API key", by.workspace.fix)
  end)

  it("FAIL: an unreachable host, and a host name that does not resolve", function()
    local text = string.format('profile "prod" { key_file = %q, base_url = "http://127.0.0.1:1" }\n',
      dir .. "/prod.key")
    local results, failed = doctor.run { profile = "prod", config_file = util.write(dir .. "/config.lua", text),
      connect_timeout = 2 }
    assert.is_true(failed)
    local reach = results[5]
    assert.equal("reach", reach.check)
    assert.equal("FAIL", reach.status)
    assert.matches("cannot reach http://127.0.0.1:1 %(direct %(loopback%)%)", reach.message)
    text = string.format('profile "prod" { key_file = %q, base_url = "https://no-such-host.invalid" }\n',
      dir .. "/prod.key")
    results = doctor.run { profile = "prod", config_file = util.write(dir .. "/config.lua", text) }
    assert.equal("FAIL", results[5].status)
    assert.matches("does not resolve %(DNS%)", results[5].message)
  end)

  it("FAIL: an exhausted rate limit", function()
    server:ratelimit { rpm = 1 }
    assert.equal(200, server:api("POST", "/v1/messages/count_tokens", { model = "claude-opus-4-6",
      messages = { { role = "user", content = "x" } } }, key).status)
    local by, failed = run()
    assert.is_true(failed)
    assert.equal("FAIL", by["rate limits"].status)
    assert.matches("^429: .*rate limit of 1 requests per minute", by["rate limits"].message)
    assert.equal("PASS", by.authentication.status)
  end)

  it("FAIL: the spend cap reached", function()
    server:faults { { path = "/v1/messages/count_tokens", action = "spend_cap" } }
    local by, failed = run()
    assert.is_true(failed)
    assert.equal("FAIL", by.spend.status)
    assert.matches("monthly spend limit is reached", by.spend.message)
    assert.matches("1st of next month", by.spend.fix)
  end)

  it("WARN: no admin key, a deprecated model, a pinned API version; FAIL: a retired model", function()
    local text = string.format('profile "prod" { key_file = %q, base_url = %q, workspace = "Production", '
      .. 'api_version = "2023-06-01", models = { "claude-opus-4-5" } }\n', dir .. "/prod.key", server.url)
    local results, failed = doctor.run { profile = "prod", config_file = util.write(dir .. "/config.lua", text) }
    local by = {}
    for _, r in ipairs(results) do by[r.check] = r end
    assert.is_false(failed)
    assert.equal("WARN", by.workspace.status)
    assert.matches("no admin key", by.workspace.message)
    assert.equal("WARN", by.models.status)
    assert.matches("claude%-opus%-4%-5 is deprecated", by.models.message)
    assert.equal("WARN", by["api version"].status)
    text = text:gsub("claude%-opus%-4%-5", "claude-sonnet-4-5")
    results, failed = doctor.run { profile = "prod", config_file = util.write(dir .. "/config.lua", text) }
    assert.is_true(failed)
    assert.equal("FAIL", results[10].status)
  end)

  it("the command: one line per check, --json, exit status 1 on a FAIL and 0 otherwise", function()
    local path = profile()
    local env = { ANTHROPIC_CONFIG = path, ANTHROPIC_API_KEY = false, ANTHROPIC_ADMIN_KEY = false }
    local out, err, status = util.run({ "lua5.4", "bin/anthropic", "--profile", "prod", "doctor" }, env)
    assert.equal(0, status, out .. err)
    assert.matches("^PASS  config ", out)
    assert.matches("\nPASS  api version ", out)
    util.assert_no_leak(out .. err, key, "doctor's output")
    util.assert_no_leak(out .. err, admin_key, "doctor's output")
    -- ANTHROPIC_API_KEY stands in for the profile's key: said, with the fix
    local other = emulator.make_key("api03")
    out, err, status = util.run({ "lua5.4", "bin/anthropic", "--profile", "prod", "doctor" },
      { ANTHROPIC_CONFIG = path, ANTHROPIC_API_KEY = other, ANTHROPIC_ADMIN_KEY = false })
    assert.equal(1, status, out .. err) -- (a key the emulator does not know: 401)
    assert.matches("WARN  key source +key from environment ANTHROPIC_API_KEY %(before profile prod's key_file%)", out)
    assert.matches("unset that variable to use the profile's key", out)
    assert.matches("FAIL  authentication +401: the API does not know this key", out)
    util.assert_no_leak(out .. err, other, "doctor's output")
    admin_api("POST", "/v1/organizations/api_keys/" .. key_id, { status = "archived" })
    out, err, status = util.run({ "lua5.4", "bin/anthropic", "doctor", "--json", "--profile", "prod" }, env)
    assert.equal(1, status, err)
    local doc = json.decode(out)
    assert.is_false(doc.ok)
    assert.equal(#doctor.CHECKS, #doc.checks)
    util.assert_no_leak(out .. err, key, "doctor's output")
  end)
end)
