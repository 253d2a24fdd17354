-- A small HTTP/1.1 server on luasocket: non-blocking sockets, one coroutine per connection, all
-- driven by socket.select in Server:step(). A slow or stalled connection only parks its own
-- coroutine. Nothing in this file knows about the Anthropic API.
--
-- Inside a connection coroutine, every call that would block yields to the scheduler instead:
-- conn:read_request(), conn:write(), conn:sleep(), conn:wait_gone().
local socket = require "socket"

local M = {}

local BLOCK = 65536
local MAX_HEAD = 65536          -- request line + headers
local gettime = socket.gettime

M.REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [204] = "No Content",
  [400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [413] = "Payload Too Large", [429] = "Too Many Requests", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
  [505] = "HTTP Version Not Supported", [529] = "Site Overloaded",
}

---------------------------------------------------------------------------------------------------
-- Scheduling: a task is a coroutine plus what it waits for (a socket to read or write, a deadline).

local current -- the task being resumed

-- wait(want, sock, deadline) -> "ready" | "timeout". want is "read", "write" or nil (deadline only).
local function wait(want, sock, deadline)
  local task = current
  task.want, task.sock, task.deadline = want, sock, deadline
  return coroutine.yield()
end

-- sleep(seconds): parks the running task (not the process). Use conn:sleep() to notice a client
-- that goes away meanwhile.
function M.sleep(seconds)
  wait(nil, nil, gettime() + (seconds or 0))
end

---------------------------------------------------------------------------------------------------
-- Connections

local Conn = {}
Conn.__index = Conn
M.Conn = Conn -- (spec/fuzz/fuzz_http.lua reads requests over a fake socket with it)

-- Reads whatever is available into self.buf, waiting (at most until deadline) when nothing is.
-- -> true | nil, "closed" | "timeout"
function Conn:fill(deadline)
  while true do
    if self.eof then return nil, "closed" end
    local data, err, partial = self.sock:receive(BLOCK)
    local got = data or partial
    if err and err ~= "timeout" then self.eof = true end
    if got and got ~= "" then
      self.buf = self.buf .. got
      return true
    end
    if not self.eof and wait("read", self.sock, deadline) == "timeout" then return nil, "timeout" end
  end
end

