-- Models: a registry seeded with realistic models, GET /v1/models (ID-cursor pages, newest first)
-- and GET /v1/models/{id} (id or alias). Tests add models through POST /_emulator/models.
local errors = require "anthropic.emulator.errors"

local M = {}

-- Newest first. aliases resolve to the id (GET /v1/models/{alias}, and the model of a request).
M.SEED = {
  { id = "claude-fable-5", display_name = "Claude Fable 5", created_at = "2026-08-12T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 128000 },
  { id = "claude-opus-5", display_name = "Claude Opus 5", created_at = "2026-07-15T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 128000 },
  { id = "claude-sonnet-5", display_name = "Claude Sonnet 5", created_at = "2026-06-24T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 64000 },
  { id = "claude-opus-4-7", display_name = "Claude Opus 4.7", created_at = "2026-04-16T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 128000 },
  { id = "claude-sonnet-4-6", display_name = "Claude Sonnet 4.6", created_at = "2026-02-17T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 64000 },
  { id = "claude-opus-4-6", display_name = "Claude Opus 4.6", created_at = "2026-02-04T00:00:00Z",
    max_input_tokens = 1000000, max_tokens = 128000 },
  { id = "claude-opus-4-5-20251101", display_name = "Claude Opus 4.5", created_at = "2025-11-24T00:00:00Z",
    aliases = { "claude-opus-4-5" }, max_input_tokens = 200000, max_tokens = 64000 },
  { id = "claude-haiku-4-5-20251001", display_name = "Claude Haiku 4.5", created_at = "2025-10-15T00:00:00Z",
    aliases = { "claude-haiku-4-5" }, max_input_tokens = 200000, max_tokens = 64000 },
  { id = "claude-sonnet-4-5-20250929", display_name = "Claude Sonnet 4.5", created_at = "2025-09-29T00:00:00Z",
    aliases = { "claude-sonnet-4-5" }, max_input_tokens = 200000, max_tokens = 64000 },
  { id = "claude-opus-4-1-20250805", display_name = "Claude Opus 4.1", created_at = "2025-08-05T00:00:00Z",
    aliases = { "claude-opus-4-1" }, max_input_tokens = 200000, max_tokens = 32000 },
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

local function capabilities(m)
  local new = m.created_at >= "2026"
  return {
    batch = supported(true), citations = supported(true), code_execution = supported(true),
    image_input = supported(true), pdf_input = supported(true), structured_outputs = supported(true),
    context_management = { supported = true, clear_thinking_20251015 = supported(true),
                           clear_tool_uses_20250919 = supported(true), compact_20260112 = supported(new) },
    effort = { supported = new, low = supported(new), medium = supported(new), high = supported(new),
               max = supported(new), xhigh = supported(new) },
    thinking = { supported = true, types = { enabled = supported(true), adaptive = supported(new) } },
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
      max_tokens = m.max_tokens or 64000, seq = self.n,
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

-- find(id or alias) -> model | nil
function Registry:find(name)
  if type(name) ~= "string" then return nil end
  return self.by_id[name] or self.by_id[self.alias[name] or ""]
end

function M.info(m)
  return { type = "model", id = m.id, display_name = m.display_name, created_at = m.created_at,
           max_input_tokens = m.max_input_tokens, max_tokens = m.max_tokens, capabilities = capabilities(m) }
end

-- ID-cursor pages work as for every other list (limit, after_id, before_id).
M.page = require("anthropic.emulator.admin.common").page

function M.register(emu)
  emu:route("GET", "^/v1/models$", function(_, req)
    local page, err = M.page(emu.models.order, req.params, M.info)
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
