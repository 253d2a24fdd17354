--- Peer: luasocket + lua-cjson, the same requests as baseline.c on one kept-alive connection.
--   lua5.4 bench/luasocket.lua WORKLOAD BASE_URL REQUEST_JSON N
-- A minimal hand-written HTTP/1.1 client (socket.http would close the connection after every
-- request): no TLS, no retries, no chunked bodies, no error types; the least a Lua program on
-- luasocket can do. The body is encoded with cjson each request, answers and every event's
-- data are decoded with cjson, and the text is read, as ours.lua does through the library.
package.path = "./bench/?.lua;" .. package.path
local socket = require "socket"
local cjson = require "cjson"
local common = require "common"

local a = common.args()
local host, port = a.base:match("^http://([^:/]+):(%d+)")
local params = cjson.decode(a.request)
local sock = assert(socket.connect(host, tonumber(port)))
sock:setoption("tcp-nodelay", true)

local HEAD = "anthropic-version: 2023-06-01\r\naccept: application/json\r\nuser-agent: bench-luasocket/1\r\n" ..
  "content-type: application/json\r\nx-api-key: " .. common.KEY .. "\r\nhost: " .. host .. ":" .. port .. "\r\n"

-- Send one request; read the status line and headers -> content-length
local function send(path, body)
  assert(sock:send("POST " .. path .. " HTTP/1.1\r\n" .. HEAD .. "content-length: " .. #body .. "\r\n\r\n" .. body))
  local status = assert(sock:receive("*l"))
  assert(status:match("^HTTP/1%.1 200"), status)
  local len
  while true do
    local line = assert(sock:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k and k:lower() == "content-length" then len = tonumber(v) end
  end
  return assert(len, "no content-length")
end

local function create()
  local len = send("/v1/messages", cjson.encode(params))
  local body = assert(sock:receive(len))
  local msg = cjson.decode(body)
  local n = 0
  for _, block in ipairs(msg.content) do n = n + #(block.text or "") end
  return n
end

local function stream(workload)
  local body = {}
  for k, v in pairs(params) do body[k] = v end
  body.stream = true
  local len = send("/" .. workload .. "/v1/messages", cjson.encode(body))
  local n, data = 0, {}
  while len > 0 do
    local line = assert(sock:receive("*l"))
    len = len - #line - 1 -- the events end lines with \n alone
    if line == "" then
      if #data > 0 then
        local ev = cjson.decode(table.concat(data, "\n"))
        data = {}
        local d = ev.delta
        if ev.type == "content_block_delta" and d.type == "text_delta" then n = n + #d.text end
      end
    else
      local v = line:match("^data: ?(.*)$")
      if v then data[#data + 1] = v end
    end
  end
  return n
end

local function run(workload, n)
  local text = 0
  for _ = 1, n do text = text + (workload == "create" and create() or stream(workload)) end
  return text
end

run(a.warm_workload, a.warm)
common.measure(a.n, function() return run(a.workload, a.n) end, socket.gettime)
sock:close()