-- -> line without its CRLF | nil, "closed" | "timeout" | "too_long"
-- Until the newline comes, what arrives is kept as pieces and joined once, so a line that arrives
-- a byte at a time costs linear time, not a copy and a rescan of all of it per byte.
function Conn:read_line(max, deadline)
  local i = self.buf:find("\n", 1, true)
  if not i then
    local parts, have = { self.buf }, #self.buf
    self.buf = ""
    while not i do
      if have > max then self.buf = table.concat(parts); return nil, "too_long" end
      local ok, err = self:fill(deadline) -- (appends to self.buf: now only the new piece)
      local piece = self.buf
      self.buf = ""
      parts[#parts + 1] = piece
      if not ok then self.buf = table.concat(parts); return nil, err end
      local j = piece:find("\n", 1, true)
      if j then i = have + j end
      have = have + #piece
    end
    self.buf = table.concat(parts)
  end
  if i - 1 > max then return nil, "too_long" end -- however much of it came at once
  local line = self.buf:sub(1, i - 1)
  self.buf = self.buf:sub(i + 1)
  if line:sub(-1) == "\r" then line = line:sub(1, -2) end
  return line
end

-- -> exactly n bytes | nil, "closed" | "timeout"
function Conn:read_exact(n, deadline)
  local parts, have = {}, 0
  if #self.buf > 0 then
    local take = math.min(n, #self.buf)
    parts[1] = self.buf:sub(1, take)
    self.buf = self.buf:sub(take + 1)
    have = take
  end
  while have < n do
    if self.eof then return nil, "closed" end
    local data, err, partial = self.sock:receive(math.min(n - have, 1048576))
    local got = data or partial
    if got and got ~= "" then
      parts[#parts + 1] = got
      have = have + #got
    end
    if err and err ~= "timeout" then
      self.eof = true
    elseif err and (not got or got == "") then
      if wait("read", self.sock, deadline) == "timeout" then return nil, "timeout" end
    end
  end
  return table.concat(parts)
end

-- Answers "Expect: 100-continue" before a body is read.
function Conn:continue(req)
  if req.version == "1.1" and (req.headers["expect"] or ""):lower() == "100-continue" then
    return self:write("HTTP/1.1 100 Continue\r\n\r\n")
  end
  return true
end

local function bad(req, status, message)
  return nil, "bad", { req = req, status = status, message = message }
end

function Conn:read_chunked(req, max_body, deadline)
  local parts, total = {}, 0
  while true do
    local line, err = self:read_line(4096, deadline)
    if not line then
      if err == "too_long" then return bad(req, 400, "malformed chunk size") end
      return nil, err
    end
    local hex = line:match("^%s*(%x+)%s*;?.*$")
    if not hex or #hex > 12 then return bad(req, 400, "malformed chunk size") end
    local size = tonumber(hex, 16)
    if size == 0 then
      repeat -- trailers
        line, err = self:read_line(MAX_HEAD, deadline)
        if not line then return nil, err == "too_long" and "closed" or err end
      until line == ""
      return table.concat(parts)
    end
    total = total + size
    if total > max_body then return nil, "too_large", { req = req } end
    local data
    data, err = self:read_exact(size, deadline)
    if not data then return nil, err end
    parts[#parts + 1] = data
    line, err = self:read_line(16, deadline)
    if not line then
      if err == "too_long" then return bad(req, 400, "malformed chunk") end
      return nil, err
    end
    if line ~= "" then return bad(req, 400, "malformed chunk") end
  end
end

-- Reads one request. -> req | nil, kind, info
--   req  = { method, target, path, query, version, headers (lower-cased names; repeats joined
--            with ", "), header_list ({name, value} in order), body, keep_alive }
--   kind = "closed" | "timeout" (nothing to answer), "bad" (info.status, info.message, info.req
--          maybe), "too_large" (info.req: the body is over opts.max_body; not read)
function Conn:read_request(opts)
  local deadline = gettime() + (opts.idle_timeout or 300)
  local line, err
  repeat
    -- A request line starts with a method token; bytes that cannot (a TLS ClientHello sent to
    -- this plain-http port, say) are answered at once, as web servers do, not waited on for a line.
    while self.buf:match("^[\r\n]*$") do
      local ok, ferr = self:fill(deadline)
      if not ok then return nil, ferr end
    end
    if not self.buf:match("^[\r\n]*%u") then return bad(nil, 400, "malformed request line") end
    line, err = self:read_line(MAX_HEAD, deadline)
    if not line then
      if err == "too_long" then return bad(nil, 414, "request line too long") end
      return nil, err
    end
  until line ~= ""
  deadline = gettime() + (opts.read_timeout or 300)
  local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return bad(nil, 400, "malformed request line") end
  if version ~= "1.0" and version ~= "1.1" then return bad(nil, 505, "HTTP version not supported") end
  local path, query = target:match("^([^?#]*)%??([^#]*)")
  local req = { method = method, target = target, path = path, query = query, version = version,
                headers = {}, header_list = {} }
  local size = #line
  while true do
    local h
    h, err = self:read_line(MAX_HEAD, deadline)
    if not h then
      if err == "too_long" then return bad(req, 431, "request headers too large") end
      return nil, err
    end
    if h == "" then break end
    size = size + #h
    if size > MAX_HEAD then return bad(req, 431, "request headers too large") end
    local name, value = h:match("^([^:%s]+):%s*(.-)%s*$")
    if not name then return bad(req, 400, "malformed header line") end
    name = name:lower()
    req.header_list[#req.header_list + 1] = { name, value }
    local old = req.headers[name]
    req.headers[name] = old and (old .. ", " .. value) or value
  end
  local connection = (req.headers["connection"] or ""):lower()
  if version == "1.0" then
    req.keep_alive = connection:find("keep-alive", 1, true) ~= nil
  else
    req.keep_alive = connection:find("close", 1, true) == nil
  end
  local max_body = opts.max_body or 33554432
  local te = req.headers["transfer-encoding"]
  local body
  if te then
    if not te:lower():find("chunked", 1, true) then return bad(req, 501, "unsupported transfer-encoding") end
    local ok
    ok, err = self:continue(req)
    if not ok then return nil, err end
    local info
    body, err, info = self:read_chunked(req, max_body, deadline)
    if not body then return nil, err, info end
  elseif req.headers["content-length"] then
    local n = req.headers["content-length"]:match("^%d+$") and tonumber(req.headers["content-length"])
    if not n then return bad(req, 400, "malformed content-length") end
    if n > max_body then return nil, "too_large", { req = req } end
    local ok
    ok, err = self:continue(req)
    if not ok then return nil, err end
    body, err = self:read_exact(n, deadline)
    if not body then return nil, err end
  else
    body = ""
  end
  req.body = body
  return req
end

-- -> true | nil, err. Marks the connection broken when the peer is gone.
function Conn:write(data)
  if self.broken or self.closed then return nil, "closed" end
  local i, n = 1, #data
  while i <= n do
    local last, err, partial = self.sock:send(data, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = partial + 1
      if i <= n then wait("write", self.sock) end
    else
      self.broken = true
      return nil, err
    end
  end
  return true
end

-- headers: { name = value } (names as given, sent sorted; values strings or numbers)
function Conn:write_head(status, headers)
  local out = { "HTTP/1.1 ", tostring(status), " ", M.REASONS[status] or "Unknown", "\r\n" }
  local names = {}
  for name in pairs(headers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    out[#out + 1] = name .. ": " .. tostring(headers[name]) .. "\r\n"
  end
  out[#out + 1] = "\r\n"
  return self:write(table.concat(out))
end

-- One chunk of a "Transfer-Encoding: chunked" body.
function Conn:write_chunk(data)
  if data == "" then return true end
  return self:write(string.format("%x\r\n", #data) .. data .. "\r\n")
end

function Conn:end_chunks()
  return self:write("0\r\n\r\n")
end

-- Waits `seconds` while watching the socket: bytes the client sends meanwhile are kept for the
-- next request. -> true when the time is up, false when the client went away first.
function Conn:sleep(seconds)
  local deadline = gettime() + (seconds or 0)
  while true do
    if self.eof then return false end
    if wait("read", self.sock, deadline) == "timeout" then return true end
    local data, err, partial = self.sock:receive(BLOCK)
    local got = data or partial
    if got and got ~= "" and #self.buf < 1048576 then self.buf = self.buf .. got end
    if err and err ~= "timeout" then self.eof = true end
  end
end

-- Waits until the client closes the connection (whatever it sends is dropped).
function Conn:wait_gone()
  while self:sleep(3600) do self.buf = "" end
end

-- Closes after a response while the client may still be sending (e.g. a 413): stop sending,
-- read and drop what comes for a short while, then close, so the client sees the answer, not a reset.
function Conn:drain_and_close(seconds)
  if self.closed then return end
  self.sock:shutdown("send")
  local deadline = gettime() + (seconds or 2)
  while not self.eof and gettime() < deadline do
    self:sleep(deadline - gettime())
    self.buf = ""
  end
  self:close()
end

function Conn:close()
  if self.closed then return end
  self.closed = true
  self.sock:close()
  local server = self.server
  server.conns[self] = nil
  server.open = server.open - 1
  if self.on_close then self.on_close(self) end
end

-- Closes with SO_LINGER 0, so the peer gets a TCP reset instead of an orderly FIN.
function Conn:abort()
  if self.closed then return end
  self.sock:setoption("linger", { on = true, timeout = 0 })
  self:close()
end

---------------------------------------------------------------------------------------------------
-- TLS (lua-sec): an accepted socket wrapped with the server context, seen through an object with
-- luasocket's non-blocking conventions (lua-sec says "wantread"/"wantwrite" where luasocket says
-- "timeout"), so that Conn and socket.select need not know. The handshake runs in the
-- connection's task, waiting like any read.

local TlsSock = {}
TlsSock.__index = TlsSock

local function want(err)
  if err == "wantread" or err == "wantwrite" then return "timeout" end
  return err
end

function TlsSock:receive(n)
  local data, err, partial = self.ssl:receive(n)
  return data, want(err), partial
end

function TlsSock:send(data, i)
  local last, err, partial = self.ssl:send(data, i)
  return last, want(err), partial
end

function TlsSock:getfd() return self.ssl:getfd() end
function TlsSock:dirty() return self.ssl:dirty() end
function TlsSock:close() return self.ssl:close() end
function TlsSock:shutdown(how) return self.raw:shutdown(how) end
function TlsSock:setoption(name, value) return self.raw:setoption(name, value) end
function TlsSock:settimeout() end -- luacheck: ignore 212/self (always non-blocking)

-- -> TlsSock after a handshake | nil, err (the raw socket is closed then)
local function tls_accept(raw, ctx, deadline)
  local ssl = require "ssl"
  local s, err = ssl.wrap(raw, ctx)
  if not s then
    raw:close()
    return nil, err
  end
  s:settimeout(0)
  local self = setmetatable({ ssl = s, raw = raw }, TlsSock)
  while true do
    local ok, herr = s:dohandshake()
    if ok then return self end
    if herr ~= "wantread" and herr ~= "wantwrite" then
      s:close()
      return nil, herr
    end
    if wait(herr == "wantread" and "read" or "write", self, deadline) == "timeout" then
      s:close()
      return nil, "timeout"
    end
  end
end

---------------------------------------------------------------------------------------------------
-- Server

local Server = {}
Server.__index = Server

-- listen{ host = "127.0.0.1", port = 0, handler = function(conn) ... end, tls = ctx } -> server | nil, err
-- handler runs in its own coroutine per accepted connection; the connection is closed when it returns.
-- tls: a lua-sec server context (emulator/tls.lua); each connection starts with a TLS handshake,
-- and one that fails (a client that does not trust the certificate, or speaks plain http) is closed.
function M.listen(opts)
  local sock = socket.tcp()
  sock:setoption("reuseaddr", true)
  local ok, err = sock:bind(opts.host or "127.0.0.1", opts.port or 0)
  if ok then ok, err = sock:listen(opts.backlog or 128) end
  if not ok then
    sock:close()
    return nil, err
  end
  sock:settimeout(0)
  local host, port = sock:getsockname()
  return setmetatable({
    listener = sock, host = host, port = tonumber(port), handler = opts.handler, tls = opts.tls,
    tasks = {}, conns = {}, watchers = {}, accepted = 0, open = 0,
    on_error = opts.on_error or function(msg) io.stderr:write("emulator: ", msg, "\n") end,
  }, Server)
end

function Server:resume(task, why)
  if not self.tasks[task] then return end
  task.want, task.sock, task.deadline = nil, nil, nil
  local prev = current
  current = task
  local ok, err = coroutine.resume(task.co, why)
  current = prev
  if not ok then self.on_error(debug.traceback(task.co, tostring(err))) end
  if coroutine.status(task.co) == "dead" then
    self.tasks[task] = nil
    if task.conn then task.conn:close() end
  elseif not task.want and not task.deadline then
    task.deadline = gettime() -- a bare yield: run again at the next step
  end
end

-- spawn(fn [, conn]): runs fn in a new task now, until it first waits.
function Server:spawn(fn, conn)
  local task = { co = coroutine.create(fn), conn = conn }
  self.tasks[task] = true
  self:resume(task, "ready")
  return task
end

function Server:accept()
  while true do
    local sock = self.listener:accept()
    if not sock then return end
    sock:settimeout(0)
    sock:setoption("tcp-nodelay", true)
    self.accepted = self.accepted + 1
    self.open = self.open + 1
    local conn = setmetatable({ sock = sock, id = self.accepted, buf = "", server = self }, Conn)
    self.conns[conn] = true
    local handler, ctx = self.handler, self.tls
    self:spawn(function()
      if ctx then
        local tsock = tls_accept(sock, ctx, gettime() + 30)
        if not tsock then return end -- (closed; the task's end closes conn)
        conn.sock = tsock
      end
      handler(conn)
    end, conn)
  end
end

-- watch(obj, fn): calls fn() when obj (anything with getfd(), e.g. a socket) is readable.
function Server:watch(obj, fn)
  self.watchers[obj] = fn
end

-- step([timeout]): waits at most timeout seconds (nil: until something happens) for socket
-- activity or a task's deadline, then runs every task that can go on.
function Server:step(timeout)
  local now = gettime()
  local recvt, sendt, rmap, wmap = { self.listener }, {}, {}, {}
  local limit = timeout and now + timeout or nil
  for task in pairs(self.tasks) do
    if task.want == "read" then
      recvt[#recvt + 1] = task.sock
      rmap[task.sock] = task
    elseif task.want == "write" then
      sendt[#sendt + 1] = task.sock
      wmap[task.sock] = task
    end
    if task.deadline and (not limit or task.deadline < limit) then limit = task.deadline end
  end
  for obj in pairs(self.watchers) do recvt[#recvt + 1] = obj end
  local readable, writable = socket.select(recvt, sendt, limit and math.max(0, limit - now) or nil)
  local ready, seen = {}, {}
  for _, s in ipairs(readable) do
    if s == self.listener then
      self:accept()
    elseif rmap[s] then
      ready[#ready + 1] = rmap[s]
    elseif self.watchers[s] then
      self.watchers[s]()
    end
  end
  for _, s in ipairs(writable) do
    if wmap[s] then ready[#ready + 1] = wmap[s] end
  end
  for _, task in ipairs(ready) do
    if not seen[task] then
      seen[task] = true
      self:resume(task, "ready")
    end
  end
  now = gettime()
  local due = {}
  for task in pairs(self.tasks) do
    if not seen[task] and task.deadline and task.deadline <= now then due[#due + 1] = task end
  end
  for _, task in ipairs(due) do self:resume(task, "timeout") end
end

-- Closes the listener and every connection (open requests are dropped).
function Server:close()
  if self.listener then
    self.listener:close()
    self.listener = nil
  end
  local conns = {}
  for conn in pairs(self.conns) do conns[#conns + 1] = conn end
  for _, conn in ipairs(conns) do conn:close() end
  self.tasks = {}
end

return M
