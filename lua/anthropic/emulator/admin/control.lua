-- Control endpoints for the organization (added to /_emulator/ by admin/init.lua):
--   GET|POST /_emulator/clock          the emulator clock ({advance = s} or {set = time})
--   POST /_emulator/seed               replace the organization ({merge = true}: add to it)
--   POST /_emulator/api_keys           create keys "as the Console would", secrets returned once
--   GET|POST /_emulator/usage          recorded usage / inject historical usage records
--   POST /_emulator/claude_code        add Claude Code usage records
--   POST /_emulator/invites/accept     accept a pending invite ({id} or {email})
local api_keys = require "anthropic.emulator.admin.api_keys"
local common = require "anthropic.emulator.admin.common"
local invites = require "anthropic.emulator.admin.invites"
local json = require "anthropic.emulator.json"
local seed = require "anthropic.emulator.admin.seed"
local users = require "anthropic.emulator.admin.users"

local M = {}

local function clock(emu)
  local now = emu:now()
  return common.ok { now = common.rfc3339(now), unix = math.floor(now), offset = emu.clock_offset }
end

local function list_body(body, name)
  local list = body[name]
  if not common.is_list(list) then return nil, common.bad(name .. ": must be a list") end
  return list
end

M.handlers = {}
local H = M.handlers

H["GET /_emulator/clock"] = function(emu) return clock(emu) end

-- { advance = seconds } moves the clock forward (or back, when negative); { set = time } jumps
-- to an RFC 3339 time or Unix seconds; { reset = true } goes back to the real time.
H["POST /_emulator/clock"] = function(emu, _, body)
  if body.reset then
    emu.clock_offset = 0
  elseif body.set ~= nil then
    local t = common.seed_time(body.set, emu:now(), "set")
    if not t then return common.bad("set: an RFC 3339 time or Unix seconds is required") end
    emu.clock_offset = t - require("anthropic.emulator.util").now()
  elseif body.advance ~= nil then
    if type(body.advance) ~= "number" or body.advance ~= body.advance then
      return common.bad("advance: must be a number of seconds")
    end
    emu.clock_offset = emu.clock_offset + body.advance
  else
    return common.bad("give advance (seconds), set (a time) or reset = true")
  end
  return clock(emu)
end

local function counts(org)
  local function n(map)
    local c = 0
    for _ in pairs(map) do c = c + 1 end
    return c
  end
  local d = org.d
  local requests = 0
  for _, b in ipairs(d.usage) do requests = requests + b.requests end
  return { organization = { id = d.org.id, name = d.org.name }, users = n(d.users), invites = n(d.invites),
           workspaces = n(d.workspaces), api_keys = n(d.keys), usage = org:usage_buckets(),
           usage_requests = requests, claude_code = #d.claude_code }
end

-- The body is a seed; "merge": true adds its objects to the current organization.
H["POST /_emulator/seed"] = function(emu, _, body)
  local ok, err = require("anthropic.emulator.admin").replace(emu, body, body.merge == true)
  if not ok then return common.bad(err) end
  return common.ok(counts(emu.org))
end

H["GET /_emulator/seed"] = function(emu)
  return common.ok(counts(emu.org))
end

-- { count = 1, name?, workspace_id? (id or name), created_by? (id or e-mail), status?, created_at?,
--   expires_at? } -> { data = [API key objects], keys = [secrets] }. The secrets are valid
-- Messages keys from now on; they are shown here once (this response is not redacted).
H["POST /_emulator/api_keys"] = function(emu, _, body)
  local n = body.count == nil and 1 or body.count
  if not common.is_int(n) or n < 1 or n > 100000 then
    return common.bad("count: must be an integer from 1 to 100000")
  end
  local org = emu.org:copy()
  local base = common.present(body.name) and body.name or "key"
  local list = {}
  for i = 1, n do
    local t = {}
    for k, v in pairs(body) do
      if k ~= "count" and k ~= "key" then t[k] = v end
    end
    t.name = n == 1 and base or string.format("%s-%d", base, i)
    list[i] = t
  end
  local secrets = {}
  local added, err = seed.add_api_keys(org, list, org:now(), "api_keys", { generate = true, secrets = secrets,
                                                                              salt = "control" .. org.d.seq })
  if not added then return common.bad(err) end
  local old = emu.org
  emu.org = org
  local ok
  ok, err = org:activate(old)
  if not ok then
    emu.org = old
    return common.bad(err)
  end
  local data = json.array()
  for i, k in ipairs(added) do data[i] = api_keys.json(emu, k, { api_version = "2023-06-01" }) end
  return { status = 200, body = { data = data, keys = json.array(secrets) }, raw = true }
end

-- { records = [{ time, api_key_id?, workspace_id?, model, input_tokens?, output_tokens?, ... }] }
H["POST /_emulator/usage"] = function(emu, _, body)
  local list, err = list_body(body, "records")
  if not list then return err end
  local n
  n, err = seed.add_usage(emu.org, list, emu.org:now(), "records")
  if not n then return common.bad(err) end
  return common.ok { added = n, total = #emu.org.d.usage }
end

H["GET /_emulator/usage"] = function(emu)
  local out = json.array()
  for i, u in ipairs(emu.org.d.usage) do
    local c = {}
    for k, v in pairs(u) do c[k] = v end
    c.time = common.rfc3339(u.time)
    out[i] = c
  end
  return common.ok { records = out }
end

H["POST /_emulator/claude_code"] = function(emu, _, body)
  local list, err = list_body(body, "records")
  if not list then return err end
  local n
  n, err = seed.add_claude_code(emu.org, list, emu.org:now(), "records")
  if not n then return common.bad(err) end
  return common.ok { added = n, total = #emu.org.d.claude_code }
end

-- { id } or { email }: the invite is accepted and its user created.
H["POST /_emulator/invites/accept"] = function(emu, _, body)
  local org = emu.org
  local inv = org:invite(body.id)
  if not inv and type(body.email) == "string" then
    for _, x in pairs(org.d.invites) do
      if x.email:lower() == body.email:lower() and org:invite_status(x) == "pending" then inv = x end
    end
  end
  if not inv then return common.not_found("no such invite") end
  local user, err = org:accept_invite(inv)
  if not user then return common.bad(err) end
  return common.ok { invite = invites.json(emu, inv), user = users.json(user) }
end

return M
