-- Streaming Messages against the emulator: event order, text(), final() equal to create(), every
-- stream fault as a typed error, retries before the stream starts, cancel on break, close, the
-- engine's bounded queue and step budget, the CLI and the example; then the accumulator alone
-- over scripted events; and (tag "huge") a 100 MB stream with flat memory.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"
local json = require "anthropic.json"
local socket = require "socket"
local stream = require "anthropic.stream"
local util = require "helpers.util"

local MODEL = "claude-opus-4-6"
local WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"

local function params(extra)
  local p = { model = MODEL, max_tokens = 256, messages = { { role = "user", content = "Hello, Claude" } } }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

local WEATHER = {
  name = "get_weather", description = "The weather in a city",
  input_schema = { type = "object", required = { "city", "unit", "days" }, properties = {
    city = { type = "string" }, unit = { enum = { "celsius", "fahrenheit" } },
    days = { type = "array", items = { type = "integer", minimum = 3 } } } },
}

local function without_id(msg)
  local m = {}
  for k, v in pairs(msg) do m[k] = v end
  m.id = nil
  return m
end

local function types(events)
  local out = {}
  for i, ev in ipairs(events) do out[i] = ev.type end
  return out
end

local eventually = util.eventually

describe("streaming messages", function()
  local emu, key, client, eng
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    client = anthropic.new { api_key = key, base_url = emu.url }
    eng = client._transport.engine
  end)
  after_each(function() client:close() end)

  local function messages_log()
    local out = {}
    for _, r in ipairs(emu:log().requests) do
      if r.path == "/v1/messages" then out[#out + 1] = r end
    end
    return out
  end

  it("yields the events in the documented order, pings only when asked", function()
    local s = assert(client.messages:stream(params { messages = { { role = "user", content = "Hi" } } }))
    local events = {}
    for ev in s:events { ping = true } do events[#events + 1] = ev end
    assert.same({ "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
      "message_delta", "message_stop" }, types(events))
    assert.equal("You said: Hi", events[4].delta.text)
    assert.matches("^req_", s.request_id)
    assert.equal("text/event-stream; charset=utf-8", s.headers["content-type"])
    local log = messages_log()
    assert.equal(1, #log)
    assert.is_true(json.decode(log[1].body).stream)

    local s2 = assert(client.messages:stream(params { messages = { { role = "user", content = "Hi" } } }))
    local names = {}
    for ev in s2:events() do names[#names + 1] = ev.type end
    assert.same({ "message_start", "content_block_start", "content_block_delta", "content_block_stop",
      "message_delta", "message_stop" }, names)
  end)

  it("does not change the caller's params", function()
    local p = params()
    assert(client.messages:stream(p)):close()
    assert.is_nil(p.stream)
  end)

  it("iterates the text deltas", function()
    local p = params { messages = { { role = "user", content = WORDS } } }
    local s = assert(client.messages:stream(p))
    local pieces = {}
    for text in s:text() do pieces[#pieces + 1] = text end
    assert.is_true(#pieces > 3)
    assert.equal("You said: " .. WORDS, table.concat(pieces))
    local msg = assert(s:final()) -- after the iterator: the same message, already complete
    assert.equal(table.concat(pieces), msg.content[1].text)
  end)

  describe("final() equals create() for the same request", function()
    local cases = {
      text = params { messages = { { role = "user", content = WORDS } } },
      ["tool use"] = params { tools = { WEATHER },
        messages = { { role = "user", content = "Call get_weather for Paris" } } },
      ["forced tool"] = params { tools = { WEATHER }, tool_choice = { type = "tool", name = "get_weather" } },
      ["stop sequence"] = params { stop_sequences = { "seven" }, messages = { { role = "user", content = WORDS } } },
      ["max tokens"] = params { max_tokens = 3, system = "Be brief.",
        messages = { { role = "user", content = WORDS } } },
    }
    for name, p in pairs(cases) do
      it(name, function()
        local created = assert(client.messages:create(p))
        local s = assert(client.messages:stream(p))
        local start
        for ev in s:events() do
          if ev.type == "message_start" then start = ev end
        end
        local final = assert(s:final())
        assert.same(without_id(created), without_id(final))
        assert.matches("^msg_", final.id)
        assert.equal(start.message.id, final.id)
        assert.same({}, start.message.content) -- the events handed out are not changed afterwards
        if name:find("tool") then
          assert.equal("tool_use", final.stop_reason)
          assert.same({ city = "example city", unit = "celsius", days = { 3 } }, final.content[2].input)
        end
      end)
    end

    it("with one byte per HTTP chunk", function()
      emu:stream_options { chunk_size = 1 }
      local p = cases["tool use"]
      local final = assert(assert(client.messages:stream(p)):final())
      assert.same(without_id(assert(client.messages:create(p))), without_id(final))
    end)
  end)

  describe("stream faults give typed errors", function()
    local function fault(action, after, client_opts)
      emu:faults { { path = "/v1/messages", action = action, after = after } }
      local c = client
      if client_opts then
        client_opts.api_key, client_opts.base_url = key, emu.url
        c = anthropic.new(client_opts)
      end
      local s = assert(c.messages:stream(params { messages = { { role = "user", content = WORDS } } }))
      local seen = 0
      local ok, err = pcall(function()
        for _ in s:events { ping = true } do seen = seen + 1 end
      end)
      assert.is_false(ok)
      assert.is_true(anthropic.is_error(err))
      local again, err2 = s:final()
      assert.is_nil(again)
      assert.equal(err, err2)
      return err, seen
    end

    it("an error event is an api error with the event's type", function()
      local err, seen = fault("stream_error_after", 3)
      assert.equal(3, seen)
      assert.equal("api", err.kind)
      assert.equal("overloaded_error", err.type)
      assert.equal("Overloaded", err.message)
      assert.matches("^req_", err.request_id)
      assert.is_false(err.retryable)
      assert.matches("overloaded_error", tostring(err))
      assert.equal(1, #messages_log()) -- not retried
    end)

    it("an error event as the very first event", function()
      local err, seen = fault("stream_error_after", 0)
      assert.equal(0, seen)
      assert.equal("overloaded_error", err.type)
    end)

    it("a stream that ends before message_stop is a connection error counting the events", function()
      local err, seen = fault("stream_truncate_after", 4)
      assert.equal(4, seen)
      assert.equal("connection", err.kind)
      assert.equal(4, err.events)
      assert.matches("after 4 events, before message_stop", err.message)
      assert.equal(1, #messages_log())
    end)

    it("a reset mid-stream is a connection error", function()
      local err, seen = fault("stream_reset_after", 2)
      assert.equal(2, seen)
      assert.equal("connection", err.kind)
      assert.matches("broke after 2 events", err.message)
      assert.is_true(err.ambiguous)
      assert.equal(1, #messages_log())
    end)

    it("a stall is a timeout after the idle limit, not retried", function()
      local t0 = socket.gettime()
      local err, seen = fault("stream_stall_after", 3, { timeout = 0.3 })
      local took = socket.gettime() - t0
      assert.equal(3, seen)
      assert.equal("timeout", err.kind)
      assert.matches("stalled after 3 events", err.message)
      assert.matches("no data received for 0.3 seconds", err.message)
      assert.is_true(took >= 0.3 and took < 3, "took " .. took)
      assert.equal(1, #messages_log())
      eventually(function() return messages_log()[1].canceled end, "the stalled request to be canceled")
    end)
  end)

  describe("stream_deadline", function()
    local function deadline_client(seconds)
      return anthropic.new { api_key = key, base_url = emu.url, stream_deadline = seconds }
    end

    it("cuts a stream that drips one byte every 5 s at the deadline, as a timeout", function()
      emu:faults { { path = "/v1/messages", action = "slow_drip", rate = 0.2, after = 2 } }
      local c = deadline_client(0.4)
      local t0 = socket.gettime()
      local s = assert(c.messages:stream(params { messages = { { role = "user", content = WORDS } } }))
      local msg, err = s:final()
      local took = socket.gettime() - t0
      assert.is_nil(msg)
      assert.equal("timeout", err.kind)
      assert.equal("the stream was cut at its deadline after 2 events, before message_stop: "
        .. "request timed out: the stream_deadline of 0.4 seconds passed", err.message)
      assert.is_false(err.retryable)
      assert.is_true(took >= 0.4 and took < 3, "took " .. took)
      assert.equal(1, #messages_log())
      eventually(function() return messages_log()[1].canceled end, "the dripping request to be canceled")
      c:close()
    end)

    it("counts the wait for the headers and for a retry", function()
      emu:faults { { path = "/v1/messages", action = "stall" } }
      local c = deadline_client(0.3)
      local t0 = socket.gettime()
      local s, err = c.messages:stream(params())
      assert.is_nil(s)
      assert.equal("timeout", err.kind)
      assert.matches("the stream_deadline of 0.3 seconds passed", err.message)
      assert.equal(1, err.attempts) -- not retried
      assert.is_true(socket.gettime() - t0 < 3)
      emu:reset()
      emu:faults { { path = "/v1/messages", status = 529, headers = { ["retry-after-ms"] = "5000" } } }
      t0 = socket.gettime()
      s, err = c.messages:stream(params())
      assert.is_nil(s)
      assert.equal("timeout", err.kind)
      assert.matches("the stream_deadline of 0.3 seconds passed while waiting to retry", err.message)
      assert.is_true(socket.gettime() - t0 < 3)
      c:close()
    end)

    it("leaves a stream that ends in time alone, and plain requests too", function()
      local c = deadline_client(30)
      assert.equal("You said: Hello, Claude", assert(assert(c.messages:stream(params())):final()).content[1].text)
      assert(c.messages:create(params()))
      c:close()
    end)

    it("is checked like every time option", function()
      for _, bad in ipairs { 0, -1, 0 / 0, math.huge, 1e-9, 86401 } do
        local ok, err = pcall(anthropic.new, { api_key = key, stream_deadline = bad })
        assert.is_false(ok)
        assert.matches("option 'stream_deadline' for anthropic.new must be a number of seconds from 0.001 to 86400",
          tostring(err))
      end
      local ok, err = pcall(anthropic.new, { api_key = key, stream_deadline = "5" })
      assert.is_false(ok)
      assert.matches("option 'stream_deadline' for anthropic.new must be a number %(got string%)", tostring(err))
    end)
  end)

  it("keeps the container of message_delta in final(), as create() returns it", function()
    local p = params { container = "container_011CZ" }
    local created = assert(client.messages:create(p))
    assert.equal("container_011CZ", created.container.id)
    local s = assert(client.messages:stream(p))
    local delta
    for e in s:events() do
      if e.type == "message_delta" then delta = e end
    end
    assert.equal("container_011CZ", delta.delta.container.id)
    local final = assert(s:final())
    assert.equal("container_011CZ", final.container.id)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", final.container.expires_at)
    final.container.expires_at, created.container.expires_at = nil, nil
    assert.same(without_id(created), without_id(final))
  end)

  it("keeps a long healthy stream going past the timeout (the timeout is an idle limit)", function()
    emu:stream_options { event_delay = 0.1 }
    local c = anthropic.new { api_key = key, base_url = emu.url, timeout = 0.5 }
    local t0 = socket.gettime()
    local msg = assert(assert(c.messages:stream(params { messages = { { role = "user", content = WORDS } } })):final())
    assert.is_true(socket.gettime() - t0 > 0.5)
    assert.equal("You said: " .. WORDS, msg.content[1].text)
  end)

  describe("before the stream starts", function()
    it("retries a 529 like any request", function()
      emu:faults { { path = "/v1/messages", status = 529, headers = { ["retry-after-ms"] = "10" } } }
      local logged = {}
      local c = anthropic.new { api_key = key, base_url = emu.url,
        log = function(level, msg) logged[#logged + 1] = level .. " " .. msg end }
      local s = assert(c.messages:stream(params()))
      assert.equal("You said: Hello, Claude", assert(s:final()).content[1].text)
      local log = messages_log()
      assert.equal(2, #log)
      assert.equal(529, log[1].status)
      assert.equal(200, log[2].status)
      assert.matches("attempt 1 failed %(HTTP 529%)", table.concat(logged, "\n"))
    end)

    it("returns an API error that is not retried", function()
      local s, err = client.messages:stream { model = MODEL, messages = { { role = "user", content = "x" } } }
      assert.is_nil(s)
      assert.equal("api", err.kind)
      assert.equal(400, err.status)
      assert.equal("invalid_request_error", err.type)
      assert.matches("max_tokens", err.message)
      assert.equal(1, #messages_log())
    end)

    it("returns a 529 after the retries run out", function()
      emu:faults { { path = "/v1/messages", status = 529, count = 2, headers = { ["retry-after-ms"] = "1" } } }
      local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 1 }
      local s, err = c.messages:stream(params())
      assert.is_nil(s)
      assert.equal(529, err.status)
      assert.equal(2, err.attempts)
    end)

    it("says what came back when a 200 answer is not an event stream", function()
      -- an HTML page (a proxy's), with the key echoed in it: quoted, scrubbed
      emu:faults { { path = "/v1/messages", status = 200, headers = { ["content-type"] = "text/html" },
        body = "<html><body><h1>Gateway says hello</h1><p>" .. key .. "</p></body></html>" } }
      local s, err = client.messages:stream(params())
      assert.is_nil(s)
      assert.equal("decode", err.kind)
      assert.equal(200, err.status)
      assert.is_false(err.retryable)
      assert.matches('^a stream was asked for, but the answer is "text/html", not text/event%-stream '
        .. '%(%d+ bytes: "Gateway says hello ', err.message)
      assert.is_nil(tostring(err):find(key, 1, true))
      -- a message as JSON: named as such, not "connection"
      local msg = json.encode { id = "msg_1", type = "message", role = "assistant", content = {} }
      emu:faults { { path = "/v1/messages", status = 200, headers = { ["content-type"] = "application/json" },
        body = msg } }
      s, err = client.messages:stream(params())
      assert.is_nil(s)
      assert.equal("decode", err.kind)
      assert.matches('the answer is "application/json", not text/event%-stream %(%d+ bytes: "{', err.message)
      -- a JSON error body: the API error it says
      emu:faults { { path = "/v1/messages", status = 200, headers = { ["content-type"] = "application/json" },
        body = json.encode { type = "error", error = { type = "overloaded_error", message = "Overloaded" } } } }
      s, err = client.messages:stream(params())
      assert.is_nil(s)
      assert.equal("api", err.kind)
      assert.equal("overloaded_error", err.type)
      assert.equal("Overloaded", err.message)
      assert.equal(1 + 1 + 1, #messages_log()) -- none retried
    end)

    it("returns connection and timeout errors", function()
      local c = anthropic.new { api_key = key, base_url = "http://127.0.0.1:9", max_retries = 0 }
      local s, err = c.messages:stream(params())
      assert.is_nil(s)
      assert.equal("connection", err.kind)
      emu:faults { { path = "/v1/messages", action = "stall" } }
      c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0, timeout = 0.2 }
      s, err = c.messages:stream(params())
      assert.is_nil(s)
      assert.equal("timeout", err.kind)
    end)
  end)

  describe("cancel", function()
    local long = params { messages = { { role = "user", content = WORDS .. " " .. WORDS .. " " .. WORDS } } }

    -- #lua54: break closes the stream through 5.4's for-loop closing value; 5.1 and LuaJIT have none
    it("breaking out of the loop cancels the transfer #lua54", function()
      emu:stream_options { event_delay = 0.05 }
      local live = eng:step()
      local s = assert(client.messages:stream(long))
      assert.equal(live + 1, eng:step())
      local n = 0
      for _ in s:text() do
        n = n + 1
        if n == 2 then break end
      end
      assert.equal(live, eng:step()) -- the loop closed the stream: no live transfer left
      assert.matches("closed", tostring(s))
      eventually(function() return messages_log()[1].canceled end, "the emulator to log the cancel")
      local msg, err = s:final()
      assert.is_nil(msg)
      assert.equal("canceled", err.kind)
    end)

    it("dropping the stream cancels the transfer", function()
      emu:stream_options { event_delay = 0.05 }
      local live = eng:step()
      local function open_and_drop() -- in a call of its own: no stale register keeps the stream
        local s = assert(client.messages:stream(long))
        assert(s:next())
      end
      open_and_drop()
      collectgarbage()
      collectgarbage()
      assert.equal(live, eng:step())
      eventually(function() return messages_log()[1].canceled end, "the emulator to log the cancel")
    end)

    it("close is idempotent", function()
      emu:stream_options { event_delay = 0.05 }
      local live = eng:step()
      local s = assert(client.messages:stream(long))
      assert.matches("^anthropic.stream %(0 events, open%)$", tostring(s))
      s:close()
      s:close()
      assert.equal(live, eng:step())
      local ev, err = s:next()
      assert.is_nil(ev)
      assert.equal("canceled", err.kind)
      assert.has_error(function() for _ in s:events() do end end)
    end)

    -- (5.4 syntax, compiled from text: this file parses on 5.1 and LuaJIT too)
    it("a <close> variable closes the stream #lua54", function()
      emu:stream_options { event_delay = 0.05 }
      local live = eng:step()
      local scope = assert(load([[
        local client, long, eng, live = ...
        local s2 <close> = assert(client.messages:stream(long))
        assert(s2:next())
        assert(eng:step() == live + 1, "the stream is open inside its scope")
      ]]))
      scope(client, long, eng, live)
      assert.equal(live, eng:step())
    end)

    it("a stream closed right after message_stop still gives its message", function()
      local s = assert(client.messages:stream(params()))
      for ev in s:events() do
        if ev.type == "message_stop" then break end
      end
      assert.equal("You said: Hello, Claude", assert(s:final()).content[1].text)
    end)

    it("a completed stream closes without a cancel", function()
      local s = assert(client.messages:stream(params()))
      assert(s:final())
      s:close()
      assert(s:final()) -- still the message
      assert.is_nil(messages_log()[1].canceled)
    end)
  end)

  it("runs two streams of one client side by side", function()
    local a = assert(client.messages:stream(params { messages = { { role = "user", content = "first " .. WORDS } } }))
    local b = assert(client.messages:stream(params { messages = { { role = "user", content = "second " .. WORDS } } }))
    local ta, tb = {}, {}
    local ia, ib = a:text(), b:text()
    local x, y
    repeat
      x, y = ia(), ib()
      ta[#ta + 1], tb[#tb + 1] = x, y
    until x == nil and y == nil
    assert.equal("You said: first " .. WORDS, table.concat(ta))
    assert.equal("You said: second " .. WORDS, table.concat(tb))
  end)

  -- Two tasks each reading a stream by `read(s, on_text)`; their deltas must arrive interleaved.
  local function side_by_side(read)
    emu:stream_options { event_delay = 0.02 }
    local got = {}
    local function job(word)
      return anthropic.spawn(function()
        local p = params { messages = { { role = "user", content = word .. " " .. WORDS } } }
        local s = assert(client.messages:stream(p))
        local parts = {}
        read(s, function(text)
          parts[#parts + 1] = text
          got[#got + 1] = word
        end)
        return table.concat(parts), assert(s:final()).stop_reason
      end)
    end
    local a, b = job("alpha"), job("beta")
    anthropic.run()
    assert.same({ "You said: alpha " .. WORDS, "end_turn" }, { a:wait() })
    assert.same({ "You said: beta " .. WORDS, "end_turn" }, { b:wait() })
    local switches = 0 -- the two streams' deltas arrived interleaved
    for i = 2, #got do
      if got[i] ~= got[i - 1] then switches = switches + 1 end
    end
    assert.is_true(switches >= 2, "switches " .. switches)
  end

  -- #yield_in_for: a task waits inside the for loop's iterator, where PUC Lua 5.1 cannot yield
  -- (its for loop calls the iterator across a C boundary); left out on PUC 5.1 only, where the
  -- test below checks the error that says so, and the one after it reads by hand
  it("streams inside tasks, side by side, without blocking, in for loops #yield_in_for", function()
    side_by_side(function(s, on_text)
      for text in s:text() do on_text(text) end
    end)
  end)

  it("streams inside tasks, side by side, without blocking, calling the iterators by hand", function()
    side_by_side(function(s, on_text)
      local next_text = s:text()
      local text = next_text()
      while text ~= nil do
        on_text(text)
        text = next_text()
      end
    end)
    side_by_side(function(s, on_text)
      local ev, err = s:next()
      while ev do
        if ev.type == "content_block_delta" then on_text(ev.delta.text) end
        ev, err = s:next()
      end
      assert.is_nil(err)
    end)
  end)

  it("a task reading a stream in a for loop: the VM yields there, or (PUC 5.1) the error says what to do", function()
    local compat = require "anthropic.compat"
    local t = anthropic.spawn(function()
      local s = assert(client.messages:stream(params()))
      local parts = {}
      for text in s:text() do parts[#parts + 1] = text end
      return table.concat(parts)
    end)
    anthropic.run()
    local text, err = t:wait()
    if compat.YIELD_IN_FOR then
      assert.is_nil(err)
      assert.equal("You said: Hello, Claude", text)
    else
      assert.is_nil(text)
      assert.matches("a task cannot wait inside a for loop's iterator on PUC Lua 5.1", err, 1, true)
      assert.matches("s:next()", err, 1, true)
    end
    assert.equal(0, require("anthropic.tasks").count()) -- (the failed task waits no more)
  end)

  describe("the engine", function()
    local k
    before_each(function() k = assert(core.load_key { api_key = key, env = {} }) end)
    after_each(function() k:close() end)

    local function submit(e, extra)
      local r = {
        method = "POST", url = emu.url .. "/v1/messages", key = k, stream = true, ca_file = emu.ca_file,
        headers = { "anthropic-version: 2023-06-01", "content-type: application/json" },
        body = json.encode(params { stream = true, messages = { { role = "user", content = WORDS } } }),
      }
      for name, v in pairs(extra or {}) do r[name] = v end
      return assert(e:submit(r))
    end

    local function drain(e, t)
      local n = 0
      while true do
        local name = t:next_event()
        if name then n = n + 1
        elseif t:done() then return n
        else e:wait(1) end
      end
    end

    it("bounds the queue when nobody reads it, and loses nothing", function()
      emu:stream_options { text_repeat = 4000 } -- 4000 deltas of about 120 bytes
      local e = core.engine()
      local t = submit(e)
      local most = 0
      for _ = 1, 300 do -- until the queue is full, then 20 more steps
        e:wait(0.01)
        most = math.max(most, t:queued())
        if most >= 256 then break end
      end
      for _ = 1, 20 do
        e:wait(0.01)
        most = math.max(most, t:queued())
      end
      assert.is_false(t:done())
      assert.is_true(most >= 256, "queued " .. most)
      assert.is_true(most <= 256 + 160, "queued " .. most) -- one delivery of 16 KiB at most past the mark
      local n = drain(e, t)
      local res = t:result()
      assert.equal(4000 * 6 + 6, n) -- 6 text deltas repeated, and 6 other events
      assert.equal(n, res.events)
      assert.is_true(res.clean)
      assert.is_nil(res.error)
      t:close()
      e:close()
    end)

    it("takes in at most one delivery (16 KiB) per step once the step's budget is spent", function()
      emu:stream_options { text_repeat = 2000 } -- about 240 KB of events
      local e = core.engine()
      e:budget(1, 1)
      local t = submit(e)
      local n, most, steps = 0, 0, 0
      while not t:done() or t:queued() > 0 do
        e:wait(1) -- one step
        steps = steps + 1
        local bytes = 0
        while true do
          local name, data = t:next_event()
          if not name then break end
          n, bytes = n + 1, bytes + #data
        end
        most = math.max(most, bytes)
      end
      assert.equal(2000 * 6 + 6, n)
      assert.is_true(most <= 16384, "one step took in " .. most .. " bytes of events")
      assert.is_true(steps >= 240000 / 16384, "steps " .. steps)
      assert.is_true(t:result().clean)
      e:close()
    end)

    it("fails a stream whose event is larger than max_event", function()
      local e = core.engine()
      local t = submit(e, { max_event = 64 })
      assert.equal(0, drain(e, t))
      local res = t:result()
      assert.equal("connection", res.error.kind)
      assert.matches("larger than the limit of 64 bytes", res.error.message)
      assert.is_false(res.retryable)
      assert.equal(1, res.attempts)
      e:close()
    end)

    it("buffers a non-2xx answer as usual", function()
      emu:faults { { path = "/v1/messages", status = 400 } }
      local e = core.engine()
      local t = submit(e, { max_retries = 0 })
      assert.equal(0, drain(e, t))
      local res = t:result()
      assert.equal(400, res.status)
      assert.is_false(t:started())
      assert.is_nil(res.started)
      assert.matches("invalid_request_error", res.body)
      e:close()
    end)
  end)

  describe("the anthropic messages command", function()
    local function run(args, env)
      local code = "local args = ...\n" ..
        "os.exit(require('anthropic.cli').main({ 'messages', " .. args .. " }))"
      env = env or {}
      env.ANTHROPIC_API_KEY = env.ANTHROPIC_API_KEY or key
      env.ANTHROPIC_BASE_URL = env.ANTHROPIC_BASE_URL or emu.url
      env.ANTHROPIC_AUTH_TOKEN, env.ANTHROPIC_ADMIN_KEY = false, false
      return util.run_lua(code, env)
    end

    it("streams the reply to stdout and the usage to stderr", function()
      local out, err, status = run("'Hello there', '--max-tokens', '64', '--system', 'Be brief.'")
      assert.equal(0, status, err)
      assert.equal("You said: Hello there\n", out)
      assert.matches("input tokens", err)
      local body = json.decode(messages_log()[1].body)
      assert.equal(64, body.max_tokens)
      assert.equal("Be brief.", body.system)
      assert.is_true(body.stream)
    end)

    it("reports errors on stderr with exit code 1, and usage errors with 2", function()
      local out, err, status = run("'Hi', '--model', 'no-such-model'")
      assert.equal(1, status)
      assert.equal("", out)
      assert.matches("not_found_error", err)
      out, err, status = run("")
      assert.equal(2, status)
      assert.equal("", out)
      assert.matches("usage: anthropic messages", err)
      out, err, status = run("'Hi', '--max-tokens', 'lots'")
      assert.equal("", out)
      assert.equal(2, status)
      assert.matches("%-%-max%-tokens", err)
      emu:faults { { path = "/v1/messages", action = "stream_truncate_after", after = 3 } }
      out, err, status = run("'Hi'")
      assert.equal(1, status)
      assert.matches("before message_stop", err)
      util.assert_no_leak(out .. err, key, "the command's output")
    end)
  end)

  it("runs examples/stream.lua", function()
    local out, err, status = util.run_lua("dofile('examples/stream.lua')", {
      ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_AUTH_TOKEN = false })
    assert.equal(0, status, err)
    assert.matches("^You said: ", out)
  end)

  -- Memory is measured in a fresh process. The code there has status(field) (a /proc/self/status
  -- figure in kB), client and ask(text), after one warm-up stream and a full collection; it
  -- prints its figures on one line, which come back as numbers.
  local MEASURED = util.PROC_STATUS .. [[
      local anthropic = require "anthropic"
      local client = anthropic.new { base_url = os.getenv("ANTHROPIC_BASE_URL") }
      local function ask(text)
        return { model = "claude-opus-4-6", max_tokens = 20000, messages = { { role = "user", content = text } } }
      end
      assert(assert(client.messages:stream(ask("warm up"))):final())
      collectgarbage()
  ]]
  local function run_measured(code)
    local out, err, status = util.run_lua(MEASURED .. code, { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url })
    assert.equal(0, status, err)
    local figures = {}
    for v in out:match("^[^\n]*"):gmatch("%d+") do figures[#figures + 1] = tonumber(v) end
    return table.unpack(figures)
  end

  it("consumes a 100 MB stream with peak RSS growth under 20 MB #huge", function()
    -- one text delta of 64 KiB, sent 1600 times: 105 MB of events, read in a fresh process
    emu:stream_options { text_repeat = 1600 }
    local t0 = socket.gettime()
    local bytes, n, before, peak = run_measured [[
      local before = status("VmHWM")
      local bytes, n = 0, 0
      local s = assert(client.messages:stream(ask(string.rep("x", 65536)))):keep_content(false)
      for text in s:text() do
        bytes, n = bytes + #text, n + 1
      end
      local msg = assert(s:final())
      assert(#msg.content == 0 and msg.usage.output_tokens > 0 and msg.stop_reason == "end_turn")
      print(bytes, n, before, status("VmHWM"))
    ]]
    assert.equal(1600, n)
    assert.equal(1600 * (65536 + #"You said: "), bytes)
    assert.is_true(peak - before < 20 * 1024, string.format("peak RSS grew by %d kB", peak - before))
    print(string.format("# 100 MB stream: %.1f s, peak RSS %d kB -> %d kB", socket.gettime() - t0, before, peak))
  end)

  it("keeps a long text for final() outside the Lua heap, at most twice its size at the end #huge", function()
    -- 160 deltas of 64 KiB: 10 MB of text kept; the Lua heap must not carry it while streaming
    emu:stream_options { text_repeat = 160 }
    local bytes, heap, before, peak = run_measured [[
      local before, heap = status("VmRSS"), 0
      local f = io.open("/proc/self/clear_refs", "w")
      f:write("5")
      f:close()
      local bytes = 0
      local s = assert(client.messages:stream(ask(string.rep("x", 65536))))
      for text in s:text() do
        bytes = bytes + #text
        heap = math.max(heap, collectgarbage("count"))
      end
      local msg = assert(s:final())
      assert(#msg.content[1].text == bytes, "final() has all of the text")
      print(bytes, math.floor(heap), before, status("VmHWM"))
    ]]
    assert.equal(160 * (65536 + #"You said: "), bytes)
    local text_kb = math.floor(bytes / 1024)
    assert.is_true(heap < text_kb / 2, string.format("Lua heap reached %d kB while streaming %d kB", heap, text_kb))
    -- twice the text while final's string is made from the kept text, plus the 64 KiB deltas read
    -- and dropped, and the engine's queue (1 MiB) and batch
    assert.is_true(peak - before < 2 * text_kb + 12 * 1024,
      string.format("peak RSS grew by %d kB for %d kB of text", peak - before, text_kb))
    print(string.format("# 10 MB of text kept: Lua heap at most %d kB, peak RSS +%d kB", heap, peak - before))
  end)
end)

describe("stream accumulation (scripted events)", function()
  -- a transfer that hands out the given events, then ends with result
  -- With batch = true, t:next_texts hands over the text deltas at the head of the queue that
  -- share an index, as the engine's transfers do (at most max; 0 at any other event).
  local function scripted(events, result, batch)
    local i = 0
    local function text_delta(e)
      local d = e and type(e[2]) == "table" and e[2]
      if d and e[1] == "content_block_delta" and d.delta.type == "text_delta" then return d.delta.text, d.index end
    end
    return {
      headers = function() return { ["request-id"] = "req_scripted" } end,
      next_event = function()
        i = i + 1
        local e = events[i]
        if e then return e[1], type(e[2]) == "string" and e[2] or json.encode(e[2]) end
      end,
      next_texts = function(_, buf, max)
        local n, first = 0, -1
        while batch and n < max do
          local text, index = text_delta(events[i + 1])
          if not text or (first >= 0 and index ~= first) then break end
          i, n, first = i + 1, n + 1, index
          buf[n] = text
        end
        return n, first
      end,
      queued = function() return math.max(0, #events - i) end,
      done = function() return true end,
      result = function() return result or { status = 200, clean = true } end,
      close = function() end,
    }
  end
  local tr = { emit = function() end }
  local spec = { method = "POST", path = "/v1/messages" }
  local function open(events, result) return stream.wrap(tr, scripted(events, result), spec) end

  local START = { "message_start", { type = "message_start", message = { id = "msg_1", type = "message",
    role = "assistant", model = MODEL, content = {}, usage = { input_tokens = 10, output_tokens = 1,
    cache_read_input_tokens = 0 } } } }
  local function ev(name, data)
    data.type = name
    return { name, data }
  end

  it("joins thinking with its signature, citations, server tool input, and merges usage", function()
    local citation = { type = "char_location", cited_text = "Paris", document_index = 0 }
    local s = open {
      START,
      ev("content_block_start", { index = 0, content_block = { type = "thinking", thinking = "" } }),
      ev("content_block_delta", { index = 0, delta = { type = "thinking_delta", thinking = "Let me " } }),
      ev("content_block_delta", { index = 0, delta = { type = "thinking_delta", thinking = "think." } }),
      ev("content_block_delta", { index = 0, delta = { type = "signature_delta", signature = "EqQBCgIYAhIM" } }),
      ev("content_block_stop", { index = 0 }),
      ev("content_block_start", { index = 1, content_block = { type = "server_tool_use", id = "srvtoolu_1",
        name = "web_search", input = {} } }),
      ev("content_block_delta", { index = 1, delta = { type = "input_json_delta", partial_json = "" } }),
      ev("content_block_delta", { index = 1, delta = { type = "input_json_delta", partial_json = '{"query": "cap' } }),
      ev("content_block_delta", { index = 1, delta = { type = "input_json_delta",
        partial_json = 'ital of France"}' } }),
      ev("content_block_stop", { index = 1 }),
      ev("content_block_start", { index = 2, content_block = { type = "text", text = "" } }),
      ev("content_block_delta", { index = 2, delta = { type = "citations_delta", citation = citation } }),
      ev("content_block_delta", { index = 2, delta = { type = "text_delta", text = "It is " } }),
      ev("content_block_delta", { index = 2, delta = { type = "text_delta", text = "Paris." } }),
      ev("content_block_stop", { index = 2 }),
      ev("content_block_start", { index = 3, content_block = { type = "tool_use", id = "toolu_1", name = "noop",
        input = {} } }),
      ev("content_block_stop", { index = 3 }),
      ev("message_delta", { delta = { stop_reason = "end_turn", stop_sequence = json.null },
        usage = { input_tokens = 12, output_tokens = 30, server_tool_use = { web_search_requests = 1 } } }),
      ev("message_stop", {}),
    }
    local msg = assert(s:final())
    assert.same({
      id = "msg_1", type = "message", role = "assistant", model = MODEL, stop_reason = "end_turn",
      content = {
        { type = "thinking", thinking = "Let me think.", signature = "EqQBCgIYAhIM" },
        { type = "server_tool_use", id = "srvtoolu_1", name = "web_search", input = { query = "capital of France" } },
        { type = "text", text = "It is Paris.", citations = { citation } },
        { type = "tool_use", id = "toolu_1", name = "noop", input = {} },
      },
      usage = { input_tokens = 12, output_tokens = 30, cache_read_input_tokens = 0,
        server_tool_use = { web_search_requests = 1 } },
    }, msg)
    assert.equal(msg, s:final()) -- again: the same message
  end)

  it("joins many text deltas, read by the engine (text, index) or decoded in Lua alike", function()
    local function script(batch)
      local events = { START, ev("content_block_start", { index = 0, content_block = { type = "text", text = "" } }) }
      local want = {}
      for i = 1, 1000 do
        local piece = "w" .. i .. (i % 7 == 0 and "\n\"é" or " ")
        want[#want + 1] = piece
        events[#events + 1] = ev("content_block_delta", { index = 0, delta = { type = "text_delta", text = piece } })
      end
      events[#events + 1] = ev("content_block_stop", { index = 0 })
      events[#events + 1] = ev("message_delta", { delta = { stop_reason = "end_turn" }, usage = { output_tokens = 9 } })
      events[#events + 1] = ev("message_stop", {})
      -- like the engine's transfers: t:next_event(true) hands over text deltas read in C (here
      -- every other one), as name, nil, text, index
      local t = scripted(events, nil, batch)
      local plain, n = t.next_event, 0
      t.next_event = function(_, fast)
        local name, data = plain()
        n = n + 1
        if fast and name == "content_block_delta" and n % 2 == 0 then
          local e = json.decode(data)
          return name, nil, e.delta.text, e.index
        end
        return name, data
      end
      return stream.wrap(tr, t, spec), want
    end

    for _, batch in ipairs { false, true } do -- text(): one event at a time, or in batches (t:next_texts)
      local s, want = script(batch)
      local texts = {}
      for text in s:text() do texts[#texts + 1] = text end
      assert.same(want, texts)
      assert.equal(table.concat(want), assert(s:final()).content[1].text)
      assert.equal(1005, s.count)
    end

    local s, want = script()
    local deltas = {}
    for e in s:events() do
      if e.type == "content_block_delta" then deltas[#deltas + 1] = e end
    end
    assert.equal(1000, #deltas)
    for i, e in ipairs(deltas) do
      assert.same({ type = "content_block_delta", index = 0, delta = { type = "text_delta", text = want[i] } }, e)
      if math.type then assert.equal("integer", math.type(e.index)) end -- (5.3+: integers and floats apart)
    end
    assert.equal(table.concat(want), assert(s:final()).content[1].text)
  end)

  it("passes unknown events through, decoded or not, and skips pings", function()
    local s = open {
      START,
      ev("ping", {}),
      ev("content_block_flash", { index = 0, colour = "blue" }),
      { "rumour", "not json at all" },
      ev("message_delta", { delta = { stop_reason = "end_turn" }, usage = { output_tokens = 2 } }),
      ev("message_stop", {}),
    }
    local got = {}
    for e in s:events() do got[#got + 1] = e end
    assert.same({ "message_start", "content_block_flash", "rumour", "message_delta", "message_stop" }, types(got))
    assert.equal("blue", got[2].colour)
    assert.equal("not json at all", got[3].data)
    assert.equal(6, s.count)
  end)

  it("reports a bad tool input and a bad known event as decode errors", function()
    local s = open {
      START,
      ev("content_block_start", { index = 0, content_block = { type = "tool_use", id = "t", name = "f", input = {} } }),
      ev("content_block_delta", { index = 0, delta = { type = "input_json_delta", partial_json = '{"a":' } }),
      ev("content_block_stop", { index = 0 }),
    }
    local msg, err = s:final()
    assert.is_nil(msg)
    assert.equal("decode", err.kind)
    assert.matches("input of content block 0 %(f%)", err.message)

    s = open { START, { "content_block_start", "{oops" } }
    local ok, e = pcall(function() for _ in s:events() do end end)
    assert.is_false(ok)
    assert.equal("decode", e.kind)
    assert.matches("event 2 %(content_block_start%)", e.message)
  end)

  it("keeps only the message's frame with keep_content(false)", function()
    local s = open {
      START,
      ev("content_block_start", { index = 0, content_block = { type = "text", text = "" } }),
      ev("content_block_delta", { index = 0, delta = { type = "text_delta", text = "Hi" } }),
      ev("content_block_stop", { index = 0 }),
      ev("message_delta", { delta = { stop_reason = "end_turn" }, usage = { output_tokens = 2 } }),
      ev("message_stop", {}),
    }
    assert.equal(s, s:keep_content(false))
    local texts = {}
    for text in s:text() do texts[#texts + 1] = text end
    assert.same({ "Hi" }, texts)
    local msg = assert(s:final())
    assert.same({}, msg.content)
    assert.equal("end_turn", msg.stop_reason)
    assert.same({ input_tokens = 10, output_tokens = 2, cache_read_input_tokens = 0 }, msg.usage)
  end)

  it("ends cleanly after message_stop even if the transfer then fails", function()
    local s = open({ START, ev("message_stop", {}) }, { error = { kind = "connection", message = "reset" } })
    assert(s:final())
  end)

  -- Every way of reading: events(), text() one event at a time, text() in batches, final().
  local function read_all(events, batch)
    local out = {}
    local function run(how)
      local s = stream.wrap(tr, scripted(events, nil, batch), spec)
      local got = {}
      local ok, err = pcall(function()
        if how == "events" then for e in s:events() do got[#got + 1] = e end
        elseif how == "text" then for t in s:text() do got[#got + 1] = t end end
      end)
      local msg, ferr = s:final()
      out[how] = { ok = ok, err = err, got = got, msg = msg, ferr = ferr }
    end
    run("events"); run("text"); run("final")
    return out
  end

  local TEXT0 = ev("content_block_start", { index = 0, content_block = { type = "text", text = "" } })
  local function delta(index, text)
    return ev("content_block_delta", { index = index, delta = { type = "text_delta", text = text } })
  end
  local TAIL = { ev("content_block_stop", { index = 0 }),
    ev("message_delta", { delta = { stop_reason = "end_turn" }, usage = { output_tokens = 2 } }),
    ev("message_stop", {}) }
  local function with_tail(list)
    for _, e in ipairs(TAIL) do list[#list + 1] = e end
    return list
  end

  it("refuses a delta for a block never opened, in text(), events() and final() alike", function()
    for _, bad in ipairs { 99, -1, 0.5, 1 } do
      for _, batch in ipairs { false, true } do
        local r = read_all(with_tail { START, TEXT0, delta(0, "kept "), delta(bad, "never shown") }, batch)
        for how, x in pairs(r) do
          local err = how == "final" and x.ferr or x.err
          assert.is_nil(x.msg, how)
          assert.equal("decode", err.kind, how)
          assert.matches("the stream is malformed at event 4 %(content_block_delta%)", err.message)
          for _, g in ipairs(x.got) do -- what was handed out is what final() would have kept
            assert.not_equal("never shown", type(g) == "table" and g.delta and g.delta.text or g)
          end
        end
        assert.matches(bad == 1 and "content block 1 was never started" or bad == 99 and "block 99 was never started"
          or "is not a whole number from 0", r.final.ferr.message)
        assert.same({ "kept " }, r.text.got)
      end
    end
    -- a delta for a block already stopped, and one before message_start
    local r = read_all { START, TEXT0, ev("content_block_stop", { index = 0 }), delta(0, "late") }
    assert.matches("content block 0 was already stopped", r.final.ferr.message)
    assert.same({}, r.text.got)
    r = read_all(with_tail { delta(0, "early"), START, TEXT0 })
    assert.equal("the stream is malformed at event 1 (content_block_delta): content_block_delta before message_start",
      r.final.ferr.message)
    assert.same({}, r.events.got)
  end)

  it("names the same event however the deltas are read, and refuses a delta whose text is not a string", function()
    for _, batch in ipairs { false, true } do -- (batched, two deltas for block 5 come in one batch)
      local r = read_all(with_tail { START, TEXT0, delta(5, "a"), delta(5, "b") }, batch)
      for how, x in pairs(r) do
        assert.matches("at event 3 %(content_block_delta%): content block 5 was never started",
          (how == "final" and x.ferr or x.err).message, how)
      end
    end
    local seven = ev("content_block_delta", { index = 0, delta = { type = "text_delta", text = 7 } })
    local r = read_all(with_tail { START, TEXT0, seven })
    for how, x in pairs(r) do
      assert.equal("the stream is malformed at event 3 (content_block_delta): "
        .. "the text_delta's text is a number, not a string",
        (how == "final" and x.ferr or x.err).message, how)
    end
    assert.same({}, r.text.got)
  end)

  it("refuses a second message_start instead of dropping what was gathered", function()
    local r = read_all(with_tail { START, TEXT0, delta(0, "one "), START, delta(0, "two") })
    for how, x in pairs(r) do
      local err = how == "final" and x.ferr or x.err
      assert.equal("decode", err.kind, how)
      assert.matches("at event 4 %(message_start%): a second message_start", err.message)
    end
    assert.same({ "one " }, r.text.got)
  end)

  it("keeps a complete message when an error event follows message_stop", function()
    local logged = {}
    local ltr = { emit = function(_, level, msg) logged[#logged + 1] = level .. " " .. msg end }
    local events = with_tail { START, TEXT0, delta(0, "Hi") }
    events[#events + 1] = ev("error", { error = { type = "overloaded_error", message = "Overloaded" } })
    events[#events + 1] = delta(0, "after the end")
    for _, batch in ipairs { false, true } do
      local s = stream.wrap(ltr, scripted(events, nil, batch), spec)
      local texts = {}
      for t in s:text() do texts[#texts + 1] = t end
      assert.same({ "Hi" }, texts)
      local msg = assert(s:final())
      assert.equal("Hi", msg.content[1].text)
      assert.equal(8, s.count)
    end
    local s = stream.wrap(ltr, scripted(events), spec)
    local got = {}
    for e in s:events() do got[#got + 1] = e end
    assert.equal("message_stop", got[#got].type)
    assert(s:final())
    assert.matches("^warn POST /v1/messages: an error event after message_stop, ignored "
      .. "%(the message was complete%): Overloaded$", logged[#logged])
    for _, line in ipairs(logged) do assert.not_matches("^error", line) end
  end)

  it("reports a missing message_start as such", function()
    local r = read_all { ev("ping", {}), ev("message_stop", {}) }
    assert.equal("the stream is malformed at event 2 (message_stop): message_stop before message_start",
      r.final.ferr.message)
    local s = open { ev("ping", {}) }
    local _, err = s:final()
    assert.equal("connection", err.kind)
    assert.equal("the stream ended after 1 event, before message_start", err.message)
    s = open({}, { error = { kind = "timeout", message = "no data for 30 s" } })
    _, err = s:final()
    assert.equal("the stream stalled after 0 events, before message_start: no data for 30 s", err.message)
  end)

  it("gives an error object for an event whose type is not a string", function()
    for _, e in ipairs { { "", '{"type": 5}' }, { "message_delta", '{"type": {"a": 1}}' }, { "", '{"index": 0}' } } do
      local r = read_all { START, e }
      for how, x in pairs(r) do
        local err = how == "final" and x.ferr or x.err
        assert.is_true(anthropic.is_error(err), how)
        assert.equal("decode", err.kind)
        assert.matches("^the stream is malformed at event 2 ", err.message)
      end
    end
    local _, err = open { START, { "", '{"type": 5}' } }:final()
    assert.equal("the stream is malformed at event 2 (no name): its type is a number, not a string", err.message)
  end)

  it("keeps stop_details and container from message_delta", function()
    local stop_details = { type = "refusal", category = "cyber", explanation = "This request was refused." }
    local container = { id = "container_1", expires_at = "2026-12-03T07:00:00Z" }
    local s = open {
      START, TEXT0, delta(0, "No."), ev("content_block_stop", { index = 0 }),
      ev("message_delta", { delta = { stop_reason = "refusal", stop_sequence = json.null, stop_details = stop_details,
        container = container }, usage = { output_tokens = 2 } }),
      ev("message_stop", {}),
    }
    local msg = assert(s:final())
    assert.equal("refusal", msg.stop_reason)
    assert.same(stop_details, msg.stop_details)
    assert.same(container, msg.container)
  end)

  it("says when the stream ended inside an event", function()
    local s = open({ START }, { status = 200, clean = false })
    local msg, err = s:final()
    assert.is_nil(msg)
    assert.equal("connection", err.kind)
    assert.equal("the stream ended after 1 event, before message_stop (in the middle of an event)", err.message)
  end)
end)
