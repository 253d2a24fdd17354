-- Model prices, one table for the client's spend guard and the emulator's cost report, and
-- exact money arithmetic.
--
-- Prices are integer micro-dollars per million tokens (USD 3.75 / MTok = 3750000), taken from
-- shared/reference/pricing-and-limits.md section 1.1. The cost of n tokens at price p is
-- n * p / 10^10 cents; the emulator keeps it as an exact integer count of 10^-10 cents in a small
-- bignum (base 10^6 limbs, so every intermediate product stays below 2^53 on any Lua), then
-- prints it as a decimal string of cents with trailing zeros dropped ("370.3701").
local M = {}

-- in, 5-minute cache write, 1-hour cache write, cache read, out; geo = the US data-residency
-- multiplier (1.1x) applies (Claude 4.6 and later); long = { above = n, row = ... }: a request
-- whose prompt (input + cache reads + cache writes) is above n tokens is priced by that row,
-- every token of it, output included (Haiku 5.5).
local function row(input, w5m, w1h, read, out, geo, long)
  return { input = input, w5m = w5m, w1h = w1h, read = read, output = out, geo = geo or false, long = long }
end

M.TABLE = {
  ["claude-fable-5-1"]   = row(10000000, 12500000, 20000000, 250000, 50000000, true),
  ["claude-mythos-5-1"]  = row(10000000, 12500000, 20000000, 250000, 50000000, true),
  ["claude-fable-5"]     = row(10000000, 12500000, 20000000, 1000000, 50000000, true),
  ["claude-mythos-5"]    = row(10000000, 12500000, 20000000, 1000000, 50000000, true),
  ["claude-opus-5-5"]    = row(4000000, 5000000, 8000000, 200000, 20000000, true),
  ["claude-opus-5"]      = row(5000000, 6250000, 10000000, 500000, 25000000, true),
  ["claude-sonnet-5-5"]  = row(2000000, 2500000, 4000000, 100000, 10000000, true),
  ["claude-sonnet-5"]    = row(2000000, 2500000, 4000000, 200000, 10000000, true),
  ["claude-haiku-5-5"]   = row(100000, 125000, 200000, 10000, 500000, true,
                               { above = 100000, row = row(500000, 625000, 1000000, 50000, 2500000, true) }),
  ["claude-opus-4-8"]    = row(5000000, 6250000, 10000000, 500000, 25000000, true),
  ["claude-opus-4-7"]    = row(5000000, 6250000, 10000000, 500000, 25000000, true),
  ["claude-sonnet-4-6"]  = row(3000000, 3750000, 6000000, 300000, 15000000, true),
  ["claude-opus-4-6"]    = row(5000000, 6250000, 10000000, 500000, 25000000, true),
  ["claude-opus-4-5"]    = row(5000000, 6250000, 10000000, 500000, 25000000),
  ["claude-haiku-4-5"]   = row(1000000, 1250000, 2000000, 100000, 5000000),
  ["claude-sonnet-4-5"]  = row(3000000, 3750000, 6000000, 300000, 15000000),
  ["claude-opus-4-1"]    = row(15000000, 18750000, 30000000, 1500000, 75000000),
}

-- Models of the SDK's list without a published list price (pricing-and-limits.md section 1.1
-- and the pricing page as far as it is stored): the spend guard counts their answers as
-- unpriced, the cost report leaves them out. Not guessed.
M.UNPRICED = {
  ["claude-mythos-preview"] = "no published list price (limited research preview)",
  ["claude-fable-5-2"] = "no list price published yet in the stored pricing pages",
  ["claude-mythos-5-2"] = "no list price published yet in the stored pricing pages",
}

