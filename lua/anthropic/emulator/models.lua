-- Models: a registry seeded with realistic models, GET /v1/models (ID-cursor pages, newest first)
-- and GET /v1/models/{id} (id or alias). Tests add models through POST /_emulator/models.
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"

local M = {}

-- Newest first: the models of the official SDK's list (@anthropic-ai/sdk 1.16.0, 2026-12-01) and
-- the ones it no longer lists, retired. aliases resolve to the id (GET /v1/models/{alias}, and
-- the model of a request). lifecycle, deprecated_at and retires_at follow the API's model
-- deprecations page; a release date known only to the month is given as the 1st (docs/emulator.md).
local function entry(id, name, line, created, input, output, extra)
  local t = { id = id, display_name = name, line = line, created_at = created .. "T00:00:00Z",
              max_input_tokens = input, max_tokens = output }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local M1, K200 = 1000000, 200000
M.SEED = {
  entry("claude-fable-5-2", "Claude Fable 5.2", "fable", "2026-11-01", M1, 128000),
  entry("claude-mythos-5-2", "Claude Mythos 5.2", "mythos", "2026-11-01", M1, 128000),
  entry("claude-sonnet-5-5", "Claude Sonnet 5.5", "sonnet", "2026-10-01", M1, 64000),
  entry("claude-haiku-5-5", "Claude Haiku 5.5", "haiku", "2026-10-07", M1, 64000),
  entry("claude-opus-5-5", "Claude Opus 5.5", "opus", "2026-09-22", M1, 128000),
  entry("claude-fable-5-1", "Claude Fable 5.1", "fable", "2026-09-01", M1, 128000),
  entry("claude-mythos-5-1", "Claude Mythos 5.1", "mythos", "2026-09-01", M1, 128000),
  entry("claude-opus-5", "Claude Opus 5", "opus", "2026-07-15", M1, 128000),
  entry("claude-sonnet-5", "Claude Sonnet 5", "sonnet", "2026-06-24", M1, 64000),
  entry("claude-fable-5", "Claude Fable 5", "fable", "2026-06-09", M1, 128000),
  entry("claude-mythos-5", "Claude Mythos 5", "mythos", "2026-06-09", M1, 128000),
  entry("claude-opus-4-8", "Claude Opus 4.8", "opus", "2026-05-01", M1, 128000),
  entry("claude-opus-4-7", "Claude Opus 4.7", "opus", "2026-04-16", M1, 128000),
  entry("claude-mythos-preview", "Claude Mythos Preview", "mythos", "2026-04-01", M1, 128000),
  entry("claude-sonnet-4-6", "Claude Sonnet 4.6", "sonnet", "2026-02-17", M1, 64000),
  entry("claude-opus-4-6", "Claude Opus 4.6", "opus", "2026-02-04", M1, 128000),
  entry("claude-opus-4-5-20251101", "Claude Opus 4.5", "opus", "2025-11-24", K200, 64000,
    { aliases = { "claude-opus-4-5" }, lifecycle = "deprecated", deprecated_at = "2026-11-23T00:00:00Z",
      retires_at = "2027-01-22T00:00:00Z", replacement = "claude-opus-5-5" }),
  entry("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "haiku", "2025-10-15", K200, 64000,
    { aliases = { "claude-haiku-4-5" } }),
  entry("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "sonnet", "2025-09-29", K200, 64000,
    { aliases = { "claude-sonnet-4-5" }, lifecycle = "retired", deprecated_at = "2026-08-01T00:00:00Z",
      retires_at = "2026-11-30T00:00:00Z", replacement = "claude-sonnet-4-6" }),
  entry("claude-opus-4-1-20250805", "Claude Opus 4.1", "opus", "2025-08-05", K200, 32000,
    { aliases = { "claude-opus-4-1" }, lifecycle = "retired", deprecated_at = "2026-05-01T00:00:00Z",
      retires_at = "2026-08-05T00:00:00Z", replacement = "claude-opus-4-8" }),
}

local Registry = {}
Registry.__index = Registry

function M.new()
  local self = setmetatable({}, Registry)
  self:reset()
  return self
end

function Registry:reset()
  self.by_id, self.alias, self.order, self.n = {}, {}, {}, 0
  assert(self:add(M.SEED))
end

local function supported(b) return { supported = b } end

