-- Tasks: concurrent calls in coroutines on the shared engine, poll() that never blocks longer
-- than asked, run(), task:wait() inside and outside tasks, errors.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"

describe("tasks", function()
  local emu, key, client
  local P = { model = "claude-opus-4-6", max_tokens = 16, messages = { { role = "user", content = "hi" } } }
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
    client = anthropic.new { api_key = key, base_url = emu.url }
  end)
  teardown(function()
    client:close()
    emu:stop()
  end)
  before_each(function() emu:reset() end)

  it("runs many calls concurrently and returns each task's results", function()
    local list = {}
    for i = 1, 8 do
      list[i] = anthropic.spawn(function(n)
        local msg, err = client.messages:create { model = P.model, max_tokens = 16,
          messages = { { role = "user", content = "task " .. n } } }
        assert(msg, err)
        return n, msg.content[1].text
      end, i)
    end
    anthropic.run()
    for i = 1, 8 do
      local n, text = list[i]:wait()
      assert.equal(i, n)
      assert.matches("task " .. i, text)
    end
    -- they overlapped: more than one connection was open at once
    assert.is_true(emu:connections().total > 1)
  end)

  it("poll never blocks longer than asked while a request is stalled", function()
    emu:faults { { path = "/v1/messages", action = "stall" } }
    local impatient = anthropic.new { api_key = key, base_url = emu.url, timeout = 0.5, max_retries = 0 }
    local stalled = anthropic.spawn(function() return impatient.messages:create(P) end)
    local quick = anthropic.spawn(function() return client.models:get("claude-opus-4-6") end)
    local t0 = core.now()
    local polls = 0
    while not quick.done do
      assert.is_true(anthropic.poll(0.05) >= 1)
      polls = polls + 1
    end
    assert.equal("claude-opus-4-6", (quick:wait()).id)
    local before = core.now()
    assert.equal(1, anthropic.poll(0))
    assert.is_true(core.now() - before < 0.05, "poll(0) returns at once")
    before = core.now()
    anthropic.poll(0.2)
    local waited = core.now() - before
    assert.is_true(waited >= 0.19 and waited < 1, "poll(0.2) waited " .. waited)
    assert.is_false(stalled.done)
    assert.is_true(polls >= 1 and core.now() - t0 < 5)
    local msg, err = stalled:wait()
    assert.is_nil(msg)
    assert.equal("timeout", err.kind)
    impatient:close()
  end)

  it("waits for one task from another, and reports errors", function()
    local failing = anthropic.spawn(function() error("boom") end)
    local bad = anthropic.spawn(function()
      local _, err = client.models:get("no-such-model")
      error(err)
    end)
    local outer = anthropic.spawn(function()
      local ok, e = failing:wait()
      local _, e2 = bad:wait()
      return ok, e, e2
    end)
    local ok, e, e2 = outer:wait()
    assert.is_nil(ok)
    assert.matches("boom", e)
    assert.is_true(anthropic.is_error(e2))
    assert.equal(404, e2.status)
    assert.matches("failed", tostring(failing))
  end)

  it("wakes a waiting task for each thing it can wait on, with the engine idle or not", function()
    -- waits that no transfer ends: another task finishing, a timer, a transfer canceled by a task
    local tasks = require "anthropic.tasks"
    local order = {}
    local sleeper = anthropic.spawn(function()
      tasks.sleep(0.05)
      order[#order + 1] = "slept"
      return "rested"
    end)
    local waiter = anthropic.spawn(function()
      local r = sleeper:wait()
      order[#order + 1] = "waited"
      return r
    end)
    -- a stream that stalls after its first events, closed by another task while its reader waits
    emu:faults { { path = "/v1/messages", stream_stall_after = 2 } }
    local opened, read_err
    local reader = anthropic.spawn(function()
      opened = assert(client.messages:stream(P))
      local next_event = opened:events() -- (called by hand: PUC 5.1 cannot yield in a for loop's iterator)
      while next_event() do end
    end)
    local closer = anthropic.spawn(function()
      while not opened do tasks.sleep(0.01) end
      tasks.sleep(0.05) -- the reader is waiting on the stalled stream by now
      opened:close()
    end)
    anthropic.run()
    assert.equal("rested", (waiter:wait()))
    assert.same({ "slept", "waited" }, order)
    assert.is_true(closer.done)
    local _, err = reader:wait()
    read_err = err
    assert.is_true(anthropic.is_error(read_err))
    assert.equal("canceled", read_err.kind)
  end)

  it("blocks normally outside tasks and refuses nonsense", function()
    assert(client.messages:create(P))
    assert.has_error(function() anthropic.spawn("x") end)
    -- a plain yield lets the others run; the task resumes at the next poll
    local steps = {}
    local a = anthropic.spawn(function() steps[#steps + 1] = "a1"; coroutine.yield(); steps[#steps + 1] = "a2" end)
    local b = anthropic.spawn(function() steps[#steps + 1] = "b1" end)
    anthropic.run()
    assert.same({ "a1", "b1", "a2" }, steps)
    assert.is_true(a.done and b.done)
    -- two tasks waiting for each other can never finish
    local x, y
    x = anthropic.spawn(function() return y:wait() end)
    y = anthropic.spawn(function() return x:wait() end)
    assert.has_error(function() anthropic.run() end, "anthropic.run: 2 task(s) wait and nothing is in flight")
  end)
end)