-- Cost-report token types, the price column each uses, and the words of its description.
M.TOKEN_TYPES = {
  { name = "uncached_input_tokens", field = "input_tokens", column = "input", words = "Input Tokens" },
  { name = "output_tokens", field = "output_tokens", column = "output", words = "Output Tokens" },
  { name = "cache_read_input_tokens", field = "cache_read_input_tokens", column = "read",
    words = "Input Tokens, Cache Read" },
  { name = "cache_creation.ephemeral_5m_input_tokens", field = "cache_creation_5m_input_tokens", column = "w5m",
    words = "Input Tokens, Cache Write (5m)" },
  { name = "cache_creation.ephemeral_1h_input_tokens", field = "cache_creation_1h_input_tokens", column = "w1h",
    words = "Input Tokens, Cache Write (1h)" },
}

-- One web search costs USD 0.01 = 1 cent = 10^10 units of 10^-10 cent.
M.WEB_SEARCH_UNITS = 10000000000

-- The price row for a model id: the id itself, or the id without a -YYYYMMDD suffix; with
-- prompt_tokens above the row's long threshold, its long-prompt row.
function M.row(model, prompt_tokens)
  if type(model) ~= "string" then return nil end
  local r = M.TABLE[model] or M.TABLE[model:match("^(.*)%-%d%d%d%d%d%d%d%d$") or ""]
  if r and r.long and type(prompt_tokens) == "number" and prompt_tokens > r.long.above then
    return r.long.row
  end
  return r
end

-- Price in micro-dollars per MTok for one token type, with the batch (x0.5) and US-geo (x1.1)
-- modifiers; prompt_tokens (input + cache reads + cache writes of the request) picks a
-- long-prompt row. -> integer | nil (unpriced model)
function M.price(model, column, service_tier, inference_geo, prompt_tokens)
  local r = M.row(model, prompt_tokens)
  if not r then return nil end
  local p = r[column]
  if service_tier == "batch" then p = p / 2 end
  if inference_geo == "us" and r.geo then p = p * 11 / 10 end
  return math.floor(p + 0.5)
end

---------------------------------------------------------------------------------------------------
-- Non-negative integers as little-endian lists of base-10^6 limbs.

local BASE = 1000000

local function normalize(a)
  local carry = 0
  for i = 1, #a do
    local v = a[i] + carry
    carry = math.floor(v / BASE)
    a[i] = v - carry * BASE
  end
  while carry > 0 do
    a[#a + 1] = carry % BASE
    carry = math.floor(carry / BASE)
  end
  while #a > 1 and a[#a] == 0 do a[#a] = nil end
  return a
end

-- A bignum from a non-negative integer below 2^53.
function M.big(n)
  return normalize({ math.floor(n) })
end

function M.add(a, b)
  local c = {}
  for i = 1, math.max(#a, #b) do c[i] = (a[i] or 0) + (b[i] or 0) end
  return normalize(c)
end

function M.mul(a, b)
  local c = {}
  for i = 1, #a + #b do c[i] = 0 end
  for i = 1, #a do
    for j = 1, #b do
      c[i + j - 1] = c[i + j - 1] + a[i] * b[j]
    end
    -- keep every cell below 2^53: carry after each row
    normalize(c)
    for k = #c + 1, #a + #b do c[k] = 0 end
  end
  return normalize(c)
end

function M.is_zero(a)
  return #a == 1 and a[1] == 0
end

-- Decimal digits of a bignum.
function M.digits(a)
  local parts = { string.format("%d", a[#a]) }
  for i = #a - 1, 1, -1 do parts[#parts + 1] = string.format("%06d", a[i]) end
  return table.concat(parts)
end

-- A bignum count of 10^-10 cents as a decimal string of cents: "370.3701", "0", "12".
function M.cents(a)
  local s = M.digits(a)
  if #s <= 10 then s = string.rep("0", 11 - #s) .. s end
  local int, frac = s:sub(1, -11), s:sub(-10):gsub("0+$", "")
  if frac == "" then return int end
  return int .. "." .. frac
end

-- The cost of n tokens at p micro-dollars per MTok, in 10^-10 cents (a bignum): n * p.
-- (Web searches: n searches at WEB_SEARCH_UNITS.)
function M.cost(n, p)
  return M.mul(M.big(n), M.big(p))
end

return M
