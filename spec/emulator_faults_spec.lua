-- The emulator's fault actions for the fault matrix (spec/fault_matrix_spec.lua), over raw HTTP:
-- slow_drip, huge_body, oversize_header, redirect, skip, and the mid-stream forms of
-- malformed_json and of a status.
local helper = require "helpers.emulator"
local socket = require "socket"

local MODEL = "claude-haiku-4-5"

local function body(text, extra)
  local b = { model = MODEL, max_tokens = 256, messages = { { role = "user", content = text } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

-- Raw SSE text -> { { event = name, data = raw data }, ... } (no decoding: some data is broken).
local function raw_events(text)
  local out = {}
  for block in (text or ""):gmatch("(.-)\n\n") do
    out[#out + 1] = { event = block:match("event: ([^\n]*)"), data = block:match("data: ([^\n]*)") }
  end
  return out
end

describe("emulator fault actions", function()
  local server, key
  setup(function()
    key = helper.make_key("api03")
    server = helper.start { keys = { key } }
  end)
  teardown(function() server:stop() end)
  before_each(function() server:reset() end)

  local function post(b, timeout)
    local conn = assert(server:connect(timeout or 10))
    local res, err, partial = conn:request("POST", "/v1/messages", b,
      { ["x-api-key"] = key, ["anthropic-version"] = helper.VERSION, connection = "close" })
    conn:close()
    return res, err, partial
  end

  it("slow_drip sends the head at once, then the real answer at `rate` bytes per second", function()
    server:faults { { path = "/v1/messages", action = "slow_drip", rate = 400 } }
    local t0 = socket.gettime()
    local res = assert(post(body("drip")))
    local took = socket.gettime() - t0
    assert.equal(200, res.status)
    assert.equal("You said: drip", res.json.content[1].text)
    assert.is_true(took >= 0.8 * #res.body / 400, "the body came too fast: " .. took .. " s")
    assert.equal("slow_drip", server:log().requests[1].fault.action)
  end)

  it("slow_drip on a stream sends K events at once, then drips the rest", function()
    server:faults { { path = "/v1/messages", action = "slow_drip", rate = 2000, after = 2 } }
    local res = assert(post(body("drip a stream", { stream = true })))
    local events = helper.parse_sse(res.body)
    assert.equal("message_start", events[1].event)
    assert.equal("message_stop", events[#events].event)
  end)

  it("a client that leaves during slow_drip is logged as canceled", function()
    server:faults { { path = "/v1/messages", action = "slow_drip", rate = 1 } }
    local res, err, partial = post(body("drip"), 0.3)
    assert.is_nil(res)
    assert.equal("timeout", err)
    assert.equal(200, partial.status)
    local canceled
    for _ = 1, 200 do
      canceled = server:log().requests[1].canceled
      if canceled then break end
      socket.select(nil, nil, 0.01)
    end
    assert.is_true(canceled)
  end)

  it("huge_body pads the real answer to `size` bytes of valid JSON", function()
    server:faults { { path = "/v1/messages", action = "huge_body", size = 300000 } }
    local res = assert(post(body("big")))
    assert.equal(200, res.status)
    assert.is_true(#res.body >= 300000 and #res.body < 301000, "size " .. #res.body)
    assert.equal(tostring(#res.body), res.headers["content-length"])
    assert.matches("^You said: bigxxxx", res.json.content[1].text)
  end)

  it("huge_body on a stream sends one event of `size` bytes after K events", function()
    server:faults { { path = "/v1/messages", action = "huge_body", size = 100000, after = 3 } }
    local res = assert(post(body("big stream", { stream = true })))
    local events = helper.parse_sse(res.body)
    assert.equal("content_block_delta", events[4].event)
    assert.equal(100000, #events[4].data.delta.text)
    assert.equal("message_stop", events[#events].event)
  end)

  it("huge_body on a stream keeps it well-formed: the big delta goes into the open text block", function()
    server:faults { { path = "/v1/messages", action = "huge_body", size = 1000 } }
    local res = assert(post(body("big stream", { stream = true })))
    local events = helper.parse_sse(res.body)
    assert.equal("message_start", events[1].event)
    assert.equal("content_block_start", events[2].event)
    assert.equal("text", events[2].data.content_block.type)
    assert.equal("content_block_delta", events[3].event)
    assert.equal(events[2].data.index, events[3].data.index)
    assert.equal(1000, #events[3].data.delta.text)
    assert.equal("message_stop", events[#events].event)
  end)

  it("oversize_header adds one header of `size` bytes (default 200 KB) to the real answer", function()
    server:faults { { path = "/v1/messages", action = "oversize_header" } }
    local res = assert(post(body("header")))
    assert.equal(200, res.status)
    assert.equal(200 * 1024, #res.headers["x-padding"])
    assert.equal("You said: header", res.json.content[1].text)
  end)

  it("redirect answers 307 (or the given 3xx) with a location and a short page", function()
    server:faults { { path = "/v1/messages", action = "redirect", location = "http://example.invalid/v1/messages" },
      { path = "/v1/messages", action = "redirect", status = 301, location = "https://example.invalid/" } }
    local res = assert(post(body("go")))
    assert.equal(307, res.status)
    assert.equal("http://example.invalid/v1/messages", res.headers.location)
    assert.matches("Moved", res.body)
    res = assert(post(body("go")))
    assert.equal(301, res.status)
  end)

  it("skip lets the first N matching requests by", function()
    server:faults { { path = "/v1/messages", status = 500, skip = 1 } }
    assert.equal(200, assert(post(body("one"))).status)
    assert.equal(500, assert(post(body("two"))).status)
    assert.equal(200, assert(post(body("three"))).status)
  end)

  it("malformed_json with `after` on a stream sends K events, then one cut event", function()
    server:faults { { path = "/v1/messages", action = "malformed_json", after = 2 } }
    local res = assert(post(body("cut", { stream = true })))
    local events = raw_events(res.body)
    assert.equal(3, #events)
    assert.equal("content_block_start", events[2].event)
    assert.is_nil(pcall(require("cjson").decode, events[3].data) or nil)
  end)

  it("a status with `after` on a stream becomes an error event of that status's type", function()
    for status, etype in pairs { [429] = "rate_limit_error", [500] = "api_error", [529] = "overloaded_error" } do
      server:faults { { path = "/v1/messages", status = status, after = 1 } }
      local res = assert(post(body("err", { stream = true })))
      assert.equal(200, res.status)
      local events = helper.parse_sse(res.body)
      assert.equal(2, #events)
      assert.equal("error", events[2].event)
      assert.equal(etype, events[2].data.error.type)
    end
    server:faults { { path = "/v1/messages", status = 500, after = 1 } } -- a plain request: the status
    assert.equal(500, assert(post(body("plain"))).status)
  end)

  it("checks the auth before a shaped answer", function()
    server:faults { { path = "/v1/messages", action = "huge_body" } }
    local conn = assert(server:connect(10))
    local res = assert(conn:request("POST", "/v1/messages", body("x"),
      { ["x-api-key"] = "sk-ant-api03-wrong", ["anthropic-version"] = helper.VERSION }))
    conn:close()
    assert.equal(401, res.status)
  end)

  it("rejects bad fields", function()
    for _, f in ipairs {
      { action = "redirect" }, { action = "redirect", location = "ftp://x" },
      { action = "redirect", location = "http://x", status = 200 }, { status = 500, location = "http://x" },
      { action = "slow_drip", rate = 0 }, { action = "huge_body", size = 0 }, { status = 500, skip = -1 },
      { status = 500, after = 1.5 },
    } do
      local res = server:request("POST", "/_emulator/faults", { faults = { f } })
      assert.equal(400, res.status)
    end
  end)
end)
