-- The emulator's mutable state that is not about one resource: keys, the request log, connection
-- counters, queued faults and stream options. Keys live only here, in memory; everything that
-- leaves the process (log, stdout, responses) carries hints.
local util = require "anthropic.emulator.util"

local M = {}
local State = {}
State.__index = State

local LOG_MAX = 5000          -- entries kept (oldest dropped first)
local LOG_BODY_MAX = 1048576  -- body bytes kept per entry

M.DEFAULT_STREAM = { chunk_size = 0, event_delay = 0 }

function M.new()
  -- key_index: for redaction, the keys by their first PREFIX bytes: { [prefix] = { [length] = n } }
  local self = setmetatable({ keys = {}, nkeys = 0, key_index = {}, short_keys = {} }, State)
  self:reset()
  return self
end

-- Everything back to the start, except the keys.
function State:reset()
  self.log = {}
  self.seq = 0
  self.faults = {}
  self.connections = { total = 0, open = 0 }
  self.stream = util.copy(M.DEFAULT_STREAM)
end

---------------------------------------------------------------------------------------------------
-- Keys

local PREFIX = 8

-- Keeps the redaction index in step with self.keys (delta: 1 added, -1 removed).
function State:index_key(key, delta)
  if #key < PREFIX then
    self.short_keys[key] = delta > 0 or nil
    return
  end
  local p = key:sub(1, PREFIX)
  local idx = self.key_index[p]
  if not idx then
    idx = { lengths = {} }
    self.key_index[p] = idx
  end
  local n = (idx.lengths[#key] or 0) + delta
  idx.lengths[#key] = n > 0 and n or nil
  idx.sorted = nil
  if next(idx.lengths) == nil then self.key_index[p] = nil end
end

-- kind: "api" | "admin"; nil guesses from the prefix (sk-ant-admin... is an admin key).
function State:add_key(key, kind)
  if type(key) ~= "string" or key == "" or key:find("[%s%c]") then
    return nil, "key must be a non-empty string without whitespace"
  end
  kind = kind or (key:find("^sk%-ant%-admin") and "admin" or "api")
  if kind ~= "api" and kind ~= "admin" then return nil, "kind must be \"api\" or \"admin\"" end
  local old = self.keys[key]
  if not old then
    self.nkeys = self.nkeys + 1
    self.keys[key] = { id = "key_" .. self.nkeys, kind = kind, hint = util.hint(key) }
    self:index_key(key, 1)
  else
    old.kind = kind
  end
  return self.keys[key]
end

function State:remove_key(key)
  local info = self.keys[key]
  if info then
    self.keys[key] = nil
    self:index_key(key, -1)
  end
  return info
end

-- Keys from a comma-separated list (the ANTHROPIC_EMULATOR_KEYS variable).
function State:add_keys_from(list)
  local n = 0
  for key in (list or ""):gmatch("[^,%s]+") do
    if self:add_key(key) then n = n + 1 end
  end
  return n
end

-- The key a request presents: x-api-key, else Authorization: Bearer. -> key, info | nil
function State:request_key(headers)
  local key = headers["x-api-key"]
  if not key or key == "" then
    key = (headers["authorization"] or ""):match("^[Bb]earer%s+(%S+)")
  end
  if not key or key == "" then return nil end
  return key, self.keys[key]
end

-- s with every known key replaced by its hint. -> s, replaced (boolean)
-- Keys are found through their first PREFIX bytes (a few distinct prefixes however many keys
-- there are), trying the longest known length first at each place a prefix occurs.
function State:redact(s)
  if type(s) ~= "string" then return s, false end
  local found = false
  for key in pairs(self.short_keys) do
    local info = self.keys[key]
    local i = s:find(key, 1, true)
    while i do
      found = true
      s = s:sub(1, i - 1) .. info.hint .. s:sub(i + #key)
      i = s:find(key, i + #info.hint, true)
    end
  end
  for prefix, idx in pairs(self.key_index) do
    local i = s:find(prefix, 1, true)
    if i then
      local lengths = idx.sorted
      if not lengths then
        lengths = {}
        for len in pairs(idx.lengths) do lengths[#lengths + 1] = len end
        table.sort(lengths, function(a, b) return a > b end)
        idx.sorted = lengths
      end
      local out, pos = {}, 1
      while i do
        local info, len
        for _, l in ipairs(lengths) do
          info = self.keys[s:sub(i, i + l - 1)]
          if info then
            len = l
            break
          end
        end
        if info then
          out[#out + 1] = s:sub(pos, i - 1)
          out[#out + 1] = info.hint
          pos = i + len
          i = s:find(prefix, pos, true)
        else
          i = s:find(prefix, i + 1, true)
        end
      end
      if pos > 1 then
        found = true
        out[#out + 1] = s:sub(pos)
        s = table.concat(out)
      end
    end
  end
  return s, found
end

-- function(s) -> s redacted (for code that should not know about the state).
function State:redactor()
  return function(s) return (self:redact(s)) end
end

---------------------------------------------------------------------------------------------------
-- Request log (API requests only; the control API is not logged)

local function header_hint(name, value)
  if name == "x-api-key" then return util.hint(value) end
  if name == "authorization" then
    local scheme, token = value:match("^(%S+)%s+(%S+)")
    if scheme then return scheme .. " " .. util.hint(token) end
    return util.hint(value)
  end
end

-- Adds an entry for req; returns it so that status, fault and canceled can be filled in later.
function State:log_request(req, conn_id)
  self.seq = self.seq + 1
  local leaks = {}
  local headers = {}
  for name, value in pairs(req.headers or {}) do
    local hinted = header_hint(name, value)
    if not hinted then
      local found
      hinted, found = self:redact(value)
      if found then leaks[#leaks + 1] = "header:" .. name end
    end
    headers[name] = hinted
  end
  local query, qfound = self:redact(req.query or "")
  if qfound then leaks[#leaks + 1] = "query" end
  local body = req.body
  local entry = {
    seq = self.seq, time = util.now(), connection = conn_id, method = req.method, path = req.path,
    query = query, headers = headers, request_id = req.request_id,
  }
  if body then
    entry.body_size = #body
    if #body > LOG_BODY_MAX then
      body = body:sub(1, LOG_BODY_MAX)
      entry.body_truncated = true
    end
    local found
    body, found = self:redact(body)
    if found then leaks[#leaks + 1] = "body" end
    entry.body = body
  end
  local key, info = self:request_key(req.headers or {})
  if key then entry.key = info and info.hint or util.hint(key) end
  if #leaks > 0 then entry.key_leak = leaks end
  self.log[#self.log + 1] = entry
  if #self.log > LOG_MAX then table.remove(self.log, 1) end
  return entry
end

-- Entries with seq > since (all when since is nil).
function State:log_since(since)
  local out = {}
  for _, e in ipairs(self.log) do
    if not since or e.seq > since then out[#out + 1] = e end
  end
  return out
end

function State:clear_log()
  self.log = {}
end

---------------------------------------------------------------------------------------------------
-- Connections: counted when they carry their first API request (a connection used only for the
-- control API is not counted), so tests can see how many connections a client opened.

function State:count_connection(conn)
  local connections = self.connections -- a new table after each reset
  if conn.counted_in == connections then return end
  conn.counted_in = connections
  connections.total = connections.total + 1
  connections.open = connections.open + 1
  conn.on_close = function() connections.open = connections.open - 1 end
end

---------------------------------------------------------------------------------------------------
-- Faults: a FIFO queue; the first fault whose path and method match (and, for stream_* actions,
-- whose request streams) answers the request, count times. A path matches exactly
-- ("/v1/messages" is not "/v1/messages/count_tokens"), or as a prefix when it ends with "*"
-- ("/v1/models*"); no path matches every API request, no method every method. A fault with
-- skip = N lets its first N matching requests by (the second page of a list: skip = 1).

local function path_matches(p, path)
  if not p then return true end
  if p:sub(-1) == "*" then return path:sub(1, #p - 1) == p:sub(1, -2) end
  return path == p
end

function State:add_faults(list)
  for _, f in ipairs(list) do self.faults[#self.faults + 1] = f end
end

function State:take_fault(path, streaming, method)
  for i, f in ipairs(self.faults) do
    if path_matches(f.path, path) and (not f.method or f.method == method) and (not f.stream_only or streaming) then
      if (f.skip or 0) > 0 then -- let this one by (a later fault may still take it)
        f.skip = f.skip - 1
      else
        f.remaining = f.remaining - 1
        if f.remaining <= 0 then table.remove(self.faults, i) end
        return f
      end
    end
  end
end

return M
