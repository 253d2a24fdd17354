--- Models that are deprecated or retired, with when they retire and what to use instead, so that
-- a client can warn (once per model and process, through its log function at level "warn") when
-- a request names one. From the API's model deprecations page as the reference pages give it
-- (shared/reference/api-2026-12.md section 3, pricing-and-limits.md section 1.1) and the official
-- SDK's own list (@anthropic-ai/sdk 1.16.0, internal/data/deprecated-models); the emulator's
-- models (lua/anthropic/emulator/models.lua) agree with it (spec/deprecations_spec.lua).
local M = {}

local function entry(state, retires, replacement)
  return { state = state, retires = retires, replacement = replacement }
end

-- id or alias -> { state = "deprecated" | "retired", retires = "YYYY-MM-DD", replacement = id }
M.MODELS = {
  ["claude-opus-4-5"] = entry("deprecated", "2027-01-22", "claude-opus-5-5"),
  ["claude-opus-4-5-20251101"] = entry("deprecated", "2027-01-22", "claude-opus-5-5"),
  -- the SDK still lists it, deprecated with an end of life of 2026-06-30
  ["claude-mythos-preview"] = entry("deprecated", "2026-06-30", "claude-mythos-5-2"),
  ["claude-sonnet-4-5"] = entry("retired", "2026-11-30", "claude-sonnet-4-6"),
  ["claude-sonnet-4-5-20250929"] = entry("retired", "2026-11-30", "claude-sonnet-4-6"),
  ["claude-opus-4-1"] = entry("retired", "2026-08-05", "claude-opus-4-8"),
  ["claude-opus-4-1-20250805"] = entry("retired", "2026-08-05", "claude-opus-4-8"),
}

--- The warning for a model, or nil when it is neither deprecated nor retired.
function M.message(model)
  local d = type(model) == "string" and M.MODELS[model]
  if not d then return nil end
  if d.state == "retired" then
    return string.format("the model %s was retired on %s and the API no longer serves it; use %s instead "
      .. "(https://docs.claude.com/en/docs/about-claude/model-deprecations)", model, d.retires, d.replacement)
  end
  return string.format("the model %s is deprecated and retires on %s; move to %s before then "
    .. "(https://docs.claude.com/en/docs/about-claude/model-deprecations)", model, d.retires, d.replacement)
end

-- The models already warned about in this process (every client of this Lua state).
local warned = {}

--- Warn through emit(level, msg) once per model and process. emit is only called (and the model
-- only counted as warned) when the client has a log function: has_log.
function M.warn(model, has_log, emit)
  if not has_log or type(model) ~= "string" or warned[model] then return end
  local msg = M.message(model)
  if not msg then return end
  warned[model] = true
  emit("warn", msg)
end

-- Models on which thinking = { type = "enabled" } (a budget) is deprecated in favour of
-- { type = "adaptive" } (the SDK's internal/data/models-to-warn-with-thinking-enabled).
M.THINKING_ENABLED = { ["claude-opus-4-6"] = true, ["claude-mythos-preview"] = true }

--- The same for a request's thinking setting: once per model and process. params: the request.
function M.warn_thinking(params, has_log, emit)
  local model, th = params.model, params.thinking
  if not has_log or type(th) ~= "table" or th.type ~= "enabled" or not M.THINKING_ENABLED[model] then return end
  local k = "thinking " .. model
  if warned[k] then return end
  warned[k] = true
  emit("warn", string.format('thinking = { type = "enabled" } is deprecated on %s; use thinking = '
    .. '{ type = "adaptive" }, which performs better '
    .. "(https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking)", model))
end

--- Forget which models were warned about (tests).
function M.reset()
  warned = {}
end

return M
