-- Hosts with their own event loop: one pollable descriptor plus a timeout drive every transfer
-- and task, without a busy loop and without blocking in the library.
local anthropic = require "anthropic"
local core = require "anthropic.core"
local emulator = require "helpers.emulator"
local socket = require "socket"

describe("pollable engine", function()
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

  -- the host's loop: wait on the descriptor (luasocket's select takes any object with getfd)
  local function host_loop(until_done, max_wait)
    local fd = assert(anthropic.pollfd())
    local waker = { getfd = function() return fd end }
    local rounds, woken = 0, 0
    while not until_done() do
      local t = anthropic.timeout()
      local ready = socket.select({ waker }, nil, math.min(t or max_wait, max_wait))
      if #ready > 0 then woken = woken + 1 end
      anthropic.poll(0)
      rounds = rounds + 1
      assert(rounds < 10000, "the host loop spins")
    end
    return rounds, woken
  end

  it("wakes the host when an answer arrives, with no busy loop", function()
    emu:faults { { path = "/v1/messages", delay = 0.3 } }
    local task = anthropic.spawn(function() return client.messages:create(P) end)
    local t0 = core.now()
    local rounds, woken = host_loop(function() return task.done end, 5)
    local msg, err = task:wait()
    assert.is_nil(err)
    assert.equal("message", msg.type)
    assert.is_true(core.now() - t0 >= 0.29)
    assert.is_true(woken >= 1, "the descriptor became readable")
    assert.is_true(rounds < 200, "rounds: " .. rounds)
  end)

  it("drives many tasks and a stream through one descriptor", function()
    local creates = {}
    for i = 1, 6 do
      creates[i] = anthropic.spawn(function() return assert(client.messages:create(P)).content[1].text end)
    end
    local text = {}
    local streaming = anthropic.spawn(function()
      local s = assert(client.messages:stream(P))
      for piece in s:text() do text[#text + 1] = piece end
      return true
    end)
    local function all_done()
      for _, t in ipairs(creates) do if not t.done then return false end end
      return streaming.done
    end
    host_loop(all_done, 1)
    for i, t in ipairs(creates) do
      local reply, err = t:wait()
      assert.is_nil(err, "task " .. i)
      assert.is_string(reply)
    end
    assert.is_true(streaming:wait())
    assert.is_true(#table.concat(text) > 0)
    assert.is_nil(anthropic.timeout(), "nothing pending once everything is done")
  end)

  it("offers the cqueues pollable convention", function()
    local p = anthropic.pollable()
    assert.equal("r", p.events())
    assert.equal(anthropic.pollfd(), p.pollfd())
    assert.is_nil(p.timeout())
    local task = anthropic.spawn(function() return true end)
    assert.equal(0, p.timeout(), "a runnable task: poll now")
    anthropic.poll(0)
    assert.is_true(task.done)
  end)

  it("is the same descriptor for the engine and closes with it", function()
    local eng = core.engine()
    local fd = assert(eng:pollfd())
    assert.equal(fd, eng:pollfd())
    eng:close()
    assert.has_error(function() eng:pollfd() end, "attempt to use a closed engine")
  end)
end)
