-- The control API under /_emulator/ (no auth, JSON in and out, not logged, never faulted).
-- See docs/emulator.md for every endpoint.
local errors = require "anthropic.emulator.errors"
local faults = require "anthropic.emulator.faults"
local json = require "anthropic.emulator.json"
local util = require "anthropic.emulator.util"

local M = {}

local function ok(body)
  return { status = 200, body = body or { ok = true } }
end

local function bad(message)
  return errors.response(400, message)
end

-- The request's JSON object ({} for an empty body). -> table | nil, error response
local function body_of(req)
  if not req.body or req.body:match("^%s*$") then return {} end
  local v, err = json.decode(req.body)
  if type(v) ~= "table" then return nil, bad("invalid JSON body: " .. tostring(err or "not an object")) end
  return v
end

local function queued(emu)
  local list = json.array()
  for _, f in ipairs(emu.state.faults) do
    local spec = util.copy(f.spec)
    spec.remaining = f.remaining
    list[#list + 1] = spec
  end
  return list
end

local handlers = {}

handlers["GET /_emulator/health"] = function() return ok() end

-- body: [fault, ...] | { faults = [fault, ...] } | fault
handlers["POST /_emulator/faults"] = function(emu, _, body)
  local list = body
  if body.faults then list = body.faults elseif body[1] == nil then list = { body } end
  if type(list) ~= "table" then return bad("faults: must be a list") end
  local normalized = {}
  for i, spec in ipairs(list) do
    local f, err = faults.normalize(spec, i)
    if not f then return bad(err) end
    normalized[i] = f
  end
  emu.state:add_faults(normalized)
  return ok { queued = #normalized, pending = #emu.state.faults }
end

handlers["GET /_emulator/faults"] = function(emu)
  return ok { faults = queued(emu) }
end

handlers["DELETE /_emulator/faults"] = function(emu)
  emu.state.faults = {}
  return ok()
end

handlers["GET /_emulator/log"] = function(emu, req)
  local since = req.params.since
  if since ~= nil then
    since = type(since) == "string" and tonumber(since:match("^%d+$") or "")
    if not since then return bad("since: must be a sequence number") end
  end
  local requests = json.array(emu.state:log_since(since))
  return ok { requests = requests, last_seq = emu.state.seq }
end

handlers["DELETE /_emulator/log"] = function(emu)
  emu.state:clear_log()
  return ok()
end

handlers["GET /_emulator/connections"] = function(emu)
  local c = emu.state.connections
  return ok { total = c.total, open = c.open, accepted = emu.server and emu.server.accepted or 0 }
end

handlers["POST /_emulator/reset"] = function(emu)
  emu:reset()
  return ok()
end

-- body: { key = "...", kind = "api" | "admin" }
handlers["POST /_emulator/keys"] = function(emu, _, body)
  local info, err = emu.state:add_key(body.key, body.kind)
  if not info then return bad(err) end
  if emu.org then emu.org:link_keys() end
  return ok { hint = info.hint, kind = info.kind }
end

-- body: { key = "..." }: the key stops working (like a revoked key).
handlers["DELETE /_emulator/keys"] = function(emu, _, body)
  local info = emu.state:remove_key(body.key)
  return ok { removed = info ~= nil }
end

-- body: { models = [ { id, display_name?, created_at?, aliases?, max_tokens?, max_input_tokens? } ] }
handlers["POST /_emulator/models"] = function(emu, _, body)
  local added, err = emu.models:add(body.models)
  if not added then return bad(err) end
  return ok { total = #emu.models.order }
end

handlers["GET /_emulator/stream"] = function(emu)
  return ok(util.copy(emu.state.stream))
end

-- body: { chunk_size = bytes per write (0: one write per event), event_delay = seconds,
--         text_repeat = times each text_delta event is sent (load tests; default 1) }
handlers["POST /_emulator/stream"] = function(emu, _, body)
  local s = emu.state.stream
  if body.chunk_size ~= nil then
    local n = body.chunk_size
    if type(n) ~= "number" or n < 0 or math.floor(n) ~= n then return bad("chunk_size: must be an integer >= 0") end
    s.chunk_size = n
  end
  if body.event_delay ~= nil then
    local d = body.event_delay
    if type(d) ~= "number" or d < 0 then return bad("event_delay: must be a number of seconds >= 0") end
    s.event_delay = d
  end
  if body.text_repeat ~= nil then
    local n = body.text_repeat
    if type(n) ~= "number" or n < 1 or math.floor(n) ~= n then return bad("text_repeat: must be an integer >= 1") end
    s.text_repeat = n
  end
  return ok(util.copy(s))
end

local function limits(emu)
  local t = util.copy(emu.ratelimit.limits)
  t.speed, t.refused = emu.ratelimit.speed, emu.ratelimit.refused or 0
  return t
end

handlers["GET /_emulator/ratelimit"] = function(emu)
  return ok(limits(emu))
end

-- body: { rpm?, itpm?, otpm?, speed? }; buckets refill to the new limits. The answer adds
-- speed and refused (the 429s the limits gave since the start or the last reset).
handlers["POST /_emulator/ratelimit"] = function(emu, _, body)
  local done, err = emu.ratelimit:configure(body)
  if not done then return bad(err) end
  return ok(limits(emu))
end

handlers["POST /_emulator/shutdown"] = function(emu)
  emu:stop()
  return ok()
end

-- add("METHOD /_emulator/path", function(emu, req, body) -> response): another module's endpoint.
-- A response with raw = true is sent without key redaction (for secrets shown once).
function M.add(name, fn)
  handlers[name] = fn
end

-- -> response
function M.handle(emu, req)
  local h = handlers[req.method .. " " .. req.path]
  if not h then
    for name in pairs(handlers) do
      if name:match("^%u+ (.*)$") == req.path then return errors.response(405, "method not allowed") end
    end
    return errors.response(404, "unknown control endpoint " .. req.path)
  end
  local body, err = body_of(req)
  if not body then return err end
  return h(emu, req, body)
end

return M