function M.capabilities(m)
  local new = m.created_at >= "2026"
  return {
    batch = supported(true), citations = supported(true), code_execution = supported(true),
    image_input = supported(true), pdf_input = supported(true), structured_outputs = supported(true),
    context_management = { supported = true, clear_thinking_20251015 = supported(true),
                           clear_tool_uses_20250919 = supported(true), compact_20260112 = supported(new) },
    effort = { supported = new, low = supported(new), medium = supported(new), high = supported(new),
               max = supported(new), xhigh = supported(new) },
    thinking = { supported = true, types = { enabled = supported(true), adaptive = supported(new),
                 between_tools = supported(new), disabled = supported(true) } },
    server_tools = { supported = true, code_execution = supported(true), web_search = supported(true) },
  }
end

-- add(list): adds or replaces models. Each needs an id; display_name, created_at (RFC 3339),
-- aliases, max_input_tokens and max_tokens are optional. -> true | nil, message
function Registry:add(list)
  if type(list) ~= "table" then return nil, "models must be a list" end
  for i, m in ipairs(list) do
    if type(m) ~= "table" or type(m.id) ~= "string" or m.id == "" or m.id:find("[%s/?#]") then
      return nil, "models." .. (i - 1) .. ".id: a non-empty string without spaces or / is required"
    end
    if m.created_at ~= nil and (type(m.created_at) ~= "string"
        or not m.created_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d")) then
      return nil, "models." .. (i - 1) .. ".created_at: an RFC 3339 time is required"
    end
  end
  for _, m in ipairs(list) do
    self.n = self.n + 1
    local model = {
      id = m.id, display_name = m.display_name or m.id, created_at = m.created_at or "2025-01-01T00:00:00Z",
      aliases = m.aliases or {}, max_input_tokens = m.max_input_tokens or 200000,
      max_tokens = m.max_tokens or 64000, seq = self.n, line = m.line,
      lifecycle = m.lifecycle or "active", deprecated_at = m.deprecated_at, retires_at = m.retires_at,
      replacement = m.replacement,
    }
    self.by_id[m.id] = model
    for _, a in ipairs(model.aliases) do self.alias[a] = m.id end
  end
  local order = {}
  for _, model in pairs(self.by_id) do order[#order + 1] = model end
  table.sort(order, function(a, b)
    if a.created_at ~= b.created_at then return a.created_at > b.created_at end
    return a.seq > b.seq
  end)
  self.order = order
  return true
end

-- find(id or alias) -> model | nil (retired ones too: GET /v1/models/{id} still shows them)
function Registry:find(name)
  if type(name) ~= "string" then return nil end
  return self.by_id[name] or self.by_id[self.alias[name] or ""]
end

-- The model a request may use: retired models answer like unknown ones. -> model | nil
function Registry:usable(name)
  local model = self:find(name)
  if model and model.lifecycle ~= "retired" then return model end
end

local function or_null(v)
  if v == nil then return json.null end
  return v
end

function M.info(m)
  return { type = "model", id = m.id, display_name = m.display_name, created_at = m.created_at,
           max_input_tokens = m.max_input_tokens, max_tokens = m.max_tokens, capabilities = M.capabilities(m),
           lifecycle = m.lifecycle, line = or_null(m.line), deprecated_at = or_null(m.deprecated_at),
           retires_at = or_null(m.retires_at) }
end

local LIFECYCLES = { active = true, deprecated = true, retired = true }

-- The lifecycle[] filter of GET /v1/models: the stages asked for (default: active and
-- deprecated; retired models only when asked for). -> set | nil, error response
local function stages(params)
  local v = params["lifecycle[]"] or params.lifecycle
  if v == nil then return { active = true, deprecated = true } end
  if type(v) ~= "table" then v = { v } end
  if #v > 3 then return nil, errors.response(400, "lifecycle: List should have at most 3 items after validation") end
  local set = {}
  for _, s in ipairs(v) do
    if not LIFECYCLES[s] then
      return nil, errors.response(400, "lifecycle: Input should be 'active', 'deprecated' or 'retired'")
    end
    set[s] = true
  end
  return set
end

-- ID-cursor pages work as for every other list (limit, after_id, before_id).
M.page = require("anthropic.emulator.admin.common").page

function M.register(emu)
  emu:route("GET", "^/v1/models$", function(_, req)
    local want, bad = stages(req.params)
    if not want then return bad end
    local listed = {}
    for _, model in ipairs(emu.models.order) do
      if want[model.lifecycle] then listed[#listed + 1] = model end
    end
    req.params["lifecycle[]"], req.params.lifecycle = nil, nil
    local page, err = M.page(listed, req.params, M.info)
    if not page then return err end
    return { status = 200, body = page }
  end, { auth = "api" })

  emu:route("GET", "^/v1/models/([^/]+)$", function(_, req)
    local name = req.captures[1]
    local m = emu.models:find(name)
    if not m then return errors.response(404, "model: " .. name) end
    return { status = 200, body = M.info(m) }
  end, { auth = "api" })
end

return M
