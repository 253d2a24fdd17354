-- Rate limits, read-only as in the real API:
--   GET /v1/organizations/rate_limits (group_type, model, page)
--   GET /v1/organizations/workspaces/{id}/rate_limits (group_type, page): overrides only
-- The organization's model groups are built from the model registry; their values are the
-- emulator's configured per-key limits (POST /_emulator/ratelimit), so what this endpoint says
-- is what the emulator enforces. Workspace overrides come from the seed and are reported, not
-- enforced. Both lists fit on one page; an optional `limit` (an emulator extension) splits them
-- into pages so that clients can test following next_page.
local common = require "anthropic.emulator.admin.common"
local util = require "anthropic.emulator.util"
local workspaces = require "anthropic.emulator.admin.workspaces"

local M = {}

M.GROUP_TYPES = { "model_group", "batch", "token_count", "files", "skills", "web_search" }

-- Model families that share one bucket (the 2026 groups); any other model has a group of its own.
M.FAMILIES = {
  { "^claude%-fable%-5", "claude-fable-5" },
  { "^claude%-mythos%-5", "claude-mythos-5" },
  { "^claude%-opus%-5", "claude-opus-5" },
  { "^claude%-sonnet%-5", "claude-sonnet-5" },
  { "^claude%-opus%-4%-[5-9]", "claude-opus-4" },
  { "^claude%-sonnet%-4%-[5-9]", "claude-sonnet-4" },
  { "^claude%-haiku%-4%-5", "claude-haiku-4-5" },
}

-- Fixed values for the groups the emulator does not enforce.
M.OTHER = {
  batch = { { "requests_per_minute", 4000 }, { "enqueued_batch_requests", 500000 } },
  files = { { "requests_per_minute", 1000 } },
  skills = { { "requests_per_minute", 1000 } },
  web_search = { { "requests_per_minute", 300 } },
}

local function family(id)
  for _, f in ipairs(M.FAMILIES) do
    if id:find(f[1]) then return f[2] end
  end
  return id
end

local function limits_list(pairs_list)
  local out = {}
  for i, p in ipairs(pairs_list) do out[i] = { type = p[1], value = p[2] } end
  return out
end

