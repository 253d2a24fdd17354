--- `make bench` (and `make bench-body` alone): peak memory of one answer at the max_body cap.
-- A loopback server (this script with `serve`, in its own process) answers N bytes of valid
-- JSON, with or without Content-Length; each case runs in a fresh client process (this script
-- with `client`) so that its VmHWM (peak RSS) is its own. Printed side by side: the baseline
-- (the client process after loading the module, before the request), the peak, and the growth
-- over the baseline as a multiple of max_body.
--
--   lua5.4 bench/peak_body.lua [MAX_BODY_MiB]     (default 64)
package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = (os.getenv("BUILD") or "build") .. "/?.so;" .. package.cpath

local common = require "common"
local mode = arg[1]

-- A JSON Message of exactly n bytes (n >= 200); escaped: its text has a "\n" every 80 bytes, as
-- real text does (the decoder then unescapes it).
local function message(n, escaped)
  local head = '{"id":"msg_bench","type":"message","role":"assistant","model":"claude-opus-4-6",'
    .. '"content":[{"type":"text","text":"'
  local tail = '"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}'
  local len = n - #head - #tail
  local text = escaped and (("x"):rep(78) .. "\\n"):rep(len // 80 + 1):sub(1, len) or ("x"):rep(len)
  if text:sub(-1) == "\\" then text = text:sub(1, -2) .. "x" end
  return head .. text .. tail
end

if mode == "serve" then
  common.serve(30, function(c, path)
    local kind, n = path:match("^/(%a+)/(%d+)")
    n = tonumber(n) or 200
    -- the request body, if any, is left unread: the answer does not depend on it
    local body = message(n, kind:match("esc$") ~= nil)
    local head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\n"
    if kind:match("^cl") then
      head = head .. "content-length: " .. #body .. "\r\n\r\n"
    else
      head = head .. "connection: close\r\n\r\n" -- the end of the body is the end of the connection
    end
    c:send(head)
    c:send(body)
  end)
end

if mode == "client" then
  local url, max_body, what = arg[2], math.tointeger(tonumber(arg[3])), arg[4]
  local anthropic = require "anthropic"
  local c = assert(anthropic.new { api_key = "sk-ant-api03-bench" .. ("0"):rep(88) .. "-AAAAAAAA", base_url = url,
                                   max_body = max_body, max_retries = 0, timeout = 120 })
  collectgarbage()
  local base = common.status_kb("VmRSS")
  local msg, err
  if what == "raw" then
    msg, err = c.models:list() -- a decoded answer too; kept for symmetry (see below)
  else
    msg, err = c.messages:create { model = "claude-opus-4-6", max_tokens = 1,
                                   messages = { { role = "user", content = "hi" } } }
  end
  local outcome = msg and ("ok, text " .. #msg.content[1].text .. " bytes") or (err.kind .. ": " .. err.message)
  msg = nil -- luacheck: ignore 311
  io.stdout:write(string.format("%d\t%d\t%s\n", base, common.status_kb("VmHWM"), outcome))
  os.exit(0)
end

-- the driver
local lua = os.getenv("LUA") or "lua5.4"
local mib = tonumber(mode) or 64
local max_body = math.floor(mib * 1024 * 1024)
local base_url, stop_server = common.start_server(lua, arg[0])

local cases = {
  { "at the cap, Content-Length", "cl", max_body },
  { "at the cap, no Content-Length", "nocl", max_body },
  { "at the cap, text with escapes", "clesc", max_body },
  { "one byte over, Content-Length", "cl", max_body + 1 },
  { "one byte over, no Content-Length", "nocl", max_body + 1 },
}
print(string.format("peak RSS of one answer, max_body = %d MiB (%d bytes)", mib, max_body))
print(string.format("%-36s %12s %12s %14s  %s", "case", "baseline MB", "peak MB", "growth/max_body", "outcome"))
for _, case in ipairs(cases) do
  local p = assert(io.popen(string.format("%s %s client %s/%s/%d %d create", lua, arg[0], base_url, case[2], case[3],
    max_body)))
  local out = p:read("a")
  p:close()
  local base, peak, outcome = out:match("^(%d+)\t(%d+)\t([^\n]*)")
  if not base then
    print(case[1] .. ": the client failed: " .. out)
  else
    base, peak = tonumber(base), tonumber(peak)
    print(string.format("%-36s %12.1f %12.1f %14.2f  %s", case[1], base / 1024, peak / 1024,
      (peak - base) * 1024 / max_body, outcome:sub(1, 70)))
  end
end
stop_server()
