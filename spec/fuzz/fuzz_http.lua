-- The checks of spec/fuzz/fuzz_http.c: the emulator's HTTP/1.1 request parser
-- (lua/anthropic/emulator/http.lua, Conn:read_request) over a fake connection whose socket hands
-- out the fuzzer's bytes. Returns check(data), which raises a string naming the broken rule.
--
-- Byte 0 picks max_body (0 .. 2040 bytes, in steps of 8), byte 1 how the bytes arrive (all at
-- once, or in pieces of 1 to 255 bytes, at most 512 of them); the rest is what the client sends,
-- then the connection ends. (A socket with nothing to read yet makes the parser wait in the
-- server's scheduler, which this harness does not run: the pieces come without waits.)
-- Requests are read one after the other (pipelined) until the parser gives no request. Rules:
--  - read_request never raises, and never loops: an input ends within a budget of Lua lines (the
--    C harness counts them) and each call within a bounded number of waits;
--  - it gives a request, or nil and "closed" | "timeout" | "bad" | "too_large"; "bad" carries an
--    answer: a 4xx status (501 for a transfer-encoding it does not support, 505 for an HTTP
--    version other than 1.0 and 1.1) and a message;
--  - a request has an upper-case method, a target without blanks, version "1.0" or "1.1", string
--    header names in lower case without ':' or blanks, string values, a boolean keep_alive, and
--    a body of at most max_body bytes (exactly Content-Length's when one is given);
--  - the request line and headers it read are at most 64 KiB (431/414 otherwise), and it never
--    reads past the request: what it consumed, parsed again from a connection that has all of it
--    at once, gives the same request (the way the bytes arrive does not matter).

-- http.lua needs luasocket only for its clock here: a clock that never moves, so no deadline
-- passes and every wait is the fake socket's.
package.preload.socket = function() return { gettime = function() return 0 end } end

local http = require "anthropic.emulator.http"
local Conn = assert(http.Conn, "http.Conn")

local MAX_HEAD = 65536

-- A socket that hands out text in pieces of at most `piece` bytes (nil: as much as asked).
local function fake_socket(text, piece)
  local s = { pos = 1, given = 0, sent = {} }
  function s.receive(_, n)
    if s.pos > #text then return nil, "closed", "" end
    local take = math.min(n, piece or #text, #text - s.pos + 1)
    local chunk = text:sub(s.pos, s.pos + take - 1)
    s.pos = s.pos + take
    s.given = s.given + take
    return chunk
  end
  function s.send(_, data, i)
    s.sent[#s.sent + 1] = data:sub(i or 1)
    return #data
  end
  return s
end

local function new_conn(sock)
  return setmetatable({ sock = sock, id = 1, buf = "" }, Conn)
end

-- One read_request in a coroutine, its waits answered "ready". -> ok, results... | false, why
local function read(conn, opts, budget)
  -- (the harness's line hook, which this coroutine inherits, bounds the lines an input runs)
  local co = coroutine.create(function() return conn:read_request(opts) end)
  local waits = 0
  local out = table.pack(coroutine.resume(co, "ready"))
  while out[1] and coroutine.status(co) == "suspended" do
    waits = waits + 1
    if waits > budget then return false, "read_request waited more than " .. budget .. " times" end
    out = table.pack(coroutine.resume(co, "ready"))
  end
  if not out[1] then return false, "read_request raised: " .. tostring(out[2]) end
  return true, table.unpack(out, 2, out.n)
end

local function check_request(req, max_body, where)
  local function fail(msg) error(where .. ": " .. msg, 0) end
  if type(req) ~= "table" then fail("not a table") end
  if type(req.method) ~= "string" or not req.method:match("^%u+$") then fail("bad method") end
  if type(req.target) ~= "string" or req.target:find("%s") or req.target == "" then fail("bad target") end
  if type(req.path) ~= "string" or type(req.query) ~= "string" then fail("path/query not strings") end
  if req.version ~= "1.0" and req.version ~= "1.1" then fail("bad version " .. tostring(req.version)) end
  if type(req.keep_alive) ~= "boolean" then fail("keep_alive not a boolean") end
  if type(req.body) ~= "string" then fail("body not a string") end
  if #req.body > max_body then fail("body of " .. #req.body .. " bytes over max_body " .. max_body) end
  if #req.method + #req.target + 10 > MAX_HEAD then fail("a request line over " .. MAX_HEAD .. " bytes") end
  local head = #req.method + #req.target
  for name, value in pairs(req.headers) do
    if type(name) ~= "string" or type(value) ~= "string" then fail("header not strings") end
    if name ~= name:lower() or name:find("[:%s]") or name == "" then fail("bad header name " .. name) end
  end
  for _, h in ipairs(req.header_list) do
    head = head + #h[1] + #h[2]
    if req.headers[h[1]] == nil then fail("header_list name missing from headers") end
  end
  if head > 2 * MAX_HEAD then fail("headers of " .. head .. " bytes read") end
  local cl = req.headers["content-length"]
  if cl and not req.headers["transfer-encoding"] and #req.body ~= tonumber(cl) then
    fail("body of " .. #req.body .. " bytes, content-length " .. cl)
  end
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

return function(data)
  local max_body = (data:byte(1) or 0) * 8
  local mode = data:byte(2) or 0
  local text = data:sub(3)
  -- 0: all at once; a large input comes in at most 512 pieces (the parser joins the pieces it
  -- buffers, so 1-byte pieces of a 64 KiB head would cost seconds an input)
  local piece = mode ~= 0 and math.max(mode, -(-#text // 512)) or nil
  local sock = fake_socket(text, piece)
  local conn = new_conn(sock)
  local opts = { max_body = max_body, idle_timeout = 1, read_timeout = 1 }
  local budget = 2 * #text + 16
  local consumed = 0
  for n = 1, 200 do
    local where = "request " .. n
    local res = table.pack(read(conn, opts, budget))
    if not res[1] then error(where .. ": " .. res[2], 0) end
    local req, kind, info = res[2], res[3], res[4]
    if req == nil then
      if kind ~= "closed" and kind ~= "timeout" and kind ~= "bad" and kind ~= "too_large" then
        error(where .. ": unexpected outcome " .. tostring(kind), 0)
      end
      if kind == "bad" then
        if type(info) ~= "table" or math.type(info.status) ~= "integer" then
          error(where .. ": bad without status", 0)
        end
        local s = info.status
        if not ((s >= 400 and s <= 499) or s == 501 or s == 505) then
          error(where .. ": bad with status " .. info.status, 0)
        end
        if type(info.message) ~= "string" or info.message == "" then error(where .. ": bad without message", 0) end
        if info.req ~= nil and type(info.req) ~= "table" then error(where .. ": info.req not a table", 0) end
      elseif kind == "too_large" then
        if type(info) ~= "table" or type(info.req) ~= "table" then error(where .. ": too_large without req", 0) end
      end
      return
    end
    check_request(req, max_body, where)
    -- what this request consumed, parsed again at once, is the same request
    local upto = sock.given - #conn.buf
    local raw = text:sub(consumed + 1, upto)
    consumed = upto
    local again = new_conn(fake_socket(raw, nil))
    local res2 = table.pack(read(again, opts, budget))
    if not res2[1] then error(where .. " (again): " .. res2[2], 0) end
    if not same(req, res2[2]) then error(where .. ": parsed differently when its bytes came at once", 0) end
    if again.buf ~= "" then error(where .. ": its bytes hold more than the request", 0) end
  end
end
