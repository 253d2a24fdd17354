-- Per-key token buckets that refill continuously (capacity per minute, capacity/60 per second),
-- and the anthropic-ratelimit-* headers that describe them.
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
  for k, v in pairs(limits or {}) do self.limits[k] = v end
  self.buckets = {}
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
  self.buckets = {}
  return true
end

local CAPACITY = { requests = "rpm", count_requests = "rpm", input = "itpm", output = "otpm" }

local function refill(b, cap, now)
  b.level = math.min(cap, b.level + (now - b.updated) * cap / 60)
  b.updated = now
end

function Limiter:bucket(key_id, name, now)
  local cap = self.limits[CAPACITY[name]]
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

local function header_set(h, prefix, b, cap, now, round)
  local remaining = math.max(0, math.floor(b.level))
  if round then remaining = math.floor(remaining / 1000 + 0.5) * 1000 end
  h[prefix .. "-limit"] = cap
  h[prefix .. "-remaining"] = remaining
  h[prefix .. "-reset"] = util.rfc3339(now + math.ceil((cap - b.level) * 60 / cap))
end

-- The anthropic-ratelimit-* headers for a key. requests_bucket: "requests" | "count_requests".
function Limiter:headers(key_id, requests_bucket, now)
  now = now or util.now()
  local h = {}
  local r, rcap = self:bucket(key_id, requests_bucket or "requests", now)
  local i, icap = self:bucket(key_id, "input", now)
  local o, ocap = self:bucket(key_id, "output", now)
  header_set(h, "anthropic-ratelimit-requests", r, rcap, now)
  header_set(h, "anthropic-ratelimit-input-tokens", i, icap, now)
  header_set(h, "anthropic-ratelimit-output-tokens", o, ocap, now)
  local combined = { level = math.max(0, i.level) + math.max(0, o.level) }
  header_set(h, "anthropic-ratelimit-tokens", combined, icap + ocap, now, true)
  return h
end

-- take(key_id, { requests_bucket = "requests", input = n }) spends one request and n input
-- tokens when every bucket allows it (the output bucket must not be in debt).
-- -> true | nil, retry_after (whole seconds >= 1), limit name ("requests" | "input" | "output")
function Limiter:take(key_id, want, now)
  now = now or util.now()
  local rname = want.requests_bucket or "requests"
  local r, rcap = self:bucket(key_id, rname, now)
  local i, icap = self:bucket(key_id, "input", now)
  local o, ocap = self:bucket(key_id, "output", now)
  local input = want.input or 0
  local waits = {
    { "requests", wait_for(r, rcap, 1) },
    { "input", input > 0 and wait_for(i, icap, input) or 0 },
    { "output", rname == "requests" and wait_for(o, ocap, 1) or 0 },
  }
  local worst, which = 0, nil
  for _, w in ipairs(waits) do
    if w[2] > worst then worst, which = w[2], w[1] end
  end
  if which then return nil, math.max(1, math.ceil(worst)), which end
  r.level = r.level - 1
  i.level = i.level - input
  return true
end

-- Output tokens are known only after the reply: they are spent afterwards (the bucket may go
-- into debt, which then blocks the next requests until it refills).
function Limiter:spend_output(key_id, n, now)
  local o = self:bucket(key_id, "output", now or util.now())
  o.level = o.level - n
end

return M
