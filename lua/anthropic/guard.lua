--- Client-side spend guard and rate-limit pacing for the Messages API (anthropic.new options
-- spend_limit = { usd = n } and pace = true). See docs/getting-started.md.
--
-- Spend: every Messages answer's usage is priced with the table in
-- anthropic.prices (integer micro-dollars per million tokens, from
-- shared/reference/pricing-and-limits.md section 1.1; a model matches its id or id-YYYYMMDD, an
-- unknown model is "unpriced"). The total is kept exactly, as an integer count of 10^-12 USD
-- (tokens x micro-dollars per MTok) in a bignum, so no rounding ever happens before display.
--
-- Pacing: the anthropic-ratelimit-requests-* headers of the last answer say how many requests
-- are left and when the bucket is full again. The bucket refills continuously (limit/60 per
-- second), so with none left the next request waits about (reset - now) / limit: the time one
-- request takes to come back. The wait goes through tasks.sleep, so other tasks keep running.
local core = require "anthropic.core"
local errors = require "anthropic.error"
local prices = require "anthropic.prices"

local M = {}

local Guard = {}
Guard.__index = Guard

-- USD in units of 10^-12 USD (what tokens x micro-dollars per MTok gives).
local PICO_PER_MICRO = prices.big(1000000)

--- -> guard | nil when neither option is set (their values are checked by transport.OPTIONS).
function M.new(opts)
  local limit = opts.spend_limit
  if limit == nil and not opts.pace then return nil end
  local g = setmetatable({ total = prices.big(0), requests = 0, unpriced = 0, pace = opts.pace == true }, Guard)
  if limit then
    g.limit_usd = limit.usd
    g.limit = prices.mul(prices.big(math.floor(limit.usd * 1000000 + 0.5)), PICO_PER_MICRO)
  end
  return g
end

-- a < b for bignums (little-endian base-10^6 limbs, normalized)
local function less(a, b)
  if #a ~= #b then return #a < #b end
  for i = #a, 1, -1 do
    if a[i] ~= b[i] then return a[i] < b[i] end
  end
  return false
end

-- A count of 10^-12 USD as a decimal string of dollars with at least 6 decimals: "0.012345",
-- "1.5000001" (digits after the sixth only when they are not zero).
local function usd(a)
  local s = prices.digits(a)
  if #s <= 12 then s = string.rep("0", 13 - #s) .. s end
  local int, frac = s:sub(1, -13), s:sub(-12)
  return int .. "." .. frac:sub(1, 6) .. frac:sub(7):gsub("0+$", "")
end
M.usd = usd

-- Token count fields of usage -> price column.
local function cost(model, usage)
  local function n(v) return type(v) == "number" and v > 0 and math.floor(v) or 0 end
  local tier, geo = usage.service_tier, usage.inference_geo
  local parts = {
    { n(usage.input_tokens), "input" }, { n(usage.output_tokens), "output" },
    { n(usage.cache_read_input_tokens), "read" },
  }
  local cc = type(usage.cache_creation) == "table" and usage.cache_creation
  if cc then
    parts[#parts + 1] = { n(cc.ephemeral_5m_input_tokens), "w5m" }
    parts[#parts + 1] = { n(cc.ephemeral_1h_input_tokens), "w1h" }
  else -- no split given: the 5-minute write, the default TTL
    parts[#parts + 1] = { n(usage.cache_creation_input_tokens), "w5m" }
  end
  local prompt = n(usage.input_tokens) + n(usage.cache_read_input_tokens) -- (for a long-prompt row)
    + (cc and n(cc.ephemeral_5m_input_tokens) + n(cc.ephemeral_1h_input_tokens) or n(usage.cache_creation_input_tokens))
  local sum = prices.big(0)
  for _, p in ipairs(parts) do
    if p[1] > 0 then
      local price = prices.price(model, p[2], tier, geo, prompt)
      if not price then return nil end
      sum = prices.add(sum, prices.cost(p[1], price))
    end
  end
  if not prices.row(model) then return nil end
  return sum
end

--- Add one Messages answer (its model and usage) to the total.
function Guard:charge(model, usage)
  if type(usage) ~= "table" then return end
  self.requests = self.requests + 1
  local c = cost(model, usage)
  if c then self.total = prices.add(self.total, c) else self.unpriced = self.unpriced + 1 end
end

--- { usd = "0.012345", requests = n, unpriced = n } (plus limit_usd when a limit is set)
function Guard:spend()
  return { usd = usd(self.total), requests = self.requests, unpriced = self.unpriced, limit_usd = self.limit_usd }
end

-- Seconds since the epoch for an RFC 3339 time ("2026-01-12T23:11:59Z", fractions and offsets
-- allowed), or nil.
local function epoch(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d%.?%d*)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from civil (Howard Hinnant's algorithm)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  if rest == "Z" or rest == "z" or rest == "" then return t end
  local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - off or t + off
end
M.epoch = epoch

--- Before a Messages request: nil, err when the spend limit is reached (nothing is sent); with
-- pacing, waits (tasks.sleep) while the last answer said no request is left. -> true | nil, err
function Guard:before()
  if self.limit and not less(self.total, self.limit) then
    return nil, errors.new { kind = "budget", message = string.format(
      "spend limit reached: USD %s spent by this client (%d answer%s%s) against spend_limit.usd = %s; "
        .. "nothing was sent. Raise spend_limit.usd in anthropic.new (or drop it) to send more",
      usd(self.total), self.requests, self.requests == 1 and "" or "s",
      self.unpriced > 0 and (", " .. self.unpriced .. " of them unpriced and not counted") or "",
      tostring(self.limit_usd)) }
  end
  local r = self.pace and self.remaining
  if r then
    if r <= 0 and self.wake then
      local left = self.wake - core.now()
      if left > 0 then
        self.waits = (self.waits or 0) + 1
        self.waited = (self.waited or 0) + left
        require("anthropic.tasks").sleep(left)
      end
      self.remaining, self.wake = nil, nil -- unknown until the next answer says
    else
      self.remaining = r - 1 -- requests in flight (other tasks) count before their answers come
    end
  end
  return true
end

--- After an answer (any status): remember the rate-limit headers. header(name) -> string | nil
function Guard:observe(header)
  if not self.pace then return end
  local remaining = tonumber(header("anthropic-ratelimit-requests-remaining") or "")
  if not remaining then return end
  local limit = tonumber(header("anthropic-ratelimit-requests-limit") or "")
  local reset = epoch(header("anthropic-ratelimit-requests-reset"))
  self.remaining, self.wake = remaining, nil
  if remaining <= 0 and reset then
    -- continuous refill: one request comes back after until_full / limit seconds (one second
    -- more, since both clocks here count whole seconds)
    local until_full = math.max(0, reset - os.time()) + 1
    self.wake = core.now() + (limit and limit > 0 and until_full / limit or until_full)
  end
  self.input_remaining = tonumber(header("anthropic-ratelimit-input-tokens-remaining") or "")
  self.input_reset = header("anthropic-ratelimit-input-tokens-reset")
  self.output_remaining = tonumber(header("anthropic-ratelimit-output-tokens-remaining") or "")
  self.output_reset = header("anthropic-ratelimit-output-tokens-reset")
end

return M
