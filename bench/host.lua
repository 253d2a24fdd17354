-- `make host-bench`: examples/host (a C program with a 60 Hz frame loop) against the emulator,
-- built for Lua 5.4 (build/host) and LuaJIT (build-luajit/host), in both of its modes (poll(0)
-- each frame; poll(2) on anthropic.pollfd() with anthropic.timeout()), on three rows:
--   slow    a long reply paced by the emulator (event_delay between events)
--   flood   a longer reply sent as fast as the emulator can (each text delta repeated)
--   tls     many replies over HTTPS, each on a fresh connection (a TLS handshake per request)
-- It prints the time spent in the library per frame (worst, p99, mean, frames over 2 ms) side by
-- side for the two VMs, and writes the table into docs/embedding.md between
-- <!-- host-bench:begin --> and <!-- host-bench:end --> when given a path to it.
--   lua5.4 bench/host.lua [docs/embedding.md]
package.path = "./lua/?.lua;./lua/?/init.lua;./spec/?.lua;./bench/?.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath

local common = require "common"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local VMS = { { name = "Lua 5.4", host = "build/host", cpath = "./build/?.so" },
              { name = "LuaJIT", host = "build-luajit/host", cpath = "./build-luajit/?.so" } }
local MODES = { "poll", "pollfd" }
local ROWS = {
  { name = "slow", what = "one reply of 300 text deltas, 10 ms apart (about 3 s)",
    stream = { chunk_size = 0, event_delay = 0.01, text_repeat = 1 }, words = 900, requests = 1, echo = true },
  { name = "flood", what = "one reply of 30,000 text deltas as fast as the emulator sends them",
    stream = { chunk_size = 0, event_delay = 0, text_repeat = 100 }, words = 900, requests = 1 },
  { name = "tls", what = "20 replies of 100 text deltas over HTTPS, one after the other, each on a new "
      .. "connection (`Connection: close`), trusting the system's CA bundle plus the emulator's CA "
      .. "(`ANTHROPIC_CA_FILE`)",
    stream = { chunk_size = 0, event_delay = 0, text_repeat = 1 }, words = 300, requests = 20, fresh = true,
    tls = true, echo = true },
}

local key = emulator.make_key("api03")
local plain = emulator.start { keys = { key }, tls = false }
local secure = emulator.start { keys = { key }, tls = true }
-- The tls row trusts the system's bundle plus the emulator's CA, so the client parses as much as
-- it would for the real API (about 140 certificates).
local SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
local dir = util.tmpdir()
local bundle = dir .. "/bundle.pem"
do
  local f = io.open(SYSTEM_BUNDLE, "rb")
  local system = f and f:read("a") or ""
  if f then f:close() end
  util.write(bundle, system .. "\n" .. util.read(secure.ca_file), "644")
end

local function run(vm, mode, row)
  local server = row.tls and secure or plain
  server:reset()
  server:stream_options(row.stream)
  local argv = { vm.host, "--mode", mode, "--requests", tostring(row.requests), "--words", tostring(row.words),
    "--cpath", vm.cpath }
  if row.fresh then argv[#argv + 1] = "--fresh" end
  if row.echo then argv[#argv + 1] = "--echo" end
  local out, err, status = util.run(argv, { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = server.url,
    ANTHROPIC_CA_FILE = row.tls and bundle or false })
  util.assert_no_leak(out .. err, key, "the host's output")
  local r = {}
  for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
  if status ~= 0 or r.complete ~= "yes" or not r.worst_ms then
    error(string.format("%s %s %s: the host failed (status %s):\n%s%s", vm.name, mode, row.name,
      tostring(status), out, err), 0)
  end
  io.stderr:write(string.format("%-8s %-6s %-6s %s", vm.name, mode, row.name, out:match("frames:[^\n]*\n")))
  return r
end

local results = {}
local ok, failure = pcall(function()
  for _, row in ipairs(ROWS) do
    for _, mode in ipairs(MODES) do
      for _, vm in ipairs(VMS) do
        results[#results + 1] = { row = row, mode = mode, vm = vm, r = run(vm, mode, row) }
      end
    end
  end
end)
plain:stop()
secure:stop()
util.rmdir(dir)
if not ok then error(failure, 0) end

local function cell(r)
  return string.format("%.2f (%.2f) | %.2f | %.3f | %d | %.1f", r.worst_ms, r.worst_cpu_ms, r.p99_ms, r.mean_ms,
    r.over_2ms, r.load_ms)
end

local lines = {
  "Milliseconds spent in the library per frame (inside `anthropic.poll(0)`, `anthropic.timeout()`, and "
    .. "the first frame's `spawn`; the client is made before the first frame) by examples/host at 60 Hz on "
    .. "this machine (2 cores shared with other work: single frames vary by a millisecond from run to run), "
    .. "against the emulator on loopback. `worst (cpu)`: the longest frame's time in the library and, in "
    .. "parentheses, the most processor time the host's thread used there in one frame (the difference "
    .. "is time spent waiting for a processor). `>2ms`: frames over 2 ms. `new`: making the client at start-up, "
    .. "before the first frame (not a frame's time): over HTTPS it loads the CA bundle then. The app "
    .. "joins the reply's text 256 pieces at a time as they come (one join of all 30,000 at the end took "
    .. "1.5 ms of one frame).",
  "",
}
for _, row in ipairs(ROWS) do lines[#lines + 1] = string.format("- **%s**: %s.", row.name, row.what) end
lines[#lines + 1] = ""
lines[#lines + 1] = "| row | mode | frames | 5.4 worst (cpu) | p99 | mean | >2ms | new | LuaJIT worst (cpu) | p99 | mean | >2ms | new |"
lines[#lines + 1] = "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
local missed = {}
for i = 1, #results, 2 do
  local a, b = results[i], results[i + 1]
  lines[#lines + 1] = string.format("| %s | %s | %d | %s | %s |", a.row.name, a.mode, a.r.frames, cell(a.r), cell(b.r))
  for _, x in ipairs { a, b } do
    if x.r.worst_ms >= 2 then
      missed[#missed + 1] = string.format("%s %s %s%s", x.row.name, x.mode, x.vm.name,
        x.r.worst_cpu_ms < 2 and " (its processor time under 2 ms: it waited for a processor)" or "")
    end
  end
end
local text = table.concat(lines, "\n") .. "\n"
io.write(text)
io.stderr:write("host bench: ", #missed == 0 and "worst frame under 2 ms on every row"
  or ("over 2 ms: " .. table.concat(missed, ", ")), "\n")

local doc = arg[1]
if doc then
  common.rewrite_section(doc, "host-bench", "Measured " .. os.date("!%Y-%m-%dT%H:%MZ") .. ".\n\n" .. text, "host bench")
end
os.exit(#missed == 0 and 0 or 1)
