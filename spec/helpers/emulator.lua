-- Test helper: runs `bin/anthropic emulator` in the background and talks to it.
--
--   local emu = require "helpers.emulator"
--   describe("...", function()
--     local server, key
--     lazy_setup(function()
--       key = emu.make_key("api03")              -- random each run; never commit one
--       server = emu.start{ keys = { key } }     -- server.url = "http://127.0.0.1:PORT"
--     end)
--     lazy_teardown(function() server:stop() end)
--     before_each(function() server:reset() end)
--     it("...", function()
--       server:faults{ { path = "/v1/messages", status = 529 } }
--       local res = server:api("POST", "/v1/messages", body, key)
--     end)
--   end)
--
-- Keys reach the emulator through its environment (ANTHROPIC_EMULATOR_KEYS), set by a shell script
-- written to the shell's stdin: no key is on any process's command line. The emulator's stdin is a
-- pipe from this process and it exits when that pipe closes, so it cannot outlive a crashed test
-- run; stop() also sends SIGTERM and waits for the process to exit.
--
-- HTTPS: start{ tls = true } serves with a CA and certificate made for that emulator (in a temp
-- directory removed by stop()); server.url is then https://127.0.0.1:PORT and server.ca_file the
-- CA to give clients (ca_file = server.ca_file). start{ tls_dir = DIR } serves DIR/cert.pem;
-- start{ tls = "self" } passes --tls alone (the emulator makes its own, removed when it exits).
-- Under `make test-tls`, ANTHROPIC_TEST_TLS names a directory made for the run and every
-- emulator serves its certificate unless started with tls = false; the run also sets
-- ANTHROPIC_CA_FILE to its CA, so clients built without ca_file trust it.
local socket = require "socket"
local cjson = require "cjson"

local M = {}

-- The emulator and the CLI need Lua 5.3+: they run under lua5.4 whatever VM runs the specs
-- (make test LUA=luajit), with the 5.4 core in build/.
M.LUA = "lua5.4"
M.ROOT = debug.getinfo(1, "S").source:match("^@(.*)/spec/helpers/[^/]*$") or "."
M.VERSION = "2023-06-01"
M.TLS_DIR = os.getenv("ANTHROPIC_TEST_TLS")
if M.TLS_DIR == "" then M.TLS_DIR = nil end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

-- A realistic random key: make_key("api03") -> "sk-ant-api03-" .. 86 chars of [A-Za-z0-9_-] .. "AA";
-- make_key("admin01") -> an admin key.
-- Under spec/run-tests.sh every key carries the run's canary (ANTHROPIC_TEST_CANARY, 32 chars) in
-- its middle, and the whole run's output is scanned for it afterwards: a key leaked anywhere is
-- found, whatever test leaked it.
local CANARY = os.getenv("ANTHROPIC_TEST_CANARY")
function M.make_key(kind)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(86)
  f:close()
  local t = {}
  for i = 1, 86 do
    local j = bytes:byte(i) % 64 + 1
    t[i] = ALPHABET:sub(j, j)
  end
  local body = table.concat(t)
  if CANARY and #CANARY == 32 then body = body:sub(1, 27) .. CANARY .. body:sub(60) end
  return "sk-ant-" .. (kind or "api03") .. "-" .. body .. "AA"
end

---------------------------------------------------------------------------------------------------
-- A minimal HTTP/1.1 client (blocking luasocket with a timeout)

local Conn = {}
Conn.__index = Conn

