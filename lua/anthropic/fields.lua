--- Messages request fields whose values the SDK's types close (MessageCreateParams,
-- MessageCountTokensParams, ThinkingConfigParam of @anthropic-ai/sdk 1.16.0) and the API answers
-- with a 400 otherwise, whatever the API version: refused before anything is sent, with the fix
-- in the message (docs/messages.md). nil and json.null mean "not sent".
local json = require "anthropic.json"
local compat = require "anthropic.compat"

local M = {}

local MIN_BUDGET = 1024 -- ThinkingConfigEnabled.budget_tokens: "Must be >= 1024 and less than max_tokens"

local function given(v)
  return v ~= nil and v ~= json.null
end

local function shown(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

local function one_of(name, v, values)
  for _, x in ipairs(values) do
    if v == x then return nil end
  end
  return string.format("%s must be one of \"%s\" (got %s)", name, table.concat(values, "\", \""), shown(v))
end

local function whole(v)
  return compat.is_integer(v) or (type(v) == "number" and v == math.floor(v) and v == v)
end

local THINKING = { "enabled", "disabled", "adaptive", "between_tools" }

local function thinking(th, max_tokens, for_count)
  if type(th) ~= "table" then
    return "thinking must be a table such as { type = \"adaptive\" } (got " .. type(th) .. ")"
  end
  local bad = one_of("thinking.type", th.type, THINKING)
  if bad then return bad end
  if given(th.display) then
    bad = one_of("thinking.display", th.display, { "summarized", "omitted" })
    if bad then return bad end
  end
  if th.type == "enabled" then
    local b = th.budget_tokens
    if not whole(b) or b < MIN_BUDGET then
      return string.format("thinking.budget_tokens must be a whole number of at least %d with type \"enabled\" "
        .. "(got %s); raise it, or use { type = \"adaptive\" }", MIN_BUDGET, shown(b))
    end
    if not for_count and whole(max_tokens) and b >= max_tokens then
      return string.format("thinking.budget_tokens (%d) must be less than max_tokens (%d): thinking tokens count "
        .. "toward max_tokens; raise max_tokens or lower the budget", b, max_tokens)
    end
  elseif th.budget_tokens ~= nil then
    return string.format("thinking.budget_tokens is only for type \"enabled\" (the type is %q); remove it", th.type)
  end
end

--- What the API refuses in a Messages (or, for_count, count_tokens) request. -> nil | message
function M.refusal(params, for_count)
  if type(params) ~= "table" then return nil end
  if not for_count and given(params.service_tier) then
    local bad = one_of("service_tier", params.service_tier, { "auto", "standard_only" })
    if bad then return bad end
  end
  if given(params.speed) then
    local bad = one_of("speed", params.speed, { "standard", "fast" })
    if bad then return bad end
  end
  if given(params.thinking) then return thinking(params.thinking, params.max_tokens, for_count) end
end

return M
