--- `make bench` (and `make bench-results` alone): peak memory of client.batches:results(id) for a
-- batch of 100 results and one of 100,000, side by side with the whole-body approach it replaced
-- (the results fetched as one string, then split and decoded a line at a time). A loopback server
-- (this script with `serve`, in its own process) answers the batch and its JSONL results, written
-- as they are made, so the server stays small too; each case runs in a fresh client process (this
-- script with `client`) so that its VmHWM (peak RSS) is its own.
--
--   lua5.4 bench/peak_results.lua [docs/performance.md]   (with the path: the figures go between
--                                  <!-- results:begin --> and <!-- results:end --> there)
package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = (os.getenv("BUILD") or "build") .. "/?.so;" .. package.cpath

local common = require "common"
local mode = arg[1]

-- One result line as the API writes it: a Message of about 600 bytes.
local TEXT = ("Lua is a lightweight, embeddable scripting language. "):rep(8)
local function line(i)
  return string.format('{"custom_id":"req-%d","result":{"type":"succeeded","message":{"id":"msg_%08d",'
    .. '"type":"message","role":"assistant","model":"claude-opus-4-6","content":[{"type":"text","text":"%s"}],'
    .. '"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":96,'
    .. '"service_tier":"batch"}}}}\n', i, i, TEXT)
end

if mode == "serve" then
  common.serve(60, function(c, path)
    local n, results = path:match("^/v1/messages/batches/msgbatch_(%d+)(/?r?e?s?u?l?t?s?)$")
    n = tonumber(n) or 0
    if results == "/results" then
      c:send("HTTP/1.1 200 OK\r\ncontent-type: application/binary\r\nrequest-id: req_bench\r\n"
        .. "connection: close\r\n\r\n")
      local buf = {}
      for i = 1, n do
        buf[#buf + 1] = line(i)
        if #buf == 64 or i == n then
          if not c:send(table.concat(buf)) then break end -- (the client may stop reading)
          buf = {}
        end
      end
    else
      local body = string.format('{"id":"msgbatch_%d","type":"message_batch","processing_status":"ended",'
        .. '"request_counts":{"processing":0,"succeeded":%d,"errored":0,"canceled":0,"expired":0}}', n, n)
      c:send("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\ncontent-length: "
        .. #body .. "\r\nconnection: close\r\n\r\n" .. body)
    end
  end)
end

if mode == "client" then
  local url, n, how = arg[2], tonumber(arg[3]), arg[4]
  local anthropic = require "anthropic"
  local json = require "anthropic.json"
  local c = assert(anthropic.new { api_key = "sk-ant-api03-bench" .. ("0"):rep(88) .. "-AAAAAAAA", base_url = url,
                                   max_retries = 0, timeout = 120, max_body = 1024 * 1024 * 1024 })
  local id = "msgbatch_" .. n
  collectgarbage()
  local base = common.status_kb("VmRSS")
  local t0 = os.clock()
  local count, bytes = 0, 0
  if how == "lines" then
    for r in c.batches:results(id) do
      count = count + 1
      bytes = bytes + #r.result.message.content[1].text
    end
  else -- what batches:results did before: the body as one string, then split and decoded
    assert(c.batches:get(id))
    local body = assert(c._transport:request { method = "GET", path = "/v1/messages/batches/" .. id .. "/results",
                                               raw = true })
    local pos = 1
    while pos <= #body do
      local nl = body:find("\n", pos, true) or (#body + 1)
      local text = body:sub(pos, nl - 1)
      pos = nl + 1
      if text:match("%S") then
        local r = assert(json.decode(text))
        count = count + 1
        bytes = bytes + #r.result.message.content[1].text
      end
    end
    body = nil -- luacheck: ignore 311
  end
  io.stdout:write(string.format("%d\t%d\t%d\t%.2f\n", base, common.status_kb("VmHWM"), count, os.clock() - t0))
  os.exit(0)
end

-- the driver
local lua = os.getenv("LUA") or "lua5.4"
local doc = mode
local base_url, stop_server = common.start_server(lua, arg[0])

local cases = {
  { "100 results, read as they arrive", 100, "lines" },
  { "100,000 results, read as they arrive", 100000, "lines" },
  { "100 results, the whole body first (before)", 100, "whole" },
  { "100,000 results, the whole body first (before)", 100000, "whole" },
}
local rows = {}
local failed = false
local head = string.format("%-48s %12s %10s %10s %9s", "case", "baseline MB", "peak MB", "growth MB", "CPU s")
print(string.format("peak RSS of client.batches:results (result lines of %d bytes)", #line(1)))
print(head)
for _, case in ipairs(cases) do
  local p = assert(io.popen(string.format("%s %s client %s %d %s", lua, arg[0], base_url, case[2], case[3])))
  local out = p:read("a")
  p:close()
  local base, peak, count, cpu = out:match("^(%d+)\t(%d+)\t(%d+)\t([%d.]+)")
  if not base or tonumber(count) ~= case[2] then
    print(case[1] .. ": the client failed: " .. out)
    failed = true
  else
    base, peak = tonumber(base) / 1024, tonumber(peak) / 1024
    print(string.format("%-48s %12.1f %10.1f %10.1f %9s", case[1], base, peak, peak - base, cpu))
    rows[#rows + 1] = string.format("| %s | %.1f | %.1f | %.1f | %s |", case[1], base, peak, peak - base, cpu)
  end
end
stop_server()

if doc and not failed then
  local text = string.format("Measured %s, %s, result lines of %d bytes (%.1f MB for 100,000).\n\n"
    .. "| case | baseline MB | peak MB | growth MB | CPU s |\n|---|--:|--:|--:|--:|\n%s\n",
    os.date("!%Y-%m-%dT%H:%MZ"), lua, #line(1), 100000 * #line(1) / 1e6, table.concat(rows, "\n"))
  common.rewrite_section(doc, "results", text, "bench results")
end
os.exit(failed and 1 or 0)
