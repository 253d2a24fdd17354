-- Client-side spend guard (spend_limit, client:spend()) and rate-limit pacing (pace = true)
-- against the emulator.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local prices = require "anthropic.prices"
local guard = require "anthropic.guard"
local tasks = require "anthropic.tasks"

local USER = { { role = "user", content = "Hello, Claude" } }

describe("spend guard and pacing", function()
  local emu, key
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  local function new(opts)
    opts.api_key, opts.base_url = key, emu.url
    return anthropic.new(opts)
  end

  local function params(model, text)
    return { model = model, max_tokens = 64, messages = { { role = "user", content = text or "Hello, Claude" } } }
  end

  local function statuses()
    local n, s429 = 0, 0
    for _, r in ipairs(emu:log().requests) do
      if r.path == "/v1/messages" then
        n = n + 1
        if r.status == 429 then s429 = s429 + 1 end
      end
    end
    return n, s429
  end

  -- The exact cost, as the USD string client:spend() shows, of the emulator's last n usage records.
  local function expected_usd(n)
    local records = emu:usage()
    local total = prices.big(0)
    for i = #records - n + 1, #records do
      local u = records[i]
      total = prices.add(total, prices.cost(u.input_tokens, prices.price(u.model, "input")))
      total = prices.add(total, prices.cost(u.output_tokens, prices.price(u.model, "output")))
    end
    return guard.usd(total)
  end

  it("adds up the cost of every answer exactly (create and stream, dated ids)", function()
    local c = new { spend_limit = { usd = 5 } }
    assert.same({ usd = "0.000000", requests = 0, unpriced = 0, limit_usd = 5 }, c:spend())
    assert(c.messages:create(params("claude-opus-4-6")))
    assert(c.messages:create(params("claude-haiku-4-5-20251001", string.rep("many words ", 40))))
    local s = assert(c.messages:stream(params("claude-sonnet-5", "a streamed question")))
    local msg = assert(s:final())
    assert.is_true(msg.usage.output_tokens > 0)
    local spend = c:spend()
    assert.equal(3, spend.requests)
    assert.equal(0, spend.unpriced)
    assert.equal(expected_usd(3), spend.usd)
    assert.matches("^0%.%d%d%d%d%d%d%d*$", spend.usd)
    assert.are_not.equal("0.000000", spend.usd)
    c:close()
  end)

  it("counts a stream dropped before its end, when the collector takes it (a sentinel on 5.1 and LuaJIT)", function()
    local c = new { spend_limit = { usd = 5 } }
    local function open_and_drop() -- in a call of its own: no stale register keeps the stream
      local s = assert(c.messages:stream(params("claude-opus-4-6", "a long question")))
      assert.equal("message_start", assert(s:next()).type)
    end
    open_and_drop()
    collectgarbage()
    collectgarbage()
    assert.equal(1, c:spend().requests)
    assert.are_not.equal("0.000000", c:spend().usd)
    c:close()
  end)

  it("refuses the next request with kind budget once the limit is reached, sending nothing", function()
    local c = new { spend_limit = { usd = 0.000001 } }
    assert(c.messages:create(params("claude-opus-4-6")))
    local spent = c:spend().usd
    emu:clear_log()
    local msg, err = c.messages:create(params("claude-opus-4-6"))
    assert.is_nil(msg)
    assert.equal("budget", err.kind)
    assert.truthy(err.message:find(spent, 1, true))
    assert.truthy(err.message:find("spend_limit.usd", 1, true))
    assert.truthy(err.message:find("1e-06", 1, true) or err.message:find("0.000001", 1, true))
    local s, serr = c.messages:stream(params("claude-opus-4-6"))
    assert.is_nil(s)
    assert.equal("budget", serr.kind)
    assert.equal(0, (statuses()))
    -- count_tokens and models are not Messages answers: not refused
    assert(c.messages:count_tokens { model = "claude-opus-4-6", messages = USER })
    c:close()
  end)

  it("counts an unknown model as unpriced", function()
    emu:add_models { { id = "claude-extra" } }
    local c = new { spend_limit = { usd = 1 } }
    assert(c.messages:create(params("claude-extra")))
    assert(c.messages:create(params("claude-opus-4-6")))
    local spend = c:spend()
    assert.equal(2, spend.requests)
    assert.equal(1, spend.unpriced)
    assert.equal(expected_usd(1), spend.usd)
    c:close()
  end)

  it("checks the options", function()
    assert.has_error(function() new { spend_limit = { usd = -1 } } end)
    assert.has_error(function() new { spend_limit = { dollars = 1 } } end)
    assert.has_error(function() new { pace = "yes" } end)
    local c = new {}
    assert.same({ usd = "0.000000", requests = 0, unpriced = 0 }, c:spend())
    c:close()
  end)

  it("parses RFC 3339 reset times", function()
    assert.equal(0, guard.epoch("1970-01-01T00:00:00Z"))
    assert.equal(1736723519, guard.epoch("2025-01-12T23:11:59Z"))
    assert.equal(1736723519, guard.epoch("2025-01-13T00:11:59+01:00"))
    assert.is_nil(guard.epoch("soon"))
  end)

  it("pace waits for the bucket instead of taking a 429", function()
    emu:ratelimit { rpm = 60 }
    local c = new { pace = true, max_retries = 0 }
    local g = c._transport.guard
    local t0, n = tasks.now(), 0
    while not g.waits and n < 100 do
      n = n + 1
      assert(c.messages:create(params("claude-opus-4-6")))
    end
    assert.equal(1, g.waits) -- the last request waited, then succeeded
    assert.is_true(g.waited > 0.5 and tasks.now() - t0 >= g.waited)
    local total, s429 = statuses()
    assert.equal(n, total)
    assert.equal(0, s429)
    c:close()
  end)

  it("pace waits inside a task while the other tasks run", function()
    emu:ratelimit { rpm = 60 }
    local c = new { pace = true, max_retries = 0 }
    local ticks = 0
    local worker = anthropic.spawn(function()
      for _ = 1, 62 do assert(c.messages:create(params("claude-opus-4-6"))) end
      return true
    end)
    local ticker = anthropic.spawn(function()
      while not worker.done do
        ticks = ticks + 1
        tasks.sleep(0.05)
      end
    end)
    assert.is_true(worker:wait())
    ticker:wait()
    assert.is_true(c._transport.guard.waits >= 1)
    assert.is_true(ticks > 5)
    local _, s429 = statuses()
    assert.equal(0, s429)
    c:close()
  end)

  it("without pace the request gets the 429 as before", function()
    emu:ratelimit { rpm = 2 }
    local c = new { max_retries = 0 }
    assert(c.messages:create(params("claude-opus-4-6")))
    assert(c.messages:create(params("claude-opus-4-6")))
    local msg, err = c.messages:create(params("claude-opus-4-6"))
    assert.is_nil(msg)
    assert.equal(429, err.status)
    local _, s429 = statuses()
    assert.equal(1, s429)
    c:close()
  end)
end)
