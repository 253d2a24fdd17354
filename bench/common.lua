--- Helpers shared by the Lua bench scripts: for the clients (ours.lua, luasocket.lua) arguments,
-- warm-up, measurement and the RESULT line the driver (run.sh) collects; for the peak-memory
-- benches (peak_body.lua, peak_results.lua) their loopback server; for those that write their
-- figures into a docs file (peak_results.lua, host.lua, pacing.lua) the rewrite of its section.
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

--- A field of /proc/self/status in kB (VmRSS, VmHWM); where there is none, default, or without
-- one an error.
function M.status_kb(field, default)
  local f = io.open("/proc/self/status")
  local s = f and f:read("a")
  if f then f:close() end
  local kb = s and tonumber(s:match(field .. ":%s*(%d+)"))
  if kb then return kb end
  return assert(default, "no " .. field .. " in /proc/self/status")
end

local function status_kb(field)
  return M.status_kb(field, -1)
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

--- The loopback server of a peak-memory bench (the script run with `serve`, in its own process):
-- prints its port, then for each connection reads the request line and headers (the body, if
-- any, is left unread) and calls answer(c, path, request_line), then closes the connection. A
-- request for /quit ends it (the process exits).
function M.serve(timeout, answer)
  local socket = require "socket"
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  io.stdout:write(port, "\n")
  io.stdout:flush()
  while true do
    local c = server:accept()
    if c then
      c:settimeout(timeout)
      local first = c:receive("*l") or ""
      repeat
        local h = c:receive("*l")
      until not h or h == ""
      local path = first:match("^%u+ (%S+)") or ""
      if path:match("^/quit") then
        c:close()
        break
      end
      answer(c, path, first)
      c:close()
    end
  end
  os.exit(0)
end

--- Start `LUA SCRIPT serve` (M.serve in its own process): its base URL and a function that
-- stops it.
function M.start_server(lua, script)
  local srv = assert(io.popen(lua .. " " .. script .. " serve", "r"))
  local port = assert(tonumber(srv:read("l")), "the bench server did not start")
  local function stop()
    local quit = require("socket").tcp()
    quit:connect("127.0.0.1", port)
    quit:send("GET /quit HTTP/1.1\r\n\r\n")
    quit:close()
    srv:close()
  end
  return "http://127.0.0.1:" .. port, stop
end

--- Put text between <!-- NAME:begin --> and <!-- NAME:end --> in the file doc; without those
-- markers, say so on stderr (prefixed with who) and leave the file alone. True if rewritten.
function M.rewrite_section(doc, name, text, who)
  local f = assert(io.open(doc, "rb"))
  local all = f:read("a")
  f:close()
  local quoted = name:gsub("%p", "%%%0")
  local new, n = all:gsub("(<!%-%- " .. quoted .. ":begin %-%->\n).-(<!%-%- " .. quoted .. ":end %-%->)",
    function(a, b) return a .. text .. b end)
  if n ~= 1 then
    io.stderr:write(who, ": no ", name, ":begin/end markers in ", doc, "\n")
    return false
  end
  f = assert(io.open(doc, "wb"))
  f:write(new)
  f:close()
  return true
end

return M
