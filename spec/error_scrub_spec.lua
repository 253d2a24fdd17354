-- The key never reaches an error object, even when the server echoes the request's headers into
-- its answer (the emulator's echo_headers fault): every string reachable from the error is
-- scrubbed, names of members included, at any depth.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local errors = require "anthropic.error"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local PARAMS = { model = "claude-opus-4-6", max_tokens = 16, messages = { { role = "user", content = "hi" } } }

-- Fails naming the first string that shows the key or an sk-ant- token.
local function assert_clean(err, key, where)
  assert.is_true(anthropic.is_error(err), where .. ": not an error object")
  for _, s in ipairs(util.strings(err)) do
    util.assert_no_leak(s, key, where)
    assert.is_nil(s:find("sk-ant-", 1, true), where .. ": an sk-ant- token in " .. s:sub(1, 40))
  end
end

describe("errors from a server that echoes the request", function()
  local emu, key, admin_key
  setup(function()
    key = emulator.make_key("api03")
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { key, admin_key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  -- The fault did echo: the redacted value stands where the key was, in each shape.
  local function assert_echoed(err, header)
    assert.equal(401, err.status)
    assert.equal("authentication_error", err.type)
    assert.equal("invalid credentials: [redacted]", err.message)
    assert.equal("[redacted]", err.details.headers[header])
    assert.equal(header, err.details.by_value["[redacted]"]) -- a member name that was the key
    assert.truthy(err.details.nested[1][1].raw:find(header .. ": [redacted]", 1, true))
    assert.equal("req_echo_[redacted]", err.request_id)
  end

  it("messages:create: no field of the error, nor tostring(err), nor a log line holds the key", function()
    local lines = {}
    local client = anthropic.new { api_key = key, base_url = emu.url,
      log = function(level, msg) lines[#lines + 1] = level .. " " .. msg end }
    emu:faults { { path = "/v1/messages", action = "echo_headers" } }
    local msg, err = client.messages:create(PARAMS)
    assert.is_nil(msg)
    assert_echoed(err, "x-api-key")
    assert_clean(err, key, "messages:create error")
    util.assert_no_leak(tostring(err), key, "tostring(err)")
    assert.is_true(#lines > 0)
    for _, line in ipairs(lines) do util.assert_no_leak(line, key, "log line") end
    client:close()
  end)

  it("messages:stream, count_tokens and a pager: the same", function()
    local client = anthropic.new { api_key = key, base_url = emu.url }
    emu:faults { { path = "/v1/messages", action = "echo_headers", count = 1 },
                 { path = "/v1/messages/count_tokens", action = "echo_headers" },
                 { path = "/v1/models", action = "echo_headers", status = 400 } }
    local s, err = client.messages:stream(PARAMS)
    assert.is_nil(s)
    assert_echoed(err, "x-api-key")
    assert_clean(err, key, "messages:stream error")
    local n
    n, err = client.messages:count_tokens(PARAMS)
    assert.is_nil(n)
    assert_clean(err, key, "count_tokens error")
    local items
    items, err = client.models:list():all()
    assert.is_nil(items)
    assert.equal(400, err.status)
    assert_clean(err, key, "models:list error")
    client:close()
  end)

  it("the admin client: the same for an admin key", function()
    local admin = anthropic.admin { api_key = admin_key, base_url = emu.url }
    emu:faults { { path = "/v1/organizations/me", action = "echo_headers", status = 403 } }
    local me, err = admin.organization:me()
    assert.is_nil(me)
    assert.equal(403, err.status)
    assert.equal("[redacted]", err.details.headers["x-api-key"])
    assert_clean(err, admin_key, "admin error")
    admin:close()
  end)
end)

describe("errors.scrub", function()
  local key, k
  before_each(function()
    key = emulator.make_key("api03")
    k = assert(core.load_key { api_key = key, env = {} })
  end)
  local function clean(s) return core.scrub(s, k) end

  it("rewrites values and member names at any depth, through cycles, leaving other values", function()
    local inner = { key, [key] = { n = 1, flag = true } }
    local err = errors.new { kind = "api", message = "m " .. key, details = { a = { b = { inner } } } }
    inner.back = err.details -- a cycle
    err.details.self = err.details
    errors.scrub(err, clean)
    assert.equal("m [redacted]", err.message)
    assert.equal("[redacted]", inner[1])
    assert.is_nil(inner[key])
    assert.same({ n = 1, flag = true }, inner["[redacted]"])
    assert.equal(err.details, inner.back)
    assert_clean(err, key, "scrubbed error")
  end)

  it("drops what is nested deeper than the JSON decoder nests, rather than leave it unscanned", function()
    local deep = { key }
    for _ = 1, 300 do deep = { deep } end
    local err = errors.new { kind = "api", message = "m", details = deep }
    errors.scrub(err, clean)
    assert_clean(err, key, "deep error")
    local t, depth = err.details, 1
    while type(t) == "table" do t, depth = t[1], depth + 1 end
    assert.equal("[nested too deep to show]", t)
    assert.is_true(depth > 150 and depth <= 202, "depth " .. depth)
  end)

  it("the scrubber hides a piece of the key as well as the whole (a key cut or split by markup)", function()
    local tail = key:sub(40)
    assert.equal("<td>[redacted]</td>", clean("<td>" .. tail .. "</td>"))
    assert.equal("x [redacted]...", clean("x " .. key:sub(1, 30) .. "..."))
    -- a hint (16 bytes, "...", 4 bytes) stays readable when it is not an sk-ant- token
    local bearer = assert(core.load_key { api_key = "tok-" .. key:sub(14), env = {} })
    local hint = bearer:hint()
    assert.equal(hint, core.scrub(hint, bearer))
  end)
end)
