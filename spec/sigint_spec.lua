-- core.sigint_trap / core.sigint_caught (src/lsignal.c), in this process: a SIGINT while the trap
-- is set only sets the flag; untrapping gives back the disposition there was and says whether one
-- came. (The CLI's use of it, apply stopping between actions, is in spec/cli_spec.lua.)
local core = require "anthropic.core"

local function own_pid()
  local f = assert(io.open("/proc/self/stat", "r"))
  local pid = tonumber(f:read("*a"):match("^(%d+)"))
  f:close()
  return pid
end

-- kill(1) run through popen, which (unlike os.execute) leaves this process's SIGINT alone while it
-- waits; the signal is delivered by the time the child has been reaped
local function interrupt_self()
  local p = assert(io.popen("kill -INT " .. own_pid()))
  p:close()
end

describe("core.sigint_trap", function()
  it("notes a SIGINT in a flag while set, and says so when unset", function()
    assert.is_false(core.sigint_trap(true))
    assert.is_false(core.sigint_caught())
    interrupt_self()
    assert.is_true(core.sigint_caught())
    assert.is_true(core.sigint_trap(false))
  end)

  it("starts clear each time it is set", function()
    assert.is_false(core.sigint_trap(true))
    assert.is_false(core.sigint_caught())
    assert.is_false(core.sigint_trap(false))
  end)
end)
