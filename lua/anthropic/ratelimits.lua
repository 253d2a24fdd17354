--- The rate_limit option's values, as data: { rpm =, itpm =, otpm = }, a tier name of the API's
-- tier tables, or "auto" (learned from the anthropic-ratelimit-* headers). See docs/rate-limits.md.
-- The tables are those of shared/reference/anthropic-api.md 4.2 (2026-08-22: start, build, scale)
-- and 4.3 (late 2025: tier1 to tier4), for the class most models are in (Opus, Sonnet, Haiku 4.5);
-- the API's own headers say what is in force, so "auto" is what to use when in doubt.
local M = {}

M.TIERS = {
  start = { rpm = 1000, itpm = 2000000, otpm = 400000 },
  build = { rpm = 5000, itpm = 5000000, otpm = 1000000 },
  scale = { rpm = 10000, itpm = 10000000, otpm = 2000000 },
  tier1 = { rpm = 50, itpm = 30000, otpm = 8000 },
  tier2 = { rpm = 1000, itpm = 450000, otpm = 90000 },
  tier3 = { rpm = 2000, itpm = 800000, otpm = 160000 },
  tier4 = { rpm = 4000, itpm = 2000000, otpm = 400000 },
}

local function names()
  local t = { '"auto"' }
  for k in pairs(M.TIERS) do t[#t + 1] = '"' .. k .. '"' end
  table.sort(t)
  return table.concat(t, ", ")
end

local function per_minute(what)
  return { type = "number", int = true, unit = what .. " per minute", min = 1, max = 1e12 }
end

local function tier_name(v)
  if v == "auto" or M.TIERS[v] then return nil end
  return "must be a table { rpm =, itpm =, otpm = }, a tier name or \"auto\" (names: " .. names() .. ")"
end

local function check(v)
  if type(v) == "string" then return tier_name(v) end
  if v.rpm == nil and v.itpm == nil and v.otpm == nil and v.tier == nil then
    return "must give at least one of rpm, itpm, otpm, tier"
  end
end

--- The option's spec (options.lua): a tier name or "auto", or a table of numbers per minute,
-- with tier = a name or "auto" for the numbers left out, and count_tokens = true to measure
-- each prompt with count_tokens instead of the local estimate.
M.SPEC = { type = { "table", "string" }, check = check,
  fields = { rpm = per_minute("requests"), itpm = per_minute("input tokens"), otpm = per_minute("output tokens"),
    tier = { type = "string", check = function(v)
      local why = tier_name(v)
      return why and why:gsub("^must be a table.-, a tier name", "must be a tier name") or nil
    end },
    count_tokens = { type = "boolean" } } }

--- What a value stands for: { auto = true | nil, rpm, itpm, otpm (nil: not limited, or with
-- auto: from the headers), count_tokens }. (The value was checked with SPEC.)
function M.limits(v)
  if type(v) == "string" then v = { tier = v } end
  local base = v.tier and v.tier ~= "auto" and M.TIERS[v.tier] or {}
  return { auto = v.tier == "auto" or nil, rpm = v.rpm or base.rpm, itpm = v.itpm or base.itpm,
    otpm = v.otpm or base.otpm, count_tokens = v.count_tokens }
end

return M
