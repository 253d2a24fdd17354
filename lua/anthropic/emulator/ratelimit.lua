-- Token buckets that refill continuously (capacity per minute, capacity/60 per second), and the
-- anthropic-ratelimit-* headers that describe them. (The id a bucket set is kept under is the
-- caller's: messages.lua gives the model group's organization-wide set, and the workspace's own
-- set when it has limits of its own, so that every workspace shares the organization's limits,
-- a workspace's lower limits bind its keys alone, and each model group has its own, as the API
-- does; see take.) The limits are the organization's (self.limits), or
-- the caller's `caps` ({ rpm, itpm, otpm }: a workspace's overrides taken into account,
-- emulator/admin/rate_limits.lua in_force).
-- speed: the buckets' clock runs that many times faster than the real one (POST
-- /_emulator/ratelimit { speed = 60 }: a minute's refill in a second), so that tests and the
-- bench see minutes of limits in seconds; reset headers and retry-after stay in real time.
-- Buckets: requests (RPM), input tokens (ITPM), output tokens (OTPM); count_tokens has its own
-- request bucket with the same RPM (it does not spend tokens).
local util = require "anthropic.emulator.util"

local M = {}

M.DEFAULTS = { rpm = 4000, itpm = 2000000, otpm = 400000 }

local Limiter = {}
Limiter.__index = Limiter

function M.new(limits)
  local self = setmetatable({}, Limiter)
  self:reset(limits)
  return self
end

-- Back to the given limits (default: M.DEFAULTS), all buckets full.
function Limiter:reset(limits)
  self.limits = util.copy(M.DEFAULTS)
  for k, v in pairs(limits or {}) do
    if k ~= "speed" then self.limits[k] = v end
  end
  self.buckets = {}
  self.speed, self.epoch, self.refused = limits and limits.speed or 1, util.now(), 0
end

-- The buckets' clock: real seconds, sped up (see the top).
function Limiter:clock(real)
  real = real or util.now()
  return self.epoch + (real - self.epoch) * self.speed
end

-- configure{ rpm =, itpm =, otpm = } changes the given limits and refills every bucket.
function Limiter:configure(t)
  for _, name in ipairs({ "rpm", "itpm", "otpm" }) do
    local v = t[name]
    if v ~= nil then
      if type(v) ~= "number" or v < 1 or math.floor(v) ~= v then
        return nil, name .. " must be a positive integer"
      end
      self.limits[name] = v
    end
  end
  if t.speed ~= nil then
    if type(t.speed) ~= "number" or not (t.speed >= 1 and t.speed <= 3600) then
      return nil, "speed must be a number from 1 to 3600"
    end
    self.speed = t.speed
  end
  self.buckets = {}
  self.epoch = util.now()
  return true
end

local CAPACITY = { requests = "rpm", count_requests = "rpm", input = "itpm", output = "otpm" }

local function refill(b, cap, now)
  b.level = math.min(cap, b.level + (now - b.updated) * cap / 60)
  b.updated = now
end

function Limiter:bucket(key_id, name, now, caps)
  local cap = (caps or self.limits)[CAPACITY[name]]
  local per_key = self.buckets[key_id]
  if not per_key then
    per_key = {}
    self.buckets[key_id] = per_key
  end
  local b = per_key[name]
  if not b then
    b = { level = cap, updated = now }
    per_key[name] = b
  end
  refill(b, cap, now)
  return b, cap
end

-- Seconds until bucket b holds `need`.
local function wait_for(b, cap, need)
  if need > cap then return 60 end
  if b.level >= need then return 0 end
  return (need - b.level) * 60 / cap
end

local function header_set(h, prefix, b, cap, real, round, speed)
  local remaining = math.max(0, math.floor(b.level))
  if round then remaining = math.floor(remaining / 1000 + 0.5) * 1000 end
  h[prefix .. "-limit"] = cap
  h[prefix .. "-remaining"] = remaining
  h[prefix .. "-reset"] = util.rfc3339(real + (cap > 0 and math.ceil((cap - b.level) * 60 / cap / speed) or 60))
end

-- The anthropic-ratelimit-* headers for a bucket set. requests_bucket: "requests" | "count_requests".
function Limiter:headers(key_id, requests_bucket, real, caps)
  real = real or util.now()
  local now = self:clock(real)
  local h = {}
  local r, rcap = self:bucket(key_id, requests_bucket or "requests", now, caps)
  local i, icap = self:bucket(key_id, "input", now, caps)
  local o, ocap = self:bucket(key_id, "output", now, caps)
  local speed = self.speed
  header_set(h, "anthropic-ratelimit-requests", r, rcap, real, false, speed)
  header_set(h, "anthropic-ratelimit-input-tokens", i, icap, real, false, speed)
  header_set(h, "anthropic-ratelimit-output-tokens", o, ocap, real, false, speed)
  local combined = { level = math.max(0, i.level) + math.max(0, o.level) }
  header_set(h, "anthropic-ratelimit-tokens", combined, icap + ocap, real, true, speed)
  return h
end

-- A request spends from a list of bucket sets, { { id = ..., caps = ... }, ... }: its model group's
-- organization-wide set, shared by every workspace (as the API's organization limits are), and the
-- workspace's own set when the workspace has limits of its own (messages.lua).
-- take(sets, { requests_bucket = "requests", input = n }) spends one request and n input tokens
-- from every set when every bucket allows it (the output buckets must not be in debt).
-- -> true | nil, retry_after (whole seconds >= 1), limit name ("requests" | "input" | "output"),
-- the set that refused
function Limiter:take(sets, want, real)
  local now = self:clock(real)
  local rname, input = want.requests_bucket or "requests", want.input or 0
  local worst, which, refusing, spend = 0, nil, nil, {}
  for _, set in ipairs(sets) do
    local r, rcap = self:bucket(set.id, rname, now, set.caps)
    local i, icap = self:bucket(set.id, "input", now, set.caps)
    local o, ocap = self:bucket(set.id, "output", now, set.caps)
    spend[#spend + 1] = { r, i }
    local waits = {
      { "requests", wait_for(r, rcap, 1) },
      { "input", input > 0 and wait_for(i, icap, input) or 0 },
      { "output", rname == "requests" and wait_for(o, ocap, 1) or 0 },
    }
    for _, w in ipairs(waits) do
      if w[2] > worst then worst, which, refusing = w[2], w[1], set end
    end
  end
  if which then
    self.refused = (self.refused or 0) + 1
    return nil, math.max(1, math.ceil(worst / self.speed)), which, refusing
  end
  for _, b in ipairs(spend) do
    b[1].level = b[1].level - 1
    b[2].level = b[2].level - input
  end
  return true
end

-- Output tokens are known only after the reply: they are spent afterwards, from every set (a
-- bucket may go into debt, which then blocks the next requests until it refills).
function Limiter:spend_output(sets, n, real)
  local now = self:clock(real)
  for _, set in ipairs(sets) do
    local o = self:bucket(set.id, "output", now, set.caps)
    o.level = o.level - n
  end
end

return M