-- connect(url [, timeout [, ca_file]]) -> conn | nil, err. An https:// URL is verified with
-- ca_file (the certificate chain; the host name is libcurl's to check, not this helper's).
function M.connect(url, timeout, ca_file)
  local scheme, host, port = url:match("^(https?)://([^:/]+):(%d+)")
  local sock = socket.tcp()
  sock:settimeout(timeout or 10)
  local ok, err = sock:connect(host, tonumber(port))
  if not ok then return nil, err end
  if scheme == "https" then
    local ssl = require "ssl"
    local ctx = assert(require("anthropic.emulator.tls").client_context(assert(ca_file, "https needs a ca_file")))
    local s
    s, err = ssl.wrap(sock, ctx)
    if not s then return nil, err end
    s:settimeout(timeout or 10)
    ok, err = s:dohandshake()
    if not ok then
      s:close()
      return nil, "TLS handshake: " .. tostring(err)
    end
    sock = s
  end
  return setmetatable({ sock = sock, host = host .. ":" .. port }, Conn)
end

function Conn:settimeout(t)
  self.sock:settimeout(t)
end

-- Sends one request. body: a table (sent as JSON), a string, or nil. headers: { name = value };
-- a value of false leaves out a default header. -> true | nil, err
function Conn:send(method, path, body, headers)
  if type(body) == "table" then body = cjson.encode(body) end
  local h = { host = self.host }
  if body then
    h["content-type"] = "application/json"
    h["content-length"] = tostring(#body)
  end
  for k, v in pairs(headers or {}) do h[k:lower()] = v end
  local lines = { method .. " " .. path .. " HTTP/1.1" }
  for k, v in pairs(h) do
    if v then lines[#lines + 1] = k .. ": " .. tostring(v) end
  end
  local data = table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")
  local ok, err = self.sock:send(data)
  if not ok then return nil, err end
  return true
end

-- Reads one response. -> res | nil, err, partial res
--   res = { status, headers (lower-cased), body, chunks (sizes, when chunked), json (decoded or nil) }
function Conn:receive()
  local res = { headers = {} }
  local line, err = self.sock:receive("*l")
  if not line then return nil, err, res end
  res.status_line = line
  res.status = tonumber(line:match("^HTTP/%d%.%d (%d%d%d)"))
  while true do
    line, err = self.sock:receive("*l")
    if not line then return nil, err, res end
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    res.headers[k:lower()] = v
  end
  if res.status == 100 then return self:receive() end
  local parts = {}
  if (res.headers["transfer-encoding"] or ""):find("chunked") then
    res.chunks = {}
    while true do
      line, err = self.sock:receive("*l")
      if not line then
        res.body = table.concat(parts)
        return nil, err, res
      end
      local size = tonumber(line:match("^(%x+)"), 16)
      if size == 0 then
        self.sock:receive("*l")
        break
      end
      local data, e, partial = self.sock:receive(size)
      if not data then
        parts[#parts + 1] = partial
        res.body = table.concat(parts)
        return nil, e, res
      end
      parts[#parts + 1] = data
      res.chunks[#res.chunks + 1] = size
      self.sock:receive("*l")
    end
  elseif res.headers["content-length"] then
    local data, e, partial = self.sock:receive(tonumber(res.headers["content-length"]))
    if not data then
      res.body = partial
      return nil, e, res
    end
    parts[1] = data
  end
  res.body = table.concat(parts)
  if (res.headers["content-type"] or ""):find("json") then
    local ok, v = pcall(cjson.decode, res.body)
    if ok then res.json = v end
  end
  return res
end

-- request(...) = send(...) then receive()
function Conn:request(method, path, body, headers)
  local ok, err = self:send(method, path, body, headers)
  if not ok then return nil, err end
  return self:receive()
end

function Conn:close()
  self.sock:close()
end

-- Server-Sent Events text -> { { event = name, data = decoded JSON }, ... }
function M.parse_sse(text)
  local events = {}
  for block in (text or ""):gmatch("(.-)\n\n") do
    local ev = {}
    for line in block:gmatch("[^\n]+") do
      local field, value = line:match("^(%w+): ?(.*)$")
      if field == "event" then ev.event = value
      elseif field == "data" then ev.data = cjson.decode(value)
      end
    end
    events[#events + 1] = ev
  end
  return events
end

---------------------------------------------------------------------------------------------------
-- A running emulator

local Emulator = {}
Emulator.__index = Emulator

-- start{ keys = { "sk-ant-...", ... }, verbose = bool, seed = "path.json" | "path.lua",
--        tls = bool | "self", tls_dir = DIR } -> emulator
-- (fields: url, port, pid, ca_file (https); output() after stop() gives what it printed after
-- the listening line)
function M.start(opts)
  opts = opts or {}
  local tls_dir, own_dir = opts.tls_dir, nil
  local self_tls = opts.tls == "self" -- `--tls` alone: the emulator makes (and removes) its own
  if not tls_dir and not self_tls and (opts.tls or (opts.tls == nil and M.TLS_DIR)) then
    tls_dir = M.TLS_DIR
    if opts.tls or not tls_dir then
      local tls = require "anthropic.emulator.tls"
      own_dir = assert(tls.tmpdir())
      assert(tls.make(own_dir))
      tls_dir = own_dir
    end
  end
  local fifo = os.tmpname()
  os.remove(fifo)
  assert(os.execute("mkfifo -m 600 " .. shell_quote(fifo)), "mkfifo failed")
  local script = { "exec >" .. shell_quote(fifo), "echo $$" }
  if opts.keys and #opts.keys > 0 then
    script[#script + 1] = "ANTHROPIC_EMULATOR_KEYS=" .. shell_quote(table.concat(opts.keys, ","))
    script[#script + 1] = "export ANTHROPIC_EMULATOR_KEYS"
  else
    script[#script + 1] = "unset ANTHROPIC_EMULATOR_KEYS"
  end
  script[#script + 1] = "cd " .. shell_quote(M.ROOT)
  script[#script + 1] = "exec " .. M.LUA .. " bin/anthropic emulator --port 0 --exit-on-stdin-eof"
    .. (opts.verbose and " --verbose" or "") .. (opts.seed and (" --seed " .. shell_quote(opts.seed)) or "")
    .. ((opts.keys and #opts.keys > 0) and "" or " --no-keys")
    .. (tls_dir and (" --tls --tls-dir " .. shell_quote(tls_dir)) or self_tls and " --tls" or "")
  local sh = assert(io.popen("exec /bin/sh", "w"))
  sh:write(table.concat(script, "\n"), "\n")
  sh:flush()
  local out = assert(io.open(fifo, "r"))
  os.remove(fifo)
  local pid = tonumber(out:read("*l") or "")
  local line = out:read("*l")
  local url = line and line:match("^listening on (https?://127%.0%.0%.1:%d+)$")
  local ca_file = url and (tls_dir or self_tls) and (out:read("*l") or ""):match("^ca file: (.*)$") or nil
  if not pid or not url or ((tls_dir or self_tls) and not ca_file) then
    if own_dir then require("anthropic.emulator.tls").rmdir(own_dir) end
    sh:close()
    out:close()
    error("the emulator did not start (it printed: " .. tostring(line) .. ")", 2)
  end
  local self = setmetatable({ url = url, port = tonumber(url:match("(%d+)$")), pid = pid,
                              sh = sh, out = out, ca_file = ca_file, own_dir = own_dir }, Emulator)
  -- stops the process if the handle is collected without stop()
  self.guard = setmetatable({}, { __gc = function() self:stop() end })
  return self
end

-- SIGTERM, then wait until the process has exited. Safe to call twice.
function Emulator:stop()
  if self.stopped then return end
  self.stopped = true
  local capture = os.getenv("ANTHROPIC_TEST_CAPTURE") -- the run-wide leak scan reads it
  local log = capture and self:alive() and self:request("GET", "/_emulator/log")
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.sh:close() -- closes the emulator's stdin and waits for it to exit
  self.printed = self.out:read("*a")
  self.out:close()
  if self.own_dir then require("anthropic.emulator.tls").rmdir(self.own_dir) end
  local f = capture and io.open(capture, "ab")
  if f then
    f:write(self.printed or "", "\n", type(log) == "table" and log.body or "", "\n")
    f:close()
  end
end

-- Whether the process still exists.
function Emulator:alive()
  local f = io.open("/proc/" .. self.pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("*a")
  f:close()
  return not stat:match("^%d+ %b() Z")
end

function Emulator:output()
  return self.printed
end

function Emulator:connect(timeout)
  return M.connect(self.url, timeout, self.ca_file)
end

-- One request on a new connection (Connection: close). -> res | nil, err, partial res
function Emulator:request(method, path, body, headers)
  local conn, err = self:connect()
  if not conn then return nil, err end
  local h = { connection = "close" }
  for k, v in pairs(headers or {}) do h[k:lower()] = v end
  local res, e, partial = conn:request(method, path, body, h)
  conn:close()
  return res, e, partial
end

-- An API request with x-api-key (when key is given) and anthropic-version.
function Emulator:api(method, path, body, key, headers)
  local h = { ["anthropic-version"] = M.VERSION, ["x-api-key"] = key }
  for k, v in pairs(headers or {}) do h[k:lower()] = v end
  return self:request(method, path, body, h)
end

local function control(self, method, path, body)
  local res, err = self:request(method, "/_emulator/" .. path, body)
  assert(res, err)
  assert(res.status == 200, "control " .. path .. ": " .. tostring(res.status) .. " " .. tostring(res.body))
  return res.json
end

function Emulator:faults(list) return control(self, "POST", "faults", { faults = list }) end
function Emulator:pending_faults() return control(self, "GET", "faults").faults end
-- -> { requests = { entry, ... }, last_seq = n }
function Emulator:log(since)
  return control(self, "GET", "log" .. (since and ("?since=" .. since) or ""))
end
function Emulator:clear_log() return control(self, "DELETE", "log") end
function Emulator:connections() return control(self, "GET", "connections") end
function Emulator:reset() return control(self, "POST", "reset") end
function Emulator:add_key(key, kind) return control(self, "POST", "keys", { key = key, kind = kind }) end
function Emulator:remove_key(key) return control(self, "DELETE", "keys", { key = key }) end
function Emulator:add_models(list) return control(self, "POST", "models", { models = list }) end
function Emulator:stream_options(t) return control(self, "POST", "stream", t) end
function Emulator:ratelimit(t) return control(self, "POST", "ratelimit", t) end
function Emulator:shutdown() return control(self, "POST", "shutdown") end
-- The organization (Admin API state): see docs/emulator.md.
function Emulator:seed(t) return control(self, "POST", "seed", t) end
-- -> { users = n, ..., usage = usage buckets held, usage_requests = requests they sum }
function Emulator:seed_counts() return control(self, "GET", "seed") end
function Emulator:clock(t) return control(self, t and "POST" or "GET", "clock", t) end
-- -> { data = { API key objects }, keys = { secrets } }
function Emulator:create_api_keys(t) return control(self, "POST", "api_keys", t or {}) end
function Emulator:add_usage(records) return control(self, "POST", "usage", { records = records }) end
function Emulator:usage() return control(self, "GET", "usage").records end
function Emulator:add_claude_code(records) return control(self, "POST", "claude_code", { records = records }) end
function Emulator:accept_invite(t) return control(self, "POST", "invites/accept", t) end

local function encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- A query string: { limit = 10, group_by = { "model", "workspace_id" } } ->
-- "?group_by[]=model&group_by[]=workspace_id&limit=10" (lists in bracket form, keys sorted).
function M.query(params)
  local names = {}
  for k in pairs(params or {}) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do
    local v = params[k]
    if type(v) == "table" then
      for _, x in ipairs(v) do parts[#parts + 1] = encode(k) .. "[]=" .. encode(x) end
    else
      parts[#parts + 1] = encode(k) .. "=" .. encode(v)
    end
  end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

return M
