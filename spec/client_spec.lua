-- The Messages client against the emulator: success, headers, every error status, retries,
-- timeouts, transport failures, connection reuse, count_tokens and models.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local USER = { { role = "user", content = "Hello, Claude" } }
local MODEL = "claude-opus-4-6"

describe("messages client", function()
  local emu, key, client
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    client = anthropic.new { api_key = key, base_url = emu.url }
  end)
  after_each(function() client:close() end)

  local function create(c, extra)
    local params = { model = MODEL, max_tokens = 64, messages = USER }
    for k, v in pairs(extra or {}) do params[k] = v end
    return (c or client).messages:create(params)
  end

  local function requests(path)
    local out = {}
    for _, r in ipairs(emu:log().requests) do
      if not path or r.path == path then out[#out + 1] = r end
    end
    return out
  end

  it("creates a message", function()
    local msg, err = create()
    assert.is_nil(err)
    assert.equal("message", msg.type)
    assert.equal("assistant", msg.role)
    assert.equal(MODEL, msg.model)
    assert.equal("text", msg.content[1].type)
    assert.is_string(msg.content[1].text)
    assert.equal("end_turn", msg.stop_reason)
    assert.is_true(msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0)
    assert.is_nil(msg.stop_sequence) -- JSON null reads as nil
  end)

  it("sends the documented headers and never the key in the log", function()
    local c = anthropic.new { api_key = key, base_url = emu.url, beta = { "a-2025", "b-2026" },
      headers = { ["x-team"] = "platform" } }
    assert(create(c))
    c:close()
    local r = requests("/v1/messages")[1]
    assert.equal("2026-10-21", r.headers["anthropic-version"]) -- the current version (api_version_spec)
    assert.equal("application/json", r.headers["content-type"])
    assert.equal("application/json", r.headers["accept"])
    assert.equal("anthropic-lua/" .. anthropic.VERSION, r.headers["user-agent"])
    assert.equal("a-2025,b-2026", r.headers["anthropic-beta"])
    assert.equal("platform", r.headers["x-team"])
    assert.equal(key:sub(1, 16) .. "..." .. key:sub(-4), r.headers["x-api-key"])
    assert.is_nil(r.headers["expect"])
  end)

  it("refuses to send a key over plain http to a host that is not loopback", function()
    local c = anthropic.new { api_key = key, base_url = "http://example.invalid" }
    local msg, err = create(c)
    assert.is_nil(msg)
    assert.equal("config", err.kind)
    assert.matches("plain http", err.message)
    assert.has_error(function() anthropic.new { base_url = "ftp://x" } end)
  end)

  it("validates options with clear errors", function()
    local ok, err = pcall(anthropic.new, { api_kye = key })
    assert.is_false(ok)
    assert.is_true(anthropic.is_error(err))
    assert.equal("config", err.kind)
    assert.equal("unknown option 'api_kye' for anthropic.new (known options: api_key, api_version, base_url, beta, " ..
      "ca_file, ca_path, config_file, connect_timeout, dotenv, headers, key_command, key_command_timeout, key_file, " ..
      "key_fn, log, max_body, max_retries, min_speed, pace, profile, proxy, rate_limit, retry_after_cap, " ..
      "spend_limit, stream_deadline, timeout, user_agent)", err.message)
    assert.has_error(function() anthropic.new { timeout = "10" } end)
    assert.has_error(function() anthropic.new { max_retries = -1 } end)
    assert.has_error(function() anthropic.new { headers = { ["x-api-key"] = "k" } } end)
    assert.has_error(function() client.messages:create("hello") end)
    assert.has_error(function() client.messages.create({ model = MODEL }) end)
  end)

  it("closes idempotently; a closed client refuses requests and still prints", function()
    local c = anthropic.new { api_key = key, base_url = emu.url }
    assert(create(c))
    c:close()
    c:close()
    assert.matches("key closed", tostring(c))
    local msg, err = create(c)
    assert.is_nil(msg)
    assert.equal("config", err.kind)
    assert.matches("closed", err.message)
  end)

  -- #int64: needs integers apart from floats (5.3+)
  it("decodes whole numbers as integers #int64", function()
    local msg = assert(create())
    assert.equal("integer", math.type(msg.usage.input_tokens))
    assert.equal(tostring(math.tointeger(msg.usage.input_tokens)), tostring(msg.usage.input_tokens))
  end)

  it("sends the body with members sorted, and refuses params JSON cannot hold before sending", function()
    local pinned = anthropic.new { api_key = key, base_url = emu.url, api_version = "2023-06-01" } -- has top_k
    assert(create(pinned, { metadata = { user_id = "u-1" }, temperature = 0.5, top_k = 5.0 }))
    pinned:close()
    local body = requests("/v1/messages")[1].body
    assert.equal('{"max_tokens":64,"messages":[{"content":"Hello, Claude","role":"user"}],'
      .. '"metadata":{"user_id":"u-1"},"model":"' .. MODEL .. '","temperature":0.5,"top_k":5}', body)
    local msg, err = create(nil, { tools = { { name = "t", input_schema = { type = "object", check = print } } } })
    assert.is_nil(msg)
    assert.equal("config", err.kind)
    assert.equal("the request cannot be sent: cannot encode a function at tools[1].input_schema.check: JSON holds "
      .. "only strings, numbers, booleans, tables and null", err.message)
    assert.equal(1, #requests("/v1/messages")) -- nothing more went out
  end)

  it("refuses a non-streaming request that may run past 10 minutes", function()
    local msg, err = create(nil, { max_tokens = 64000 })
    assert.is_nil(msg)
    assert.equal("config", err.kind)
    assert.matches("stream", err.message)
  end)

  describe("API errors", function()
    local cases = {
      { 400, "invalid_request_error" }, { 401, "authentication_error" }, { 403, "permission_error" },
      { 404, "not_found_error" }, { 409, "conflict_error" }, { 413, "request_too_large" },
      { 429, "rate_limit_error" }, { 500, "api_error" }, { 529, "overloaded_error" },
    }
    for _, case in ipairs(cases) do
      local status, etype = case[1], case[2]
      it("maps HTTP " .. status .. " to the error object", function()
        emu:faults { { path = "/v1/messages", status = status, count = 5 } }
        local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0 }
        local msg, err = create(c)
        c:close()
        assert.is_nil(msg)
        assert.is_true(anthropic.is_error(err))
        assert.equal("api", err.kind)
        assert.equal(status, err.status)
        assert.equal(etype, err.type)
        assert.is_string(err.message)
        assert.matches("^req_", err.request_id)
        assert.equal(1, err.attempts)
        local retryable = status == 409 or status == 429 or status >= 500
        assert.equal(retryable, err.retryable)
        assert.matches(tostring(status), tostring(err))
        assert.matches(etype, tostring(err))
      end)
    end

    it("reads an HTML error page", function()
      emu:faults { { path = "/v1/messages", action = "html_413" } }
      local msg, err = create()
      assert.is_nil(msg)
      assert.equal(413, err.status)
      assert.equal("request_too_large", err.type)
      assert.matches("non%-JSON", err.message)
    end)

    it("reports a malformed JSON answer as a decode error", function()
      emu:faults { { path = "/v1/messages", action = "malformed_json" } }
      local msg, err = create()
      assert.is_nil(msg)
      assert.equal("decode", err.kind)
      assert.equal(200, err.status)
    end)

    it("rejects a bad key with the server's authentication error", function()
      local c = anthropic.new { api_key = emulator.make_key("api03"), base_url = emu.url }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal(401, err.status)
      assert.equal("authentication_error", err.type)
      assert.equal(1, #requests("/v1/messages"))
    end)
  end)

  describe("retries", function()
    it("retries 529 and succeeds, counting attempts", function()
      emu:faults { { path = "/v1/messages", status = 529, count = 2, headers = { ["retry-after-ms"] = "10" } } }
      assert(create())
      assert.equal(3, #requests("/v1/messages"))
    end)

    it("gives up after max_retries and says how many attempts it made", function()
      emu:faults { { path = "/v1/messages", status = 500, count = 10, headers = { ["retry-after-ms"] = "5" } } }
      local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 3 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal(4, err.attempts)
      assert.equal(4, #requests("/v1/messages"))
      assert.is_true(err.retryable)
    end)

    for _, status in ipairs { 400, 401, 403, 404 } do
      it("does not retry " .. status, function()
        emu:faults { { path = "/v1/messages", status = status, count = 5 } }
        local _, err = create()
        assert.equal(1, err.attempts)
        assert.equal(1, #requests("/v1/messages"))
      end)
    end

    it("never retries the spend-cap 429", function()
      emu:faults { { path = "/v1/messages", action = "spend_cap", count = 5 } }
      local _, err = create()
      assert.equal(429, err.status)
      assert.equal("enforced_spend_limit_reached", err.details.error_code)
      assert.is_false(err.retryable)
      assert.equal(1, #requests("/v1/messages"))
    end)

    it("honours retry-after, and falls back to backoff above the cap", function()
      local logged = {}
      local c = anthropic.new { api_key = key, base_url = emu.url, retry_after_cap = 2,
        log = function(level, msg) logged[#logged + 1] = level .. " " .. msg end }
      emu:faults { { path = "/v1/messages", status = 429, headers = { ["retry-after"] = "1" } } }
      assert(create(c))
      assert.matches("retrying in 1%.00s", logged[1])
      local log = requests("/v1/messages")
      assert.is_true(log[2].time - log[1].time >= 0.9)
      emu:reset()
      logged = {}
      emu:faults { { path = "/v1/messages", status = 429, headers = { ["retry-after"] = "3" } } }
      assert(create(c))
      c:close()
      local delay = tonumber(logged[1]:match("retrying in ([%d.]+)s"))
      assert.is_true(delay >= 0.375 and delay <= 0.5, "backoff n=0 lies in [0.375, 0.5], got " .. delay)
    end)

    it("obeys x-should-retry both ways", function()
      emu:faults { { path = "/v1/messages", status = 400, headers = { ["x-should-retry"] = "true",
        ["retry-after-ms"] = "5" } } }
      assert(create())
      assert.equal(2, #requests("/v1/messages"))
      emu:reset()
      emu:faults { { path = "/v1/messages", status = 503, count = 3, headers = { ["x-should-retry"] = "false" } } }
      local _, err = create()
      assert.equal(503, err.status)
      assert.equal(1, #requests("/v1/messages"))
    end)

    it("keeps backoff delays within the SDK bounds", function()
      local delays = {}
      local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 2,
        log = function(_, msg) delays[#delays + 1] = tonumber(msg:match("retrying in ([%d.]+)s")) end }
      emu:faults { { path = "/v1/messages", status = 500, count = 2 } }
      assert(create(c))
      c:close()
      assert.equal(2, #delays)
      assert.is_true(delays[1] >= 0.375 and delays[1] <= 0.5)
      assert.is_true(delays[2] >= 0.75 and delays[2] <= 1.0)
    end)
  end)

  describe("transport failures", function()
    it("times out an attempt and retries it", function()
      emu:faults { { path = "/v1/messages", action = "stall" } }
      local c = anthropic.new { api_key = key, base_url = emu.url, timeout = 0.3, max_retries = 1 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(err)
      assert.is_table(msg)
      assert.equal(2, #requests("/v1/messages"))
    end)

    it("reports a timeout after the last attempt", function()
      emu:faults { { path = "/v1/messages", action = "stall", count = 2 } }
      local c = anthropic.new { api_key = key, base_url = emu.url, timeout = 0.2, max_retries = 0 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal("timeout", err.kind)
      assert.is_true(err.ambiguous)
    end)

    it("reports a refused connection", function()
      local c = anthropic.new { api_key = key, base_url = "http://127.0.0.1:9", max_retries = 1 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal("connection", err.kind)
      assert.equal(2, err.attempts)
      assert.is_false(err.ambiguous)
      util.assert_no_leak(tostring(err), key, "tostring(err)")
    end)

    it("reports a reset in the middle of the body", function()
      emu:faults { { path = "/v1/messages", action = "reset_after_headers", count = 3 } }
      local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal("connection", err.kind)
      assert.is_true(err.ambiguous)
    end)

    it("recovers from a reset before headers", function()
      emu:faults { { path = "/v1/messages", action = "reset_before_headers" } }
      assert(create())
      assert.equal(2, #requests("/v1/messages"))
    end)

    it("refuses an answer larger than max_body", function()
      local c = anthropic.new { api_key = key, base_url = emu.url, max_body = 64 }
      local msg, err = create(c)
      c:close()
      assert.is_nil(msg)
      assert.equal("connection", err.kind)
      assert.matches("larger than", err.message)
      assert.equal(1, err.attempts)
    end)
  end)

  it("reuses one connection for 20 sequential requests", function()
    assert(create())
    emu:reset()
    local before = client._transport.engine:connections()
    for _ = 1, 20 do assert(create()) end
    assert.equal(1, emu:connections().total) -- one connection served all 20
    assert.equal(before, client._transport.engine:connections()) -- and it is the one already open
  end)

  it("counts tokens like the Messages API does", function()
    local counted = assert(client.messages:count_tokens { model = MODEL, messages = USER })
    local msg = assert(create())
    assert.equal(msg.usage.input_tokens, counted.input_tokens)
  end)

  describe("models", function()
    it("gets one model and 404s an unknown one", function()
      local m = assert(client.models:get(MODEL))
      assert.equal(MODEL, m.id)
      assert.equal("model", m.type)
      local none, err = client.models:get("claude-nonexistent")
      assert.is_nil(none)
      assert.equal(404, err.status)
      assert.has_error(function() client.models:get() end)
    end)

    it("pages forwards and backwards", function()
      local models = {}
      for i = 1, 45 do
        models[i] = { id = string.format("test-model-%02d", i), display_name = "Test " .. i,
          created_at = string.format("2020-01-01T00:%02d:00Z", i) }
      end
      emu:request("POST", "/_emulator/models", { models = models })
      local all = assert(client.models:list { limit = 1000 }:all())
      local paged = assert(client.models:list { limit = 7 }:all())
      assert.equal(#all, #paged)
      for i = 1, #all do assert.equal(all[i].id, paged[i].id) end
      local pages = 0
      for _ in client.models:list({ limit = 7 }):pages() do pages = pages + 1 end
      assert.equal(math.ceil(#all / 7), pages)
      -- backwards from the last item
      local back = {}
      for m in client.models:list({ limit = 5, before_id = all[#all].id }):each() do back[#back + 1] = m.id end
      assert.equal(#all - 1, #back)
      local page = assert(client.models:list({ limit = 3 }):page())
      assert.equal(3, #page.data)
      assert.is_true(page.has_more)
      assert.equal(page.data[1].id, page.first_id)
    end)

    it("raises the error object from an iterator", function()
      emu:faults { { path = "/v1/models", status = 403 } }
      local ok, err = pcall(function() for _ in client.models:list():each() do end end)
      assert.is_false(ok)
      assert.is_true(anthropic.is_error(err))
      assert.equal(403, err.status)
      emu:faults { { path = "/v1/models", status = 403 } }
      local all, err2 = client.models:list():all()
      assert.is_nil(all)
      assert.equal(403, err2.status)
    end)
  end)
end)