-- Every org rate-limit group: { id, group_type, key, models (list | nil), limits = { {type, value} } }.
function M.groups(emu)
  local by_family, order = {}, {}
  for _, m in ipairs(emu.models.order) do
    local f = family(m.id)
    local g = by_family[f]
    if not g then
      g = { group_type = "model_group", key = f, models = {} }
      by_family[f] = g
      order[#order + 1] = g
    end
    g.models[#g.models + 1] = m.id
    for _, a in ipairs(m.aliases) do g.models[#g.models + 1] = a end
  end
  local l = emu.ratelimit.limits
  local groups = {}
  for _, g in ipairs(order) do
    table.sort(g.models)
    g.limits = limits_list { { "requests_per_minute", l.rpm }, { "input_tokens_per_minute", l.itpm },
                             { "output_tokens_per_minute", l.otpm } }
    groups[#groups + 1] = g
  end
  groups[#groups + 1] = { group_type = "batch", key = "batch", limits = limits_list(M.OTHER.batch) }
  groups[#groups + 1] = { group_type = "token_count", key = "token_count",
                          limits = limits_list { { "requests_per_minute", l.rpm } } }
  for _, t in ipairs({ "files", "skills", "web_search" }) do
    groups[#groups + 1] = { group_type = t, key = t, limits = limits_list(M.OTHER[t]) }
  end
  for _, g in ipairs(groups) do g.id = util.stable_id("ratelimit_01", g.group_type .. ":" .. g.key, 22) end
  return groups
end

-- The group a model (id or alias) belongs to, or the group of a type/key. -> group | nil
function M.group_of_model(emu, model)
  for _, g in ipairs(M.groups(emu)) do
    for _, m in ipairs(g.models or {}) do
      if m == model then return g end
    end
  end
end

local function group_json(g)
  return { type = "rate_limit", id = g.id, group_type = g.group_type,
           models = g.models or common.null, limits = g.limits }
end

local function group_type_filter(params)
  local gt, err = common.param(params, "group_type")
  if gt == false then return nil, err end
  if gt then
    err = common.check_enum("group_type", gt, M.GROUP_TYPES)
    if err then return nil, err end
  end
  return gt or true
end

-- One page of items with page tokens; limit (optional) defaults to all of them.
local function paged(req, items, to_json)
  local limit, err = common.limit_param(req.params, math.max(1, #items), 1000)
  if not limit then return err end
  local page
  page, err = common.token_page(req, items, limit, to_json)
  if not page then return err end
  page.has_more = nil -- these lists have only next_page
  return common.ok(page)
end

function M.list(emu, req)
  local gt, err = group_type_filter(req.params)
  if not gt then return err end
  local model
  model, err = common.param(req.params, "model")
  if model == false then return err end
  local items = {}
  if model then
    local g = M.group_of_model(emu, model)
    if not g then return common.not_found("No rate limit group contains the model '" .. model .. "'.") end
    if gt == true or gt == g.group_type then items[1] = g end
  else
    for _, g in ipairs(M.groups(emu)) do
      if gt == true or gt == g.group_type then items[#items + 1] = g end
    end
  end
  return paged(req, items, group_json)
end

-- The override entries of a workspace, as JSON.
function M.workspace_entries(emu, ws)
  local groups = M.groups(emu)
  local out = {}
  for _, o in ipairs(emu.org.d.ws_limits) do
    if o.workspace_id == ws.id then
      local g
      for _, x in ipairs(groups) do
        if x.group_type == o.group_type and (o.group_type ~= "model_group" or x.key == o.key) then g = x end
      end
      if g then
        local limits = {}
        for i, l in ipairs(o.limits) do
          local org_limit = common.null
          for _, ol in ipairs(g.limits) do
            if ol.type == l.type then org_limit = ol.value end
          end
          limits[i] = { type = l.type, value = l.value, org_limit = org_limit }
        end
        out[#out + 1] = { type = "workspace_rate_limit", group_type = g.group_type, models = g.models or common.null,
                          rate_limit_id = g.id, workspace_id = ws.id, limits = limits }
      end
    end
  end
  return out
end

-- Checks and stores a workspace override from a seed:
-- { workspace_id (id or name), group_type, model (for model_group: any model of the group),
--   limits = [{type, value}] }. -> true | nil, message
function M.add_override(emu, org, o, at)
  local ws = org:find_workspace(o.workspace_id)
  if not ws then return nil, at .. ".workspace_id: no workspace " .. tostring(o.workspace_id) end
  if common.check_enum("group_type", o.group_type, M.GROUP_TYPES) then
    return nil, at .. ".group_type: should be one of " .. table.concat(M.GROUP_TYPES, ", ")
  end
  local key = o.group_type
  if o.group_type == "model_group" then
    local g = type(o.model) == "string" and M.group_of_model(emu, o.model)
    if not g then return nil, at .. ".model: a model of the group is required for a model_group override" end
    key = g.key
  end
  if not common.is_list(o.limits) or #o.limits == 0 then return nil, at .. ".limits: a non-empty list is required" end
  local limits = {}
  for i, l in ipairs(o.limits) do
    if type(l) ~= "table" or type(l.type) ~= "string" or not common.is_int(l.value) or l.value < 0 then
      return nil, at .. ".limits." .. (i - 1) .. ": {type = string, value = integer >= 0} expected"
    end
    limits[i] = { type = l.type, value = math.floor(l.value) }
  end
  local list = org.d.ws_limits
  for i = #list, 1, -1 do
    if list[i].workspace_id == ws.id and list[i].group_type == o.group_type and list[i].key == key then
      table.remove(list, i)
    end
  end
  list[#list + 1] = { workspace_id = ws.id, group_type = o.group_type, key = key, limits = limits }
  return true
end

function M.workspace_list(emu, req)
  local ws, err = workspaces.find(emu, req.captures[1])
  if not ws then return err end
  local gt
  gt, err = group_type_filter(req.params)
  if not gt then return err end
  local items = {}
  for _, e in ipairs(M.workspace_entries(emu, ws)) do
    if gt == true or gt == e.group_type then items[#items + 1] = e end
  end
  return paged(req, items)
end

function M.register(emu)
  emu:route("GET", "^/v1/organizations/rate_limits$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/workspaces/([^/]+)/rate_limits$", M.workspace_list, { auth = "admin" })
end

return M
