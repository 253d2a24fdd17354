-- The C engine directly: non-blocking steps, concurrency, waits between retries that do not block
-- other transfers, cancel, close, and argument checks.
local core = require "anthropic.core"
local emulator = require "helpers.emulator"

describe("engine", function()
  local emu, key, k
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
    k = assert(core.load_key { api_key = key, env = {} })
  end)
  teardown(function()
    k:close()
    emu:stop()
  end)
  before_each(function() emu:reset() end)

  local function req(path, extra)
    local r = {
      method = "POST", url = emu.url .. path, key = k,
      headers = { "anthropic-version: 2023-06-01", "content-type: application/json" },
      body = '{"model":"claude-opus-4-6","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}',
    }
    for name, v in pairs(extra or {}) do r[name] = v ~= false and v or nil end
    return r
  end

  local function run(eng, t)
    while not t:done() do eng:wait(1) end
    return t:result()
  end

  it("completes a transfer driven only by step and timeout", function()
    local eng = core.engine()
    local t = assert(eng:submit(req("/v1/messages")))
    assert.is_nil(t:result())
    local steps = 0
    while not t:done() do
      steps = steps + 1
      eng:step()
      if t:done() then break end -- a step may finish what it received
      assert.is_number(eng:timeout())
      eng:wait(eng:timeout())
    end
    local res = t:result()
    assert.equal(200, res.status)
    assert.matches('"type":"message"', res.body)
    assert.matches("^req_", res.headers["request-id"])
    assert.equal(1, res.attempts)
    assert.is_nil(res.error)
    assert.is_nil(eng:timeout()) -- idle
    assert.equal(0, eng:step())
    eng:close()
  end)

  it("holds its own reference to the key: closing the key mid-transfer does not break it", function()
    local eng = core.engine()
    local own = assert(core.load_key { api_key = key, env = {} })
    emu:faults { { path = "/v1/messages", status = 529, headers = { ["retry-after"] = "0" } } }
    local t = assert(eng:submit(req("/v1/messages", { key = own })))
    own:close() -- the owner lets go before the first attempt; the retry still sends the key
    assert.equal("anthropic.key (closed)", tostring(own))
    local res = run(eng, t)
    assert.equal(200, res.status)
    assert.equal(2, res.attempts)
    -- the same key object serves many transfers; each one's header line is the key's own
    local t1, t2 = assert(eng:submit(req("/v1/messages"))), assert(eng:submit(req("/v1/messages")))
    assert.equal(200, run(eng, t1).status)
    assert.equal(200, run(eng, t2).status)
    eng:close()
  end)

  it("hands queued text deltas over in batches (t:next_texts), other events one by one", function()
    local eng = core.engine()
    local body = '{"model":"claude-opus-4-6","max_tokens":64,"stream":true,'
      .. '"messages":[{"role":"user","content":"tell me about batches of text deltas"}]}'
    local whole = run(eng, assert(eng:submit(req("/v1/messages", { body = body:gsub('"stream":true,', "") }))))
    local want = require("cjson").decode(whole.body).content[1].text
    local t = assert(eng:submit(req("/v1/messages", { body = body, stream = true })))
    while not t:done() do eng:wait(1) end -- everything is queued now
    local buf, texts, batches, others = {}, {}, 0, {}
    while true do
      local n, index = t:next_texts(buf, 2)
      assert.is_true(n <= 2)
      if n > 0 then
        batches = batches + 1
        assert.equal(0, index)
        for i = 1, n do texts[#texts + 1] = buf[i] end
      else
        assert.equal(-1, index)
        local name, _, text = t:next_event(true)
        if not name then break end
        assert.is_nil(text) -- a text delta at the head would have come through next_texts
        others[#others + 1] = name
      end
    end
    assert.equal(want, table.concat(texts))
    assert.is_true(#texts >= 3)
    assert.equal(math.ceil(#texts / 2), batches) -- full batches of 2, the last one maybe less
    assert.same({ "message_start", "content_block_start", "ping", "content_block_stop", "message_delta",
      "message_stop" }, others)
    assert.has_error(function() t:next_texts(nil, 3) end)
    t:close()
    eng:close()
  end)

  it("keeps serving other transfers while one is stalled or waiting to retry", function()
    local eng = core.engine()
    emu:faults {
      { path = "/v1/messages", action = "stall" },
      { path = "/v1/messages/count_tokens", status = 529, headers = { ["retry-after"] = "2" } },
    }
    local stalled = assert(eng:submit(req("/v1/messages", { timeout = 30 })))
    local retried = assert(eng:submit(req("/v1/messages/count_tokens",
      { body = '{"model":"claude-opus-4-6","messages":[{"role":"user","content":"hi"}]}' })))
    local quick = assert(eng:submit(req("/v1/models", { method = "GET", body = false })))
    while not quick:done() do eng:wait(1) end
    assert.equal(200, quick:result().status)
    assert.is_false(stalled:done())
    assert.is_false(retried:done())
    local res = run(eng, retried)
    assert.equal(200, res.status)
    assert.equal(2, res.attempts)
    assert.equal(2, res.history[1].delay)
    assert.equal(529, res.history[1].status)
    assert.is_false(stalled:done())
    stalled:cancel()
    assert.is_true(stalled:done())
    assert.equal("canceled", stalled:result().error.kind)
    eng:close()
  end)

  it("cancels transfers when the engine closes, and close is idempotent", function()
    local eng = core.engine()
    emu:faults { { path = "/v1/messages", action = "stall" } }
    local t = assert(eng:submit(req("/v1/messages")))
    eng:step()
    eng:close()
    eng:close()
    assert.is_true(t:done())
    assert.equal("canceled", t:result().error.kind)
    assert.equal("anthropic.engine (closed)", tostring(eng))
    assert.has_error(function() eng:step() end, "attempt to use a closed engine")
    t:close()
    t:close()
    assert.equal("anthropic.transfer (closed)", tostring(t))
  end)

  it("cancels a running transfer when it is collected", function()
    local eng = core.engine()
    emu:faults { { path = "/v1/messages", action = "stall" } }
    do
      local t = assert(eng:submit(req("/v1/messages")))
      for _ = 1, 3 do eng:wait(0.05) end
      assert.is_false(t:done())
      assert.equal(1, eng:step())
    end
    collectgarbage()
    collectgarbage()
    assert.equal(0, eng:step())
    eng:close()
  end)

  it("reuses its easy handles without carrying a request's method, body or headers into the next", function()
    local eng = core.engine()
    local body = req("/").body
    local sequence = {
      { method = "POST", path = "/v1/messages/count_tokens", body = body },
      { method = "GET", path = "/v1/models", body = false, headers = { "anthropic-version: 2023-06-01" } },
      { method = "DELETE", path = "/v1/messages/batches/msgbatch_none", body = false },
      { method = "POST", path = "/v1/messages/batches/msgbatch_none/cancel", body = false },
      { method = "GET", path = "/v1/models?limit=1", body = false },
      { method = "POST", path = "/v1/messages/count_tokens", body = body },
    }
    for _, s in ipairs(sequence) do -- one at a time, so each takes the handle the last one left
      -- (a timeout: a POST left without its body would wait on libcurl's default reader)
      local t = assert(eng:submit(req(s.path, { method = s.method, body = s.body, headers = s.headers, timeout = 10 })))
      assert.is_number(run(eng, t).status, s.method .. " " .. s.path)
      t:close() -- its handle goes back to the engine's pool for the next request
    end
    local log = emu:log().requests
    assert.equal(#sequence, #log)
    for i, s in ipairs(sequence) do
      local e = log[i]
      assert.equal(s.method, e.method)
      assert.equal(s.path:match("^[^?]*"), e.path)
      assert.equal(s.body and #s.body or nil, e.body_size ~= 0 and e.body_size or nil, s.method .. " " .. s.path)
      -- the content-type of the POSTs did not stay on the GET that had its own header list
      if s.headers then assert.is_nil(e.headers["content-type"]) end
      assert.is_nil(e.headers["expect"])
      assert.truthy(e.headers["x-api-key"])
    end
    assert.equal("limit=1", log[5].query)
    assert.equal(1, eng:connections()) -- all of it on one connection
    eng:close()
  end)

  it("decodes a 2xx JSON answer in place (t:decoded), and gives nil for anything else", function()
    local eng = core.engine()
    local t = assert(eng:submit(req("/v1/messages")))
    assert.is_nil(t:decoded()) -- not done yet
    run(eng, t)
    local text = t:body()
    local v = assert(t:decoded())
    assert.equal("message", v.type)
    assert.same(v, require("anthropic.json").decode(text))
    -- the answer is read once: its buffer is freed
    assert.equal("", t:body())
    assert.equal("", t:result().body)
    local again, why = t:decoded()
    assert.is_nil(again)
    assert.equal("the answer was already decoded", why)
    t:close()
    -- a 2xx answer that is not JSON, one with escapes in a text over the stack buffer, a 4xx
    emu:faults { { path = "/v1/messages", status = 200, body = "{not json" },
                 { path = "/v1/messages", status = 200, body = '{"a":"' .. ("\\n" .. ("x"):rep(98)):rep(60) .. '"}' },
                 { path = "/v1/messages", status = 404 } }
    t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
    run(eng, t)
    assert.equal(200, t:status())
    local none, msg = t:decoded()
    assert.is_nil(none)
    assert.equal("unexpected 'n' at byte 2 (expected a member name in double quotes)", msg)
    t:close()
    t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
    run(eng, t)
    assert.equal(("\n" .. ("x"):rep(98)):rep(60), assert(t:decoded()).a)
    t:close()
    t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
    run(eng, t)
    assert.equal(404, t:status())
    assert.is_nil(t:decoded())
    t:close()
    assert.has_error(function() t:decoded() end, "attempt to use a closed transfer")
    eng:close()
  end)

  it("reads answers many times its 4 KiB receive buffer whole, and streams on the same handles after", function()
    local eng = core.engine()
    local big = '{"text":"' .. ("0123456789abcdef"):rep(20000) .. '"}' -- 320 KB
    local answer = { path = "/v1/messages", status = 200, body = big }
    emu:faults { answer, answer }
    for _ = 1, 2 do
      local t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
      run(eng, t)
      assert.equal(big, t:body())
      t:close()
    end
    local body = req("/").body:gsub("}$", ',"stream":true}')
    local s = assert(eng:submit(req("/v1/messages", { body = body, stream = true })))
    local names = {}
    while true do
      local name = s:next_event()
      if name then names[#names + 1] = name
      elseif s:done() then break
      else eng:wait(1) end
    end
    assert.equal("message_start", names[1])
    assert.equal("message_stop", names[#names])
    assert.equal(200, s:status())
    s:close()
    eng:close()
  end)

  it("hands a freed transfer's answer buffers to the next ones with nothing of the old answer", function()
    local eng = core.engine()
    local long = '{"text":"' .. ("x"):rep(6000) .. '"}'
    emu:faults { { path = "/v1/messages", status = 200, body = long, headers = { ["x-first"] = ("h"):rep(900) } },
                 { path = "/v1/messages", status = 200, body = "{}" },
                 { path = "/v1/messages", status = 404, body = "" } }
    local t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
    run(eng, t)
    assert.equal(long, t:body())
    t:close() -- its body and header buffers become spares
    for _, want in ipairs { { 200, "{}" }, { 404, "" } } do
      t = assert(eng:submit(req("/v1/messages", { max_retries = 0 })))
      local r = run(eng, t)
      assert.equal(want[1], r.status)
      assert.equal(want[2], t:body())
      assert.is_nil(t:header("x-first"))
      assert.is_nil(r.headers["x-first"])
      if want[1] == 200 then assert.same({}, t:decoded()) end
      t:close()
    end
    eng:close()
  end)

  it("reads response headers when asked: names lower-cased, values trimmed, the last attempt's", function()
    local eng = core.engine()
    emu:faults { { path = "/v1/messages", status = 529, headers = { ["retry-after-ms"] = "10", ["x-note"] = "first" } },
                 { path = "/v1/messages", status = 200, body = "{}", headers = { ["x-note"] = "  padded value  " } } }
    local t = assert(eng:submit(req("/v1/messages", { max_retries = 1 })))
    local r = run(eng, t)
    assert.equal(200, r.status)
    assert.equal(2, r.attempts)
    assert.equal("padded value", t:header("x-note"))
    assert.equal("padded value", r.headers["x-note"])
    assert.is_nil(t:header("retry-after-ms")) -- the failed attempt's headers are gone
    assert.is_string(t:header("request-id"))
    t:close()
    -- a server that writes names in mixed case and pads values (the emulator writes lower case)
    local server = assert(require("socket").bind("127.0.0.1", 0))
    server:settimeout(0)
    local _, port = server:getsockname()
    t = assert(eng:submit(req("", { url = "http://127.0.0.1:" .. port .. "/v1/models", method = "GET",
      body = false, max_retries = 0, timeout = 10 })))
    local conn, request = nil, ""
    for _ = 1, 1000 do -- each round waits for the engine's sockets (at most 20 ms), nothing sleeps
      if t:done() then break end
      eng:wait(0.02)
      conn = conn or server:accept()
      if conn and not request:find("\r\n\r\n") then
        conn:settimeout(0)
        local data, _, part = conn:receive(4096)
        request = request .. (data or part or "")
        if request:find("\r\n\r\n") then
          assert(conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Mixed-Case:  \t padded  \r\n"
            .. "Content-Length: 2\r\nREQUEST-ID: req_1\r\n\r\n{}"))
        end
      end
    end
    assert.is_true(t:done())
    assert.equal(200, t:status())
    assert.equal("padded", t:header("x-mixed-case"))
    assert.equal("req_1", t:header("request-id"))
    local all = t:headers()
    assert.equal("application/json", all["content-type"])
    assert.equal("2", all["content-length"])
    for name in pairs(all) do assert.equal(name:lower(), name) end
    t:close()
    if conn then conn:close() end
    server:close()
    eng:close()
  end)

  it("counts changes a reader may wait for: done, canceled, started, events queued (eng:changes)", function()
    local eng = core.engine()
    local c0 = eng:changes()
    eng:step()
    assert.equal(c0, eng:changes()) -- nothing happened
    local t = assert(eng:submit(req("/v1/messages")))
    run(eng, t)
    local c1 = eng:changes()
    assert.is_true(c1 > c0)
    eng:step()
    assert.equal(c1, eng:changes()) -- a done transfer changes nothing more
    local waiting = assert(eng:submit(req("/v1/messages")))
    waiting:cancel()
    assert.is_true(eng:changes() > c1)
    local c2 = eng:changes()
    local body = req("/").body:gsub("}$", ',"stream":true}')
    local s = assert(eng:submit(req("/v1/messages", { body = body, stream = true })))
    while not s:started() do eng:wait(1) end
    assert.is_true(eng:changes() > c2)
    local r = run(eng, s)
    assert.is_true(r.events > 3)
    assert.equal(c2 + 1 + r.events + 1, eng:changes()) -- started, each event queued, the end
    t:close()
    waiting:close()
    s:close()
    eng:close()
  end)

  it("checks every URL, also after one on the same origin passed", function()
    local eng = core.engine()
    local function refused(url, pattern, extra)
      local t, msg, kind = eng:submit(req("", { url = url, key = (extra or {}).key }))
      assert.is_nil(t, url)
      assert.equal("config", kind)
      assert.matches(pattern, msg)
    end
    run(eng, assert(eng:submit(req("/v1/messages/count_tokens"))))
    local host, port = emu.url:match("^http://([^:/]+):(%d+)")
    refused(emu.url .. "/v1/has space", "invalid URL")
    refused(emu.url .. "/v1/\1control", "invalid URL")
    refused("http://" .. host .. ":" .. port .. "0.example/v1/x", "invalid URL")
    refused("http://example.com:" .. port .. "/v1/messages", "plain http")
    refused("ftp://" .. host .. ":" .. port .. "/v1/messages", "scheme")
    -- the same origin without a key passed first: a request with a key is checked again
    local eng2 = core.engine()
    assert(eng2:submit(req("", { url = "http://example.invalid/v1/models", key = false }))):close()
    local t, msg = eng2:submit(req("", { url = "http://example.invalid/v1/models" }))
    assert.is_nil(t)
    assert.matches("refusing to send the API key over plain http to example.invalid", msg)
    eng2:close()
    eng:close()
  end)

  it("checks its arguments", function()
    local eng = core.engine()
    assert.has_error(function() eng:submit() end)
    assert.has_error(function() eng:submit { url = emu.url } end, "request field 'method' must be a string (got nil)")
    assert.has_error(function() eng:submit(req("/", { timeout = "x" })) end,
      "request field 'timeout' must be a number (got string)")
    assert.has_error(function() eng:submit(req("/", { body = 12 })) end,
      "request field 'body' must be a string (got number)")
    assert.has_error(function() eng:submit(req("/", { max_retries = -1 })) end,
      "request field 'max_retries' must be >= 0")
    -- fields are read raw: a metatable on the request table is not consulted
    assert(eng:submit(setmetatable(req("/"), { __index = function() error("consulted") end }))):close()
    assert.has_error(function() eng:submit(req("/", { headers = { 1 } })) end)
    assert.has_error(function() eng:submit(req("/", { key = "sk-ant-api03-raw" })) end)
    local t, msg, kind = eng:submit(req("/", { url = "gopher://127.0.0.1/" }))
    assert.is_nil(t)
    assert.equal("config", kind)
    assert.matches("scheme", msg)
    eng:close()
  end)
end)
