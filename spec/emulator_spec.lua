-- The emulator, exercised over raw HTTP (luasocket), as the client's tests will see it.
local helper = require "helpers.emulator"
local cjson = require "cjson"
local u8 = require("anthropic.compat").utf8
local socket = require "socket"

local MODEL = "claude-haiku-4-5"

local function ceil4(n) return math.floor((n + 3) / 4) end

local function body(text, extra)
  local b = { model = MODEL, max_tokens = 256, messages = { { role = "user", content = text } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local WEATHER = {
  name = "get_weather", description = "Current weather for a place",
  input_schema = { type = "object", required = { "location", "unit" }, properties = {
    location = { type = "string" }, unit = { type = "string", enum = { "celsius", "fahrenheit" } },
    days = { type = "integer" } } },
}

-- Polls cond() (which talks to the emulator) until it is true or about 2 s have passed.
local function eventually(cond)
  for _ = 1, 100 do
    if cond() then return true end
    socket.sleep(0.02)
  end
  return false
end

local function names(events)
  local t = {}
  for i, e in ipairs(events) do t[i] = e.event end
  return t
end

local function streamed_text(events)
  local parts = {}
  for _, e in ipairs(events) do
    if e.event == "content_block_delta" and e.data.delta.type == "text_delta" then
      parts[#parts + 1] = e.data.delta.text
    end
  end
  return table.concat(parts)
end

describe("emulator", function()
  local server, key, admin_key
  local seen = {} -- every response text, scanned for key bytes at the end

  local function api(method, path, b, k, headers)
    local res, err, partial = server:api(method, path, b, k == nil and key or k or nil, headers)
    if res then
      seen[#seen + 1] = res.body
      for name, v in pairs(res.headers) do seen[#seen + 1] = name .. ": " .. v end
    end
    return res, err, partial
  end

  local function create(b, k, headers) return api("POST", "/v1/messages", b, k, headers) end

  lazy_setup(function()
    key = helper.make_key("api03")
    admin_key = helper.make_key("admin01")
    server = helper.start { keys = { key, admin_key } }
  end)

  lazy_teardown(function()
    if server then server:stop() end
  end)

  before_each(function()
    server:reset()
  end)

  describe("process", function()
    it("prints its URL and keeps keys off every command line", function()
      assert.matches("^http://127%.0%.0%.1:%d+$", server.url)
      assert.is_true(server.port > 0)
      local f = assert(io.open("/proc/" .. server.pid .. "/cmdline", "rb"))
      local cmdline = f:read("*a")
      f:close()
      assert.truthy(cmdline:find("emulator", 1, true))
      assert.falsy(cmdline:find(key, 1, true))
      assert.falsy(cmdline:find("sk-ant-", 1, true))
    end)

    it("makes realistic random keys", function()
      local k = helper.make_key("api03")
      assert.matches("^sk%-ant%-api03%-[%w_%-]+AA$", k)
      assert.equal(#"sk-ant-api03-" + 88, #k)
      assert.not_equal(k, helper.make_key("api03"))
      assert.matches("^sk%-ant%-admin01%-", helper.make_key("admin01"))
    end)

    it("stops on SIGTERM", function()
      local other = helper.start {}
      assert.is_true(other:alive())
      other:stop()
      assert.is_false(other:alive())
      assert.is_nil((helper.connect(other.url, 1)))
    end)

    it("shuts down on POST /_emulator/shutdown", function()
      local other = helper.start {}
      assert.is_true(other:shutdown().ok)
      assert.is_true(eventually(function() return not other:alive() end))
      other:stop()
      assert.is_nil((helper.connect(other.url, 1)))
    end)

    it("prints one line per request with --verbose, keys as hints", function()
      local k = helper.make_key("api03")
      local other = helper.start { keys = { k }, verbose = true }
      other:api("POST", "/v1/messages", body("hi"), k)
      other:api("GET", "/v1/models", nil, "sk-ant-api03-unknown-key-of-some-length-000000")
      other:stop()
      local out = other:output()
      assert.truthy(out:find("POST /v1/messages 200 " .. k:sub(1, 16) .. "..." .. k:sub(-4) .. "\n", 1, true))
      assert.matches("GET /v1/models 401 ", out)
      assert.falsy(out:find(k, 1, true))
      assert.falsy(out:find("sk-ant-api03-unknown-key-of-some-length-000000", 1, true))
    end)

    it("bin/anthropic prints usage and exits 2 for an unknown command", function()
      local p = io.popen("cd " .. helper.ROOT .. " && " .. helper.LUA
        .. " bin/anthropic nope 2>&1 >/dev/null; echo rc=$?")
      local out = p:read("*a")
      p:close()
      assert.matches("unknown command 'nope'", out)
      assert.matches("usage: anthropic", out)
      assert.matches("emulator", out)
      assert.matches("rc=2", out)
    end)
  end)

  describe("messages", function()
    it("answers with a Message in the real shape", function()
      local res = create(body("Hello there"))
      assert.equal(200, res.status)
      assert.matches("^application/json", res.headers["content-type"])
      assert.matches("^req_%w+$", res.headers["request-id"])
      assert.equal(28, #res.headers["request-id"])
      local m = res.json
      assert.matches("^msg_%w+$", m.id)
      assert.equal("message", m.type)
      assert.equal("assistant", m.role)
      assert.equal(MODEL, m.model)
      assert.same({ { type = "text", text = "You said: Hello there", citations = cjson.null } }, m.content)
      assert.equal("end_turn", m.stop_reason)
      assert.equal(cjson.null, m.stop_sequence)
      assert.equal(0, m.usage.cache_creation_input_tokens)
      assert.equal(0, m.usage.cache_read_input_tokens)
      assert.equal("standard", m.usage.service_tier)
    end)

    it("is deterministic: the same request gives the same content", function()
      local a = create(body("Same words twice")).json
      local b = create(body("Same words twice")).json
      assert.same(a.content, b.content)
      assert.same(a.usage, b.usage)
      assert.not_equal(a.id, b.id)
    end)

    it("counts input and output tokens as ceil(characters / 4)", function()
      local system = "You are terse."
      local text = "Count these characters, please: äöü"
      local m = create(body(text, { system = system })).json
      assert.equal(ceil4(u8.len(system) + u8.len(text)), m.usage.input_tokens)
      assert.equal(ceil4(u8.len(m.content[1].text)), m.usage.output_tokens)
    end)

    it("cuts the reply at max_tokens", function()
      local m = create(body("a fairly long sentence that will not fit", { max_tokens = 2 })).json
      assert.equal("max_tokens", m.stop_reason)
      assert.equal("You said", m.content[1].text)
      assert.equal(2, m.usage.output_tokens)
    end)

    it("stops at a stop sequence", function()
      local m = create(body("alpha STOP beta", { stop_sequences = { "beta", "STOP" } })).json
      assert.equal("stop_sequence", m.stop_reason)
      assert.equal("STOP", m.stop_sequence)
      assert.equal("You said: alpha ", m.content[1].text)
    end)

    it("answers with tool_use when the user names a tool", function()
      local m = create(body("What does get_weather say for Paris?", { tools = { WEATHER } })).json
      assert.equal("tool_use", m.stop_reason)
      assert.equal(2, #m.content)
      assert.equal("text", m.content[1].type)
      local tu = m.content[2]
      assert.equal("tool_use", tu.type)
      assert.matches("^toolu_%w+$", tu.id)
      assert.same({ type = "direct" }, tu.caller) -- the SDK's ToolUseBlock: called by the model itself
      assert.equal("get_weather", tu.name)
      assert.same({ location = "example location", unit = "celsius" }, tu.input)
      -- without the tool's name there is no tool call
      local plain = create(body("What is the weather?", { tools = { WEATHER } })).json
      assert.equal("end_turn", plain.stop_reason)
      assert.equal(1, #plain.content)
    end)

    it("count_tokens equals the input usage of the same request", function()
      local b = body("Tokens for get_weather please", { system = { { type = "text", text = "sys" } },
                                                         tools = { WEATHER } })
      local m = create(b).json
      b.max_tokens = nil
      local res = api("POST", "/v1/messages/count_tokens", b)
      assert.equal(200, res.status)
      assert.same({ input_tokens = m.usage.input_tokens }, res.json)
      assert.is_true(m.usage.input_tokens > ceil4(#"Tokens for get_weather please" + 3))
      assert.truthy(res.headers["anthropic-ratelimit-requests-limit"])
    end)

    it("validates requests like the real API", function()
      local cases = {
        { "{not json", 400, "invalid_request_error" },
        { { max_tokens = 10, messages = { { role = "user", content = "x" } } }, 400, "invalid_request_error", "model" },
        { body("x", { max_tokens = -1 }), 400, "invalid_request_error", "max_tokens" },
        { body("x", { max_tokens = 1.5 }), 400, "invalid_request_error", "max_tokens" },
        { { model = MODEL, max_tokens = 10, messages = {} }, 400, "invalid_request_error", "messages" },
        { { model = MODEL, max_tokens = 10, messages = { { role = "assistant", content = "x" } } }, 400,
          "invalid_request_error", "user" },
        { { model = MODEL, max_tokens = 10, messages = { { role = "robot", content = "x" } } }, 400,
          "invalid_request_error", "role" },
        { body("x", { colour = "blue" }), 400, "invalid_request_error", "colour" },
        { body("x", { model = "claude-nope-1" }), 404, "not_found_error", "model: claude%-nope%-1" },
        { body("x", { max_tokens = 10000000 }), 400, "invalid_request_error", "maximum allowed" },
      }
      for i, c in ipairs(cases) do
        local res = create(c[1])
        assert.equal(c[2], res.status, "case " .. i)
        assert.equal("error", res.json.type)
        assert.equal(c[3], res.json.error.type, "case " .. i)
        if c[4] then assert.matches(c[4], res.json.error.message) end
        assert.equal(res.headers["request-id"], res.json.request_id)
      end
    end)

    it("sends rate-limit headers and answers 429 with retry-after when the bucket is empty", function()
      local res = create(body("one"))
      local h = res.headers
      assert.equal("4000", h["anthropic-ratelimit-requests-limit"])
      assert.equal("3999", h["anthropic-ratelimit-requests-remaining"])
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", h["anthropic-ratelimit-requests-reset"])
      for _, p in ipairs({ "tokens", "input-tokens", "output-tokens" }) do
        for _, s in ipairs({ "limit", "remaining", "reset" }) do
          assert.truthy(h["anthropic-ratelimit-" .. p .. "-" .. s], p .. "-" .. s)
        end
      end
      server:ratelimit { rpm = 2 }
      assert.equal(200, create(body("a")).status)
      assert.equal(200, create(body("b")).status)
      local limited = create(body("c"))
      assert.equal(429, limited.status)
      assert.equal("rate_limit_error", limited.json.error.type)
      assert.matches("^%d+$", limited.headers["retry-after"])
      assert.is_true(tonumber(limited.headers["retry-after"]) >= 1)
      assert.equal("0", limited.headers["anthropic-ratelimit-requests-remaining"])
    end)
  end)

  describe("streaming", function()
    it("sends the real event sequence with the content and usage of the plain reply", function()
      local plain = create(body("Stream me a few words please, five or six")).json
      local res = create(body("Stream me a few words please, five or six", { stream = true }))
      assert.equal(200, res.status)
      assert.matches("^text/event%-stream", res.headers["content-type"])
      assert.truthy(res.headers["request-id"])
      local events = helper.parse_sse(res.body)
      local n = names(events)
      assert.same({ "message_start", "content_block_start", "ping" }, { n[1], n[2], n[3] })
      assert.same({ "content_block_stop", "message_delta", "message_stop" }, { n[#n - 2], n[#n - 1], n[#n] })
      assert.is_true(#n >= 7) -- several deltas
      for _, e in ipairs(events) do assert.equal(e.event, e.data.type) end
      local start = events[1].data.message
      assert.equal(plain.usage.input_tokens, start.usage.input_tokens)
      assert.equal(1, start.usage.output_tokens)
      assert.equal(cjson.null, start.stop_reason)
      assert.same({}, start.content)
      assert.equal(plain.content[1].text, streamed_text(events))
      local delta = events[#events - 1].data
      assert.equal(plain.stop_reason, delta.delta.stop_reason)
      assert.equal(plain.usage.output_tokens, delta.usage.output_tokens)
      assert.equal(plain.usage.input_tokens, delta.usage.input_tokens)
    end)

    it("streams tool_use input as input_json_delta fragments", function()
      local b = body("call get_weather now", { tools = { WEATHER } })
      local plain = create(b).json
      b.stream = true
      local events = helper.parse_sse(create(b).body)
      local fragments, start
      for _, e in ipairs(events) do
        if e.event == "content_block_start" and e.data.content_block.type == "tool_use" then
          start = e.data.content_block
          fragments = {}
        elseif fragments and e.event == "content_block_delta" then
          assert.equal("input_json_delta", e.data.delta.type)
          fragments[#fragments + 1] = e.data.delta.partial_json
        end
      end
      assert.same({}, start.input)
      assert.equal(plain.content[2].id, start.id)
      assert.equal("", fragments[1])
      assert.is_true(#fragments > 2)
      assert.same(plain.content[2].input, cjson.decode(table.concat(fragments)))
      assert.equal("tool_use", events[#events - 1].data.delta.stop_reason)
    end)

    it("writes in chunks of the configured size, with a delay between events", function()
      server:stream_options { chunk_size = 1, event_delay = 0.02 }
      local t0 = socket.gettime()
      local res = create(body("tiny chunks", { stream = true }))
      local elapsed = socket.gettime() - t0
      local events = helper.parse_sse(res.body)
      assert.equal("message_stop", events[#events].event)
      assert.equal("You said: tiny chunks", streamed_text(events))
      for _, size in ipairs(res.chunks) do assert.equal(1, size) end
      assert.is_true(elapsed >= 0.02 * (#events - 1) * 0.9)
    end)
  end)

  describe("models", function()
    local function ids(list)
      local t = {}
      for i, m in ipairs(list) do t[i] = m.id end
      return t
    end

    it("lists newest first and pages with after_id and before_id", function()
      local extra = {}
      for i = 1, 25 do
        extra[i] = { id = string.format("claude-test-%02d", i), display_name = "Test " .. i,
                     created_at = string.format("2024-01-01T00:00:%02dZ", i) }
      end
      server:add_models(extra)
      local all = api("GET", "/v1/models?limit=1000").json
      assert.is_false(all.has_more)
      assert.equal(25 + 18, #all.data) -- and the 18 seed models that are not retired
      for i = 2, #all.data do assert.is_true(all.data[i - 1].created_at >= all.data[i].created_at) end
      local m = all.data[1]
      assert.equal("model", m.type)
      assert.truthy(m.display_name and m.created_at and m.max_tokens and m.max_input_tokens and m.capabilities)
      -- forward
      local got, after, pages = {}, nil, 0
      repeat
        local page = api("GET", "/v1/models?limit=7" .. (after and ("&after_id=" .. after) or "")).json
        pages = pages + 1
        for _, x in ipairs(page.data) do got[#got + 1] = x.id end
        assert.equal(page.data[1].id, page.first_id)
        assert.equal(page.data[#page.data].id, page.last_id)
        after = page.last_id
      until not page.has_more
      assert.equal(math.ceil(#all.data / 7), pages)
      assert.same(ids(all.data), got)
      -- backward from the last model
      local back, before = {}, all.data[#all.data].id
      repeat
        local page = api("GET", "/v1/models?limit=10&before_id=" .. before).json
        for i = #page.data, 1, -1 do table.insert(back, 1, page.data[i].id) end
        before = page.first_id
      until not page.has_more
      local expected = ids(all.data)
      table.remove(expected)
      assert.same(expected, back)
      -- default limit
      assert.equal(20, #api("GET", "/v1/models").json.data)
    end)

    it("follows the models' lifecycle: retired ones only when asked for, and refused in requests", function()
      local listed = {}
      for _, m in ipairs(api("GET", "/v1/models?limit=1000").json.data) do listed[m.id] = m end
      assert.is_nil(listed["claude-sonnet-4-5-20250929"]) -- retired 2026-11-30
      local deprecated = listed["claude-opus-4-5-20251101"]
      assert.equal("deprecated", deprecated.lifecycle)
      assert.equal("2027-01-22T00:00:00Z", deprecated.retires_at)
      assert.is_string(deprecated.deprecated_at)
      local active = listed["claude-opus-5-5"]
      assert.equal("active", active.lifecycle)
      assert.equal("opus", active.line)
      assert.equal(cjson.null, active.deprecated_at)
      assert.equal(cjson.null, active.retires_at)
      local retired = api("GET", "/v1/models?lifecycle%5B%5D=retired").json.data
      assert.same({ "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805" }, ids(retired))
      local both = api("GET", "/v1/models?lifecycle[]=retired&lifecycle[]=deprecated&limit=1000").json.data
      assert.equal(3, #both)
      local bad = api("GET", "/v1/models?lifecycle[]=legacy")
      assert.equal(400, bad.status)
      assert.equal("invalid_request_error", bad.json.error.type)
      assert.equal("retired", api("GET", "/v1/models/claude-sonnet-4-5").json.lifecycle) -- still shown
      local res = create(body("x", { model = "claude-sonnet-4-5" }))
      assert.equal(404, res.status)
      assert.equal("not_found_error", res.json.error.type)
      assert.equal(200, create(body("x", { model = "claude-opus-4-5" })).status) -- deprecated still works
    end)

    it("checks limit", function()
      assert.equal(400, api("GET", "/v1/models?limit=0").status)
      assert.equal(400, api("GET", "/v1/models?limit=1001").status)
      assert.equal(200, api("GET", "/v1/models?limit=1000").status)
    end)

    it("gets a model by id or alias, and 404 otherwise", function()
      local m = api("GET", "/v1/models/claude-haiku-4-5").json
      assert.equal("claude-haiku-4-5-20251001", m.id)
      assert.equal("Claude Haiku 4.5", m.display_name)
      assert.equal("claude-opus-4-6", api("GET", "/v1/models/claude-opus-4-6").json.id)
      local res = api("GET", "/v1/models/claude-nope")
      assert.equal(404, res.status)
      assert.equal("not_found_error", res.json.error.type)
    end)
  end)

  describe("auth and routing", function()
    it("answers 401 for an unknown key and for no key", function()
      local res = create(body("x"), helper.make_key("api03"))
      assert.equal(401, res.status)
      assert.equal("authentication_error", res.json.error.type)
      assert.equal("invalid x-api-key", res.json.error.message)
      assert.equal(res.headers["request-id"], res.json.request_id)
      res = create(body("x"), false)
      assert.equal(401, res.status)
      assert.equal("authentication_error", res.json.error.type)
    end)

    it("accepts Authorization: Bearer", function()
      local res = create(body("x"), false, { authorization = "Bearer " .. key })
      assert.equal(200, res.status)
    end)

    it("refuses an admin key on the Messages API and other keys on admin paths", function()
      local res = create(body("x"), admin_key)
      assert.equal(401, res.status)
      assert.matches("[Aa]dmin", res.json.error.message)
      local refused = api("GET", "/v1/organizations/users")
      assert.equal(403, refused.status)
      assert.equal("permission_error", refused.json.error.type)
      assert.equal(404, api("GET", "/v1/organizations/nothing-here-yet", nil, admin_key).status)
    end)

    it("requires anthropic-version", function()
      local res = create(body("x"), nil, { ["anthropic-version"] = false })
      assert.equal(400, res.status)
      assert.equal("invalid_request_error", res.json.error.type)
      assert.equal("anthropic-version: header is required", res.json.error.message)
    end)

    it("answers 404 for unknown paths and 405 for wrong methods, in the error shape", function()
      local res = api("GET", "/v1/nothing")
      assert.equal(404, res.status)
      assert.equal("not_found_error", res.json.error.type)
      res = api("GET", "/v1/messages")
      assert.equal(405, res.status)
      assert.equal("error", res.json.type)
      assert.equal("POST", res.headers["allow"])
    end)

    it("takes keys through the control API and forgets removed ones", function()
      local k = helper.make_key("api03")
      assert.equal(401, create(body("x"), k).status)
      local added = server:add_key(k, "api")
      assert.equal(k:sub(1, 16) .. "..." .. k:sub(-4), added.hint)
      assert.equal(200, create(body("x"), k).status)
      server:remove_key(k)
      assert.equal(401, create(body("x"), k).status)
    end)
  end)

  describe("faults", function()
    it("answers with the status, default body and headers", function()
      server:faults { { path = "/v1/messages", status = 529,
                        headers = { ["retry-after"] = "1", ["x-should-retry"] = "false" } } }
      local res = create(body("x"))
      assert.equal(529, res.status)
      assert.equal("overloaded_error", res.json.error.type)
      assert.equal("Overloaded", res.json.error.message)
      assert.equal("1", res.headers["retry-after"])
      assert.equal("false", res.headers["x-should-retry"])
      assert.equal(res.headers["request-id"], res.json.request_id)
      assert.equal(200, create(body("x")).status)
      local defaults = { [400] = "invalid_request_error", [401] = "authentication_error",
                         [403] = "permission_error", [404] = "not_found_error", [409] = "conflict_error",
                         [413] = "request_too_large", [429] = "rate_limit_error", [500] = "api_error" }
      for status, etype in pairs(defaults) do
        server:faults { { status = status } }
        res = create(body("x"))
        assert.equal(status, res.status)
        assert.equal(etype, res.json.error.type)
      end
    end)

    it("answers with a given body", function()
      server:faults { { status = 500, body = { type = "error", error = { type = "api_error", message = "boom" } } },
                      { status = 502, body = "upstream broke" } }
      local res = create(body("x"))
      assert.equal("boom", res.json.error.message)
      res = create(body("x"))
      assert.equal(502, res.status)
      assert.equal("upstream broke", res.body)
    end)

    it("applies in FIFO order to matching paths, count times, then goes away", function()
      server:faults { { path = "/v1/models*", status = 500, count = 2 }, { path = "/v1/messages", status = 409 },
                      { status = 503 } }
      local count = { model = MODEL, messages = body("x").messages }
      assert.equal(503, api("POST", "/v1/messages/count_tokens", count).status)
      assert.equal(409, create(body("x")).status)
      assert.equal(500, api("GET", "/v1/models/claude-opus-5").status)
      assert.equal(500, api("GET", "/v1/models").status)
      assert.equal(200, api("GET", "/v1/models").status)
      assert.same({}, server:pending_faults())
    end)

    it("reset_before_headers closes the connection without a reply", function()
      server:faults { { action = "reset_before_headers" } }
      local res, err, partial = create(body("x"))
      assert.is_nil(res)
      assert.truthy(err)
      assert.is_nil(partial.status)
      assert.equal(200, create(body("x")).status)
    end)

    it("reset_after_headers sends the head and part of the body, then resets", function()
      server:faults { { action = "reset_after_headers" } }
      local res, err, partial = create(body("x"))
      assert.is_nil(res)
      assert.truthy(err)
      assert.equal(200, partial.status)
      assert.truthy(partial.headers["request-id"])
      assert.is_true(#partial.body > 0)
      assert.is_true(#partial.body < tonumber(partial.headers["content-length"]))
    end)

    it("malformed_json answers 200 with a truncated JSON body", function()
      server:faults { { action = "malformed_json" } }
      local res = create(body("x"))
      assert.equal(200, res.status)
      assert.matches("^{", res.body)
      assert.is_nil(res.json)
      assert.is_false((pcall(cjson.decode, res.body)))
    end)

    it("html_413 answers like Cloudflare", function()
      server:faults { { action = "html_413" } }
      local res = create(body("x"))
      assert.equal(413, res.status)
      assert.matches("^text/html", res.headers["content-type"])
      assert.matches("413 Request Entity Too Large", res.body)
      assert.truthy(res.headers["request-id"])
    end)

    it("delay answers late (and normally)", function()
      server:faults { { delay = 0.3 } }
      local t0 = socket.gettime()
      local res = create(body("x"))
      assert.is_true(socket.gettime() - t0 >= 0.29)
      assert.equal(200, res.status)
    end)

    it("spend_cap answers 429 with the error code and no retry-after", function()
      server:faults { { action = "spend_cap" } }
      local res = create(body("x"))
      assert.equal(429, res.status)
      assert.equal("rate_limit_error", res.json.error.type)
      assert.equal("enforced_spend_limit_reached", res.json.error.details.error_code)
      assert.is_nil(res.headers["retry-after"])
    end)

    it("stall never answers; the log marks the request canceled when the client leaves", function()
      server:faults { { action = "stall" } }
      local conn = server:connect(0.3)
      local res, err = conn:request("POST", "/v1/messages", body("x"),
                                    { ["x-api-key"] = key, ["anthropic-version"] = helper.VERSION })
      assert.is_nil(res)
      assert.equal("timeout", err)
      conn:close()
      assert.is_true(eventually(function()
        local log = server:log().requests
        return log[1] and log[1].canceled == true
      end))
      assert.equal("stall", server:log().requests[1].fault.action)
    end)

    local function stream_with_fault(fault, timeout)
      server:faults { fault }
      local conn = server:connect(timeout)
      local res, err, partial = conn:request("POST", "/v1/messages", body("stream with a fault", { stream = true }),
        { ["x-api-key"] = key, ["anthropic-version"] = helper.VERSION })
      conn:close()
      return res, err, partial
    end

    it("stream_error_after sends K events, then an error event", function()
      local res = stream_with_fault { action = "stream_error_after", after = 3 }
      assert.equal(200, res.status)
      local events = helper.parse_sse(res.body)
      assert.equal(4, #events)
      assert.same({ "message_start", "content_block_start", "ping", "error" }, names(events))
      assert.equal("overloaded_error", events[4].data.error.type)
    end)

    it("stream_truncate_after ends the response cleanly after K events", function()
      local res = stream_with_fault { stream_truncate_after = 4 }
      assert.equal(200, res.status)
      local events = helper.parse_sse(res.body)
      assert.equal(4, #events)
      assert.not_equal("message_stop", events[4].event)
    end)

    it("stream_reset_after resets the connection after K events", function()
      local res, err, partial = stream_with_fault { action = "stream_reset_after", after = 2 }
      assert.is_nil(res)
      assert.truthy(err)
      assert.equal(200, partial.status)
      assert.same({ "message_start", "content_block_start" }, names(helper.parse_sse(partial.body)))
    end)

    it("stream_stall_after stops sending after K events", function()
      local res, err, partial = stream_with_fault({ action = "stream_stall_after", after = 2 }, 0.3)
      assert.is_nil(res)
      assert.equal("timeout", err)
      assert.equal(2, #helper.parse_sse(partial.body))
      assert.is_true(eventually(function() return server:log().requests[1].canceled == true end))
    end)

    it("keeps a stream fault for the next streaming request", function()
      server:faults { { action = "stream_error_after", after = 1 } }
      assert.equal(200, create(body("plain")).status)
      assert.equal(1, #server:pending_faults())
      local events = helper.parse_sse(create(body("streamed", { stream = true })).body)
      assert.equal("error", events[#events].event)
    end)

    it("rejects a bad fault spec", function()
      local res = server:request("POST", "/_emulator/faults", { faults = { { action = "explode" } } })
      assert.equal(400, res.status)
      res = server:request("POST", "/_emulator/faults", { faults = { { path = "/v1/messages" } } })
      assert.equal(400, res.status)
    end)
  end)

  describe("request log", function()
    it("records requests with key hints, never keys", function()
      create(body("logged"), nil, { ["x-extra"] = "1" })
      create(body("bearer"), false, { authorization = "Bearer " .. key })
      api("GET", "/v1/models?limit=3&after_id=claude-opus-5")
      create(body("x"), helper.make_key("api03"))
      local log = server:log().requests
      assert.equal(4, #log)
      local hint = key:sub(1, 16) .. "..." .. key:sub(-4)
      local first = log[1]
      assert.equal(1, first.seq)
      assert.equal("POST", first.method)
      assert.equal("/v1/messages", first.path)
      assert.equal(200, first.status)
      assert.equal(hint, first.headers["x-api-key"])
      assert.equal("1", first.headers["x-extra"])
      assert.same(body("logged"), cjson.decode(first.body))
      assert.is_number(first.time)
      assert.is_number(first.connection)
      assert.equal("Bearer " .. hint, log[2].headers["authorization"])
      assert.equal("limit=3&after_id=claude-opus-5", log[3].query)
      assert.equal(401, log[4].status)
      assert.same({ 3, 4 }, { server:log(2).requests[1].seq, server:log(2).requests[2].seq })
      server:clear_log()
      assert.same({}, server:log().requests)
    end)

    it("redacts a key that leaks into a body and says so", function()
      create(body("my key is " .. key))
      local entry = server:log().requests[1]
      assert.falsy(entry.body:find(key, 1, true))
      assert.same({ "body" }, entry.key_leak)
    end)

    it("never shows a key in anything it sent back", function()
      local res = server:request("GET", "/_emulator/log")
      seen[#seen + 1] = res.body
      local all = table.concat(seen, "\n")
      assert.is_true(#all > 1000)
      assert.falsy(all:find(key, 1, true))
      assert.falsy(all:find(admin_key, 1, true))
      assert.falsy(all:find(key:sub(17, -5), 1, true))
    end)
  end)

  describe("HTTP", function()
    local headers

    before_each(function()
      headers = { ["x-api-key"] = key, ["anthropic-version"] = helper.VERSION }
    end)

    it("answers bytes that cannot start a request (a TLS hello) with a 400 at once, not at a newline", function()
      local conn = server:connect(5)
      -- the start of a ClientHello: no newline, so waiting for a request line would wait forever
      assert.is_true(conn.sock:send("\22\3\1\0\200\1\0\0\196\3\3" .. ("\171"):rep(32)) ~= nil)
      local res = assert(conn:receive())
      assert.equal(400, res.status)
      assert.matches("malformed request line", res.body)
      conn:close()
    end)

    it("serves many requests on one keep-alive connection and counts it once", function()
      local conn = server:connect()
      for _ = 1, 3 do
        local res = conn:request("GET", "/v1/models?limit=1", nil, headers)
        assert.equal(200, res.status)
        assert.equal("keep-alive", res.headers["connection"])
      end
      local c = server:connections()
      assert.equal(1, c.total)
      assert.equal(1, c.open)
      conn:close()
      assert.is_true(eventually(function() return server:connections().open == 0 end))
      assert.equal(1, server:connections().total)
      local log = server:log().requests
      assert.equal(log[1].connection, log[3].connection)
    end)

    it("keeps the connection after a streamed response", function()
      local conn = server:connect()
      local res = conn:request("POST", "/v1/messages", body("first", { stream = true }), headers)
      assert.equal("message_stop", helper.parse_sse(res.body)[#helper.parse_sse(res.body)].event)
      res = conn:request("POST", "/v1/messages", body("second"), headers)
      assert.equal("You said: second", res.json.content[1].text)
      conn:close()
      assert.equal(1, server:connections().total)
    end)

    it("streams to several clients at once", function()
      server:stream_options { event_delay = 0.08 }
      local conns = {}
      local t0 = socket.gettime()
      for i = 1, 3 do
        conns[i] = server:connect()
        assert(conns[i]:send("POST", "/v1/messages", body("concurrent " .. i, { stream = true }), headers))
      end
      local n
      for i = 1, 3 do
        local res = conns[i]:receive()
        conns[i]:close()
        local events = helper.parse_sse(res.body)
        n = #events
        assert.equal("You said: concurrent " .. i, streamed_text(events))
      end
      -- one stream alone takes (n - 1) delays; three one after the other would take three times that
      assert.is_true(socket.gettime() - t0 < 2 * 0.08 * (n - 1))
    end)

    it("honours Connection: close", function()
      local conn = server:connect()
      local h = { connection = "close" }
      for k, v in pairs(headers) do h[k] = v end
      local res = conn:request("GET", "/v1/models", nil, h)
      assert.equal("close", res.headers["connection"])
      assert.is_nil(conn.sock:receive(1))
      conn:close()
    end)

    it("accepts a chunked request body", function()
      local conn = server:connect()
      local json = cjson.encode(body("chunked body"))
      local a, b = json:sub(1, 10), json:sub(11)
      assert(conn.sock:send("POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: " .. key
        .. "\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
        .. "transfer-encoding: chunked\r\n\r\n"
        .. string.format("%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n", #a, a, #b, b)))
      local res = conn:receive()
      conn:close()
      assert.equal(200, res.status)
      assert.equal("You said: chunked body", res.json.content[1].text)
      assert.equal(json, server:log().requests[1].body)
    end)

    it("answers 413 to bodies over 32 MB", function()
      local conn = server:connect()
      assert(conn.sock:send("POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        .. "content-length: 33554432\r\nexpect: 100-continue\r\n\r\n"))
      local res = conn:receive()
      conn:close()
      assert.equal(413, res.status)
      assert.same({ type = "request_too_large", message = "Request exceeds the maximum allowed number of bytes." },
        res.json.error)
      assert.equal(res.headers["request-id"], res.json.request_id)
      -- a client that sends anyway still gets the answer
      conn = server:connect()
      assert(conn.sock:send("POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 40000000\r\n\r\n"
        .. string.rep("x", 200000)))
      res = conn:receive()
      conn:close()
      assert.equal(413, res.status)
      assert.equal(413, server:log().requests[1].status)
    end)

    it("answers Expect: 100-continue for acceptable bodies", function()
      local conn = server:connect()
      local json = cjson.encode(body("continue"))
      assert(conn.sock:send("POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: " .. key
        .. "\r\nanthropic-version: 2023-06-01\r\ncontent-length: " .. #json .. "\r\nexpect: 100-continue\r\n\r\n"))
      assert.equal("HTTP/1.1 100 Continue", conn.sock:receive("*l"))
      assert.equal("", conn.sock:receive("*l"))
      assert(conn.sock:send(json))
      local res = conn:receive()
      conn:close()
      assert.equal(200, res.status)
    end)

    it("keeps serving others while one connection is stalled or slow", function()
      server:faults { { path = "/v1/messages", action = "stall" } }
      local stalled = server:connect(5)
      assert(stalled:send("POST", "/v1/messages", body("wait"), headers))
      local slow = server:connect(5)
      assert(slow.sock:send("GET /v1/mod")) -- half a request line, never finished
      local delayed = server:connect(5)
      local t0 = socket.gettime()
      for _ = 1, 3 do
        local conn = server:connect(2)
        local res = conn:request("GET", "/v1/models", nil, headers)
        conn:close()
        assert.equal(200, res.status)
      end
      assert.is_true(socket.gettime() - t0 < 1)
      stalled:close()
      slow:close()
      delayed:close()
    end)

    it("answers pipelined requests in order", function()
      local conn = server:connect()
      local one = "GET /v1/models/claude-opus-5 HTTP/1.1\r\nhost: x\r\nx-api-key: " .. key
        .. "\r\nanthropic-version: 2023-06-01\r\n\r\n"
      assert(conn.sock:send(one .. one:gsub("claude%-opus%-5", "claude-sonnet-5")))
      assert.equal("claude-opus-5", conn:receive().json.id)
      assert.equal("claude-sonnet-5", conn:receive().json.id)
      conn:close()
    end)

    it("answers a malformed request with 400 and closes", function()
      local conn = server:connect()
      assert(conn.sock:send("NONSENSE\r\n\r\n"))
      local res = conn:receive()
      assert.equal(400, res.status)
      assert.equal("close", res.headers["connection"])
      conn:close()
    end)
  end)

  describe("control API", function()
    it("resets faults, log, counters and buckets but keeps keys", function()
      server:faults { { status = 500, count = 5 } }
      server:ratelimit { rpm = 1 }
      server:add_models { { id = "claude-extra" } }
      assert.equal(500, create(body("x")).status)
      server:reset()
      assert.same({}, server:pending_faults())
      assert.same({}, server:log().requests)
      assert.equal(0, server:connections().total)
      assert.equal(200, create(body("x")).status)
      assert.equal(200, create(body("x")).status)
      assert.equal(404, api("GET", "/v1/models/claude-extra").status)
    end)

    it("answers 404 for an unknown control endpoint", function()
      assert.equal(404, server:request("GET", "/_emulator/nothing").status)
      assert.equal(405, server:request("GET", "/_emulator/reset").status)
    end)
  end)
end)
