-- client.batches:results(id) read as the body arrives (the engine's line mode, lua/anthropic/
-- lines.lua): a bounded queue, a break that cancels the transfer, a body cut short or a line that
-- is not JSON raised as error objects after the lines before it, retries before the first byte
-- only, an idle limit, yielding inside a task, and memory that stays flat for 100 times the lines.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local MODEL = "claude-opus-4-6"

local function requests(n, prefix)
  local list = {}
  for i = 1, n do
    list[i] = { custom_id = (prefix or "r") .. i,
      params = { model = MODEL, max_tokens = 16, messages = { { role = "user", content = "question " .. i } } } }
  end
  return list
end

describe("batch results as they arrive", function()
  local emu, key, client
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    assert(emu:request("POST", "/_emulator/batches", { processing_seconds = 0 }))
    client = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0 }
  end)
  after_each(function() client:close() end)

  local function batch(n, prefix)
    return assert(client.batches:create { requests = requests(n, prefix) }).id
  end

  local function results_path(id) return "/v1/messages/batches/" .. id .. "/results" end

  -- Reads the results of batch id until they end or fail: pcall's ok and error, and the
  -- custom_ids read before that.
  local function read_ids(id)
    local got = {}
    local ok, err = pcall(function()
      for line in client.batches:results(id) do got[#got + 1] = line.custom_id end
    end)
    return ok, err, got
  end

  it("holds a bounded queue, not the body, and a break cancels the transfer", function()
    local id = batch(3000) -- about 1.6 MB of results: more than the engine's queue takes
    local it, _, _, reader = client.batches:results(id)
    local first = it()
    assert.equal("r1", first.custom_id)
    assert.equal("succeeded", first.result.type)
    local n, bytes = reader._t:queued(), reader._t:queued_bytes()
    assert.is_true(n < 1000, "lines queued: " .. n)
    assert.is_true(bytes < 2 * 1024 * 1024, "bytes queued: " .. bytes)
    local seen = 1
    for line in it, nil, nil, reader do
      seen = seen + 1
      assert.equal("r" .. seen, line.custom_id)
      if seen == 10 then break end
    end
    if _VERSION == "Lua 5.4" then assert.is_true(reader.closed) end -- (the for loop's closing value)
    reader:close()
    assert.is_true(reader.closed)
    assert.is_nil(it()) -- a closed reader gives no more lines
    -- the client goes on: all 3000, in order, with an explicit loop
    local count = 0
    for line in client.batches:results(id) do
      count = count + 1
      assert.equal("r" .. count, line.custom_id)
    end
    assert.equal(3000, count)
  end)

  it("an iterator dropped part-way is collected with its transfer, which is canceled", function()
    local id = batch(3000)
    local eng = require("anthropic.transport").engine()
    local it = client.batches:results(id)
    assert.equal("r1", it().custom_id)
    assert.equal(1, eng:step()) -- its transfer, paused: the queue is full and nobody reads it
    it = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.equal(0, eng:step())
  end)

  it("a body cut after 2 lines raises a connection error after those lines", function()
    local id = batch(5)
    emu:faults { { path = results_path(id), stream_reset_after = 2 } }
    local ok, err, got = read_ids(id)
    assert.is_false(ok)
    assert.same({ "r1", "r2" }, got)
    assert.is_true(anthropic.is_error(err))
    assert.equal("connection", err.kind)
    assert.is_false(err.retryable)
    assert.equal(2, err.details.lines)
    assert.matches("the answer broke after 2 lines", err.message, 1, true)
    assert.equal("GET", err.method)
  end)

  it("a line that is not JSON raises a decode error with its number", function()
    local id = batch(5)
    emu:faults { { path = results_path(id), stream_error_after = 3 } }
    local ok, err, got = read_ids(id)
    assert.is_false(ok)
    assert.equal(3, #got)
    assert.equal("decode", err.kind)
    assert.matches("results line 4 is not a JSON object", err.message, 1, true)
  end)

  it("is retried before the first byte, never after", function()
    local id = batch(4)
    local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 2 }
    emu:faults { { path = results_path(id), status = 503, count = 1 },
      { path = results_path(id), action = "reset_before_headers" } }
    local n = 0
    for _ in c.batches:results(id) do n = n + 1 end
    assert.equal(4, n)
    assert.same({}, emu:pending_faults())
    -- after the headers: the reset is the caller's to handle, not retried
    emu:clear_log()
    emu:faults { { path = results_path(id), stream_reset_after = 1 } }
    local ok, err = pcall(function() for _ in c.batches:results(id) do end end)
    assert.is_false(ok)
    assert.equal("connection", err.kind)
    local tries = 0
    for _, r in ipairs(emu:log().requests) do
      if r.path == results_path(id) then tries = tries + 1 end
    end
    assert.equal(1, tries)
    c:close()
  end)

  it("a stalled body fails after the idle limit (timeout), with the lines before it", function()
    local id = batch(3)
    local c = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0, timeout = 0.3 }
    emu:faults { { path = results_path(id), stream_stall_after = 1 } }
    local got = 0
    local ok, err = pcall(function() for _ in c.batches:results(id) do got = got + 1 end end)
    assert.is_false(ok)
    assert.equal(1, got)
    assert.equal("timeout", err.kind)
    assert.matches("stalled after 1 line", err.message, 1, true)
    c:close()
  end)

  it("yields inside a task while it waits for lines: other tasks run meanwhile", function()
    local id = batch(3000)
    local lines, ran_at = 0, nil
    local reader = anthropic.spawn(function()
      for _ in client.batches:results(id) do lines = lines + 1 end
      return lines
    end)
    local other = anthropic.spawn(function()
      while lines == 0 do coroutine.yield() end
      ran_at = lines -- the results task is part-way: it yielded with lines still to come
      return true
    end)
    anthropic.run()
    assert.equal(3000, reader:wait())
    assert.is_true(other:wait())
    assert.is_true(ran_at > 0 and ran_at < 3000, "the other task ran at line " .. tostring(ran_at))
  end)

  it("the engine's line mode: lines as events with no name, the last without its line end, a line limit", function()
    local core = require "anthropic.core"
    local id = batch(3)
    local k = assert(core.load_key { api_key = key, env = {} })
    local eng = core.engine()
    local function submit(extra)
      local r = { method = "GET", url = emu.url .. results_path(id), key = k, lines = true,
        headers = { "anthropic-version: 2023-06-01" }, ca_file = emu.ca_file } -- (make test-tls)
      for name, v in pairs(extra or {}) do r[name] = v end
      return assert(eng:submit(r))
    end
    local t = submit()
    local got = {}
    while true do
      local name, data = t:next_event()
      if name then
        assert.equal("", name)
        got[#got + 1] = data
      elseif t:done() then
        break
      else
        eng:wait(1)
      end
    end
    assert.equal(3, #got)
    for i, l in ipairs(got) do assert.matches('^{"custom_id":"r' .. i .. '"', l) end
    local res = t:result()
    assert.is_true(res.started)
    assert.is_true(res.clean)
    assert.equal(3, res.events)
    assert.equal(200, res.status)
    assert.equal("", res.body) -- the lines went to the queue, not into a body
    t:close()
    -- a line over max_event fails the transfer, not retried
    t = submit { max_event = 100, max_retries = 2 }
    while not t:done() do eng:wait(1) end
    res = t:result()
    assert.equal("connection", res.error.kind)
    assert.equal("a line of the answer is longer than the limit of 100 bytes", res.error.message)
    assert.equal(1, res.attempts)
    assert.equal(0, t:queued())
    t:close()
    -- an answer that is not 2xx is read whole, as usual
    t = submit { url = emu.url .. results_path("msgbatch_nope") }
    while not t:done() do eng:wait(1) end
    res = t:result()
    assert.equal(404, res.status)
    assert.is_nil(res.started)
    assert.matches("not_found_error", res.body)
    t:close()
    k:close()
  end)

  -- A fresh process reads the results of a batch of n requests; it prints its peak Lua heap while
  -- iterating, the most bytes the engine's queue held, and its RSS before and at the peak.
  local MEASURED = util.PROC_STATUS .. [[
    local anthropic = require "anthropic"
    local client = anthropic.new { base_url = os.getenv("ANTHROPIC_BASE_URL") }
    local id = os.getenv("BATCH_ID")
    for _ in client.batches:results(id) do break end -- warm up: the modules and the connection
    collectgarbage()
    local before, heap, queue, n = status("VmRSS"), 0, 0, 0
    local f = io.open("/proc/self/clear_refs", "w")
    f:write("5")
    f:close()
    local it, _, _, r = client.batches:results(id)
    for line in it, nil, nil, r do
      n = n + 1
      assert(line.result.type == "succeeded")
      if n % 50 == 0 then
        heap = math.max(heap, collectgarbage("count"))
        if not r.closed then queue = math.max(queue, r._t:queued_bytes()) end
      end
    end
    print(n, math.floor(heap), queue, before, status("VmHWM"))
  ]]

  it("costs the same memory for 20,000 results as for 200 #huge", function()
    local figures = {}
    for _, n in ipairs { 200, 20000 } do
      local id = batch(n)
      local out, err, code = util.run_lua(MEASURED, { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url,
        BATCH_ID = id })
      assert.equal(0, code, err)
      local got = {}
      for v in out:gmatch("%d+") do got[#got + 1] = tonumber(v) end
      assert.equal(n, got[1])
      figures[n] = { heap = got[2], queue = got[3], growth = got[5] - got[4] }
    end
    local small, big = figures[200], figures[20000]
    -- the engine's queue stops taking lines at 1 MiB (AE_QUEUE_HIGH_BYTES), give or take one read
    assert.is_true(big.queue < 1024 * 1024 + 64 * 1024, "queue held " .. big.queue .. " bytes")
    assert.is_true(big.heap < small.heap + 2048,
      string.format("Lua heap: %d kB for 200 results, %d kB for 20,000", small.heap, big.heap))
    assert.is_true(big.growth < small.growth + 4096,
      string.format("peak RSS growth: %d kB for 200 results, %d kB for 20,000", small.growth, big.growth))
    print(string.format("# results: 200 -> heap %d kB, RSS +%d kB; 20,000 -> heap %d kB, RSS +%d kB, queue <= %d B",
      small.heap, small.growth, big.heap, big.growth, big.queue))
  end)
end)
