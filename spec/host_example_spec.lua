-- examples/host (a C program with a 60 Hz frame loop embedding Lua) builds for the VM the specs
-- run under and streams a reply in full in both of its modes, printing its figures. No timing is
-- asserted here: `make host-bench` measures (docs/embedding.md).
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("examples/host", function()
  local dir, host, emu, key
  lazy_setup(function()
    dir = util.tmpdir()
    host = dir .. "/host"
    local out, err, status = util.run({ "sh", "-c",
      "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o \"$0\" examples/host/host.c " ..
      "$(pkg-config --cflags --libs \"$1\") -lm -ldl -pthread", host, util.vm(util.LUA) })
    assert(status == 0, "building examples/host/host.c failed:\n" .. out .. err)
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key }, tls = false }
  end)
  lazy_teardown(function()
    if emu then emu:stop() end
    util.rmdir(dir)
  end)

  local function run(args)
    -- this process's module paths (the VM under test's core; make sanitize's), from the project root
    local argv = { host, "--path", package.path, "--cpath", package.cpath, "--echo", "--max-frames", "1200" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, status = util.run(argv, { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url,
      ANTHROPIC_CA_FILE = false })
    util.assert_no_leak(out .. err, key, "the host's output")
    local r = {}
    for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
    return r, out .. err, status
  end

  for _, mode in ipairs { "poll", "pollfd" } do
    it(mode .. " mode: two replies arrive in full and the figures are printed", function()
      emu:stream_options { event_delay = 0.002 }
      local r, out, status = run { "--mode", mode, "--requests", "2", "--words", "60" }
      assert.equal(0, status, out)
      assert.equal("yes", r.complete, out)
      assert.equal(2, r.requests)
      -- the emulator's echo of the prompt app.lua sends (words "word1" ... "word60"), twice
      local words = {}
      for i = 1, 60 do words[i] = "word" .. i end
      assert.equal(2 * #("You said: " .. table.concat(words, " ")), r.bytes)
      assert.is_true(r.frames >= 2)
      for _, k in ipairs { "worst_ms", "p99_ms", "mean_ms", "over_2ms", "first_ms", "load_ms" } do
        assert.is_number(r[k], k .. " is printed: " .. out)
      end
      assert.is_true(r.worst_ms >= r.p99_ms and r.p99_ms >= 0)
    end)
  end

  it("one Lua state per thread: three threads stream at once, each reply in full", function()
    emu:stream_options { event_delay = 0.002 }
    local _, out, status = run { "--threads", "3", "--mode", "pollfd", "--requests", "2", "--words", "40" }
    assert.equal(0, status, out)
    local n = 0
    for k, line in out:gmatch("thread (%d)\n(reply: [^\n]*)") do
      n = n + 1
      assert.equal(tostring(n), k)
      assert.matches("requests=2 .*complete=yes", line)
    end
    assert.equal(3, n, out)
  end)

  it("says so when the reply does not arrive within its frames", function()
    emu:faults { { path = "/v1/messages", delay = 5 } }
    local r, out, status = run { "--max-frames", "5" }
    assert.equal(1, status, out)
    assert.equal("no", r.complete, out)
    assert.matches("not finished within %-%-max%-frames", out)
  end)

  it("refuses an unknown mode with the fix", function()
    local _, out, status = run { "--mode", "busy" }
    assert.equal(2, status)
    assert.matches("--mode is poll or pollfd, not busy", out, 1, true)
  end)
end)
