-- One Lua state per thread (spec/c/threads_host.c): eight threads start together, each loads the
-- module into its own state and runs creates and a stream as tasks against the emulator, then
-- closes its state. Every thread gets its own answers. The host embeds the VM the specs run
-- under, with that VM's core (docs/embedding.md#threads).
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local THREADS = 8

describe("one Lua state per thread", function()
  local dir, host, emu, key
  lazy_setup(function()
    dir = util.tmpdir()
    host = dir .. "/threads_host"
    local out, err, status = util.run({ "sh", "-c",
      "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o \"$0\" spec/c/threads_host.c " ..
      "$(pkg-config --cflags --libs \"$1\") -lpthread", host, util.vm(util.LUA) })
    assert(status == 0, "building spec/c/threads_host.c failed:\n" .. out .. err)
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  lazy_teardown(function()
    if emu then emu:stop() end
    util.rmdir(dir)
  end)

  it("runs a state with the module in each of " .. THREADS .. " threads at once", function()
    local out, err, status = util.run({ host, tostring(THREADS), package.path, package.cpath, emu.url },
      { ANTHROPIC_API_KEY = key })
    util.assert_no_leak(out .. err, key, "the host's output")
    local want = {}
    for i = 1, THREADS do want[i] = "thread " .. i .. ": ok" end
    want[#want + 1] = "done"
    local got = {}
    for line in out:gmatch("[^\n]+") do got[#got + 1] = line end
    assert.same(want, got)
    assert.equal(0, status, err)
    local requests = 0
    for _, r in ipairs(emu:log().requests) do
      if r.path == "/v1/messages" then requests = requests + 1 end
    end
    assert.equal(THREADS * 4, requests)
  end)
end)
