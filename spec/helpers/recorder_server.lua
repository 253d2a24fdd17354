-- A loopback listener that records every byte it receives (run by helpers/recorder.lua):
--   lua5.4 spec/helpers/recorder_server.lua FILE
-- prints "listening PORT" once, then appends every byte of every connection to FILE and one line
-- per accepted connection to FILE.conns. It answers just enough for a client to give up at once:
-- an HTTP request or CONNECT (once its headers and body are in) with 502, a SOCKS5 greeting with
-- "no acceptable method", a SOCKS4 request with "rejected", a TLS hello by closing. It exits when
-- its stdin closes.
local socket = require "socket"

local path = assert(arg[1], "usage: recorder_server.lua FILE")
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()

local function append(file, data)
  local f = assert(io.open(file, "ab"))
  f:write(data)
  f:close()
end

local clients = {} -- socket -> bytes received so far

local function reply(got)
  local first = got:byte(1)
  if first == 5 then return "\5\255" end
  if first == 4 then return "\0\91\0\0\0\0\0\0" end
  if first == 22 then return "" end -- a TLS ClientHello: an https:// proxy
  local head = got:find("\r\n\r\n", 1, true)
  if not head then return nil end -- wait for the rest of the headers
  local length = tonumber(got:sub(1, head):lower():match("\ncontent%-length:%s*(%d+)") or "0")
  if #got < head + 3 + length then return nil end
  return "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
end

local stdin = { getfd = function() return 0 end, dirty = function() return false end }
io.stdout:write("listening ", port, "\n")
io.stdout:flush()
while true do
  local watch = { server, stdin }
  for c in pairs(clients) do watch[#watch + 1] = c end
  local ready = socket.select(watch, nil)
  for _, s in ipairs(ready) do
    if s == stdin then
      if io.stdin:read(1) == nil then os.exit(0) end
    elseif s == server then
      local c = server:accept()
      if c then
        c:settimeout(0)
        clients[c] = ""
        append(path .. ".conns", "connection\n")
      end
    else
      local data, err, partial = s:receive(65536)
      local chunk = data or partial or ""
      if #chunk > 0 then
        append(path, chunk) -- recorded before any answer: the client's request ends after this
        clients[s] = clients[s] .. chunk
      end
      local answer = err ~= "closed" and reply(clients[s])
      if answer then s:send(answer) end
      if err == "closed" or answer then
        clients[s] = nil
        s:close()
      end
    end
  end
end
