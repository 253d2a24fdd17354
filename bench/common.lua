--- Helpers shared by the Lua bench clients (ours.lua, luasocket.lua): arguments, warm-up,
-- measurement and the RESULT line the driver (run.sh) collects.
local M = {}

-- A key of the real shape (never sent anywhere but the bench's nginx on loopback).
M.KEY = "sk-ant-api03-bench" .. string.rep("0", 88) .. "-AAAAAAAA"

--- WORKLOAD BASE_URL REQUEST_JSON N [INFLIGHT] [VARIANT]
function M.args()
  local a = {
    workload = assert(arg[1], "usage: WORKLOAD BASE_URL REQUEST_JSON N [INFLIGHT] [VARIANT]"),
    base = assert(arg[2]), request_file = assert(arg[3]), n = assert(math.tointeger(tonumber(arg[4]))),
    inflight = math.tointeger(tonumber(arg[5] or "1")) or 1, variant = arg[6],
  }
  local f = assert(io.open(a.request_file, "rb"))
  a.request = f:read("a")
  f:close()
  a.stream = a.workload ~= "create"
  -- the warm-up: the same connection(s), excluded from the figures
  a.warm = (a.workload == "big" or a.workload == "mid") and 2 or 20
  a.warm_workload = a.stream and "small" or "create"
  return a
end

--- The URL prefix of a workload: create -> BASE, a stream -> BASE/<name>.
function M.base_url(base, workload)
  return workload == "create" and base or (base .. "/" .. workload)
end

local function status_kb(field)
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+)")) or -1
end

--- Measure fn() (which returns the bytes of text it read): wall and CPU (os.clock is
-- CLOCK_PROCESS_CPUTIME_ID: user+sys of every thread), peak RSS during it (VmHWM after
-- resetting it) and its growth over the RSS before.
function M.measure(n, fn, now)
  collectgarbage()
  local rss0 = status_kb("VmRSS")
  local f = io.open("/proc/self/clear_refs", "w")
  if f then f:write("5") f:close() end
  local w0, c0 = now(), os.clock()
  local text = fn()
  local wall, cpu = now() - w0, os.clock() - c0
  local peak = status_kb("VmHWM")
  io.write(string.format("RESULT n=%d wall=%.6f cpu=%.6f rss_kb=%d grow_kb=%d text=%d\n",
    n, wall, cpu, peak, peak - rss0, text))
end

return M
