--- The rate_limit option's values, as data: { rpm =, itpm =, otpm = }, a tier name of the API's
-- tier tables, or "auto" (learned from the anthropic-ratelimit-* headers). See docs/rate-limits.md.
-- The tables are those of shared/reference/anthropic-api.md 4.2 (2026-08-22: start, build, scale)
-- and 4.3 (late 2025: tier1 to tier4), for the class most models are in (Opus, Sonnet, Haiku 4.5),
-- with the model groups whose numbers differ (GROUP_TIERS); token counting and Message Batches
-- have request limits of their own (count_rpm, batch_rpm: pricing-and-limits.md 2.2, api 4.2/4.3).
-- The API's own headers say what is in force, so "auto" is what to use when in doubt.
local M = {}

M.TIERS = {
  start = { rpm = 1000, itpm = 2000000, otpm = 400000, count_rpm = 2000, batch_rpm = 1000 },
  build = { rpm = 5000, itpm = 5000000, otpm = 1000000, count_rpm = 4000, batch_rpm = 2000 },
  scale = { rpm = 10000, itpm = 10000000, otpm = 2000000, count_rpm = 8000, batch_rpm = 4000 },
  tier1 = { rpm = 50, itpm = 30000, otpm = 8000, count_rpm = 100, batch_rpm = 50 },
  tier2 = { rpm = 1000, itpm = 450000, otpm = 90000, count_rpm = 2000, batch_rpm = 1000 },
  tier3 = { rpm = 2000, itpm = 800000, otpm = 160000, count_rpm = 4000, batch_rpm = 2000 },
  tier4 = { rpm = 4000, itpm = 2000000, otpm = 400000, count_rpm = 8000, batch_rpm = 4000 },
}

-- Model groups whose tier numbers differ from the common class.
M.GROUP_TIERS = {
  ["claude-fable-5"] = { start = { rpm = 1000, itpm = 500000, otpm = 100000 },
    build = { rpm = 2000, itpm = 1500000, otpm = 300000 }, scale = { rpm = 4000, itpm = 4000000, otpm = 800000 } },
  ["claude-haiku-4-5"] = { tier1 = { itpm = 50000, otpm = 10000 }, tier3 = { itpm = 1000000, otpm = 200000 },
    tier4 = { itpm = 4000000, otpm = 800000 } },
}

-- The model groups: models sharing one set of buckets (the API's 2026 groups: Opus 4.5 to 4.8
-- share one, Opus 5 has its own, ...). Any other model is a group of its own. The emulator
-- groups its models with the same table (emulator/admin/rate_limits.lua).
M.FAMILIES = {
  { "^claude%-fable%-5", "claude-fable-5" },
  { "^claude%-mythos%-5", "claude-mythos-5" },
  { "^claude%-opus%-5", "claude-opus-5" },
  { "^claude%-sonnet%-5", "claude-sonnet-5" },
  { "^claude%-opus%-4%-[5-9]", "claude-opus-4" },
  { "^claude%-sonnet%-4%-[5-9]", "claude-sonnet-4" },
  { "^claude%-haiku%-4%-5", "claude-haiku-4-5" },
}

--- The group key of a model id or alias ("claude-opus-4-6" -> "claude-opus-4"); a model of no
-- known family is its own group (a dated id: its id without the date).
function M.group(model)
  if type(model) ~= "string" or model == "" then return "default" end
  for _, f in ipairs(M.FAMILIES) do
    if model:find(f[1]) then return f[2] end
  end
  return (model:gsub("%-%d%d%d%d%d%d%d%d$", ""))
end

--- A tier's numbers for a group ("claude-opus-4", "token_count", "batch"): { rpm, itpm, otpm }.
function M.tier_limits(tier, group)
  local t = M.TIERS[tier]
  if not t then return {} end
  if group == "token_count" then return { rpm = t.count_rpm } end
  if group == "batch" then return { rpm = t.batch_rpm } end
  local g = M.GROUP_TIERS[group] and M.GROUP_TIERS[group][tier] or {}
  return { rpm = g.rpm or t.rpm, itpm = g.itpm or t.itpm, otpm = g.otpm or t.otpm }
end

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

--- What a value stands for, for one group (a model group key, "token_count" or "batch"; nil: the
-- common model class): { auto = true | nil, rpm, itpm, otpm (nil: not limited, or with auto: from
-- the headers), count_tokens, tier }. The numbers given are a model group's: token counting and
-- batches take only a tier's (or, with auto, the API's). (The value was checked with SPEC.)
function M.limits(v, group)
  if type(v) == "string" then v = { tier = v } end
  local base = v.tier and v.tier ~= "auto" and M.tier_limits(v.tier, group) or {}
  local own = group ~= "token_count" and group ~= "batch"
  return { auto = v.tier == "auto" or nil, rpm = own and v.rpm or base.rpm, itpm = own and v.itpm or base.itpm,
    otpm = own and v.otpm or base.otpm, count_tokens = v.count_tokens, tier = v.tier }
end

return M
