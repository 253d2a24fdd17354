-- Rate limits:
--   GET /v1/organizations/rate_limits (group_type, model, page)
--   GET /v1/organizations/workspaces/{id}/rate_limits (group_type, include_inherited, page):
--       overrides, and with include_inherited the organization's values too (each with `source`)
--   POST /v1/organizations/workspaces/{id}/rate_limits/{rate_limit_id} { limits }: sets or clears
--       overrides of one group
-- Under API version 2026-10-21 entries carry a `group` object ({id, type, display_name}); under
-- 2023-06-01 the older `group_type`.
-- The organization's model groups are built from the model registry; their values are the
-- emulator's configured per-key limits (POST /_emulator/ratelimit), so what this endpoint says
-- is what the emulator enforces. Workspace overrides (from the seed or set with the POST) are
-- enforced too, per model group, for that workspace's keys: the lower of the two applies
-- (in_force, used by messages.lua). Both lists fit on one page; an optional `limit` (an emulator extension) splits them
-- into pages so that clients can test following next_page.
local common = require "anthropic.emulator.admin.common"
local json = require "anthropic.emulator.json"
local ratelimits = require "anthropic.ratelimits"
local util = require "anthropic.emulator.util"
local workspaces = require "anthropic.emulator.admin.workspaces"

local M = {}

M.GROUP_TYPES = { "model_group", "batch", "token_count", "files", "skills", "web_search" }

-- Model families that share one bucket (the 2026 groups, the client's table); any other model
-- has a group of its own.
M.FAMILIES = ratelimits.FAMILIES

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

-- The group object of API version 2026-10-21 (it replaces group_type): { id, type [, display_name] }.
function M.group_object(g)
  local o = { id = util.stable_id("rlgrp_01", g.group_type .. ":" .. g.key, 22), type = g.group_type }
  if g.group_type == "model_group" then
    o.display_name = (g.key:gsub("%-(%d)%-(%d)$", " %1.%2"):gsub("%-", " "):gsub("^%l", string.upper)
      :gsub(" (%l)", function(c) return " " .. c:upper() end))
  end
  return o
end

-- A group's kind in the answer: `group` (2026-10-21) or `group_type` (2023-06-01).
local function with_group(t, g, req)
  if req and req.api_version == "2023-06-01" then
    t.group_type = g.group_type
  else
    t.group = M.group_object(g)
  end
  return t
end

local function group_json(g, req)
  return with_group({ type = "rate_limit", id = g.id, models = g.models or common.null, limits = g.limits }, g, req)
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
  return paged(req, items, function(g) return group_json(g, req) end)
end

-- The limiter types a workspace override may set (the SDK's BetaWorkspaceRateLimitType).
M.LIMIT_TYPES = { "fast_itpmca", "fast_otpm", "input_tokens_per_minute", "input_tokens_per_minute_cache_aware",
  "output_tokens_per_minute", "requests_per_minute", "tokens_per_day", "tokens_per_minute", "tool_uses_per_second" }

-- The group key of a model (id or alias) as the groups have it.
function M.model_key(emu, model)
  local m = emu.models:find(model)
  return family(m and m.id or tostring(model))
end

local IN_FORCE = { requests_per_minute = "rpm", input_tokens_per_minute = "itpm", output_tokens_per_minute = "otpm" }

-- The limits in force for the keys of workspace ws_id (nil: the default workspace) in a group
-- (group_type "model_group" with the group's key, or "token_count"): the organization's, each
-- lowered by the workspace's override of it. -> { rpm, itpm, otpm }, { rpm = true, ... } (those
-- that are the workspace's)
function M.in_force(emu, ws_id, group_type, key)
  local caps, own = util.copy(emu.ratelimit.limits), {}
  caps.speed = nil
  if not ws_id or not emu.org then return caps, own end
  for _, o in ipairs(emu.org.d.ws_limits) do
    if o.workspace_id == ws_id and o.group_type == group_type and (group_type ~= "model_group" or o.key == key) then
      for _, l in ipairs(o.limits) do
        local n = IN_FORCE[l.type]
        if n and l.value < caps[n] then caps[n], own[n] = l.value, true end
      end
    end
  end
  return caps, own
end

-- The stored override of a workspace for a group, or nil.
local function override_of(emu, ws, g)
  for _, o in ipairs(emu.org.d.ws_limits) do
    if o.workspace_id == ws.id and o.group_type == g.group_type
      and (o.group_type ~= "model_group" or o.key == g.key) then
      return o
    end
  end
end

local function org_value(g, t)
  for _, ol in ipairs(g.limits) do
    if ol.type == t then return ol.value end
  end
end

-- The entry of a workspace for a group: its overrides (source workspace), and with `inherited`
-- the organization's values it inherits (source organization). -> entry | nil (nothing to list)
function M.entry(emu, ws, g, inherited, req)
  local o = override_of(emu, ws, g)
  local limits, seen = json.array(), {}
  for _, l in ipairs(o and o.limits or {}) do
    local ov = org_value(g, l.type)
    limits[#limits + 1] = { type = l.type, value = l.value, org_limit = ov == nil and common.null or ov,
                            source = { type = "workspace" } }
    seen[l.type] = true
  end
  if inherited then
    for _, ol in ipairs(g.limits) do
      if not seen[ol.type] then
        limits[#limits + 1] = { type = ol.type, value = ol.value, org_limit = ol.value,
                                source = { type = "organization" } }
      end
    end
  end
  if #limits == 0 and not inherited then return nil end
  return with_group({ type = "workspace_rate_limit", models = g.models or common.null, rate_limit_id = g.id,
                      workspace_id = ws.id, limits = limits }, g, req)
end

-- The entries of a workspace, as JSON (overrides only, or every group with include_inherited).
function M.workspace_entries(emu, ws, inherited, req)
  local out = {}
  for _, g in ipairs(M.groups(emu)) do
    out[#out + 1] = M.entry(emu, ws, g, inherited, req)
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
  local inherited
  inherited, err = common.bool_param(req.params, "include_inherited")
  if inherited == nil then return err end
  local items = {}
  for _, e in ipairs(M.workspace_entries(emu, ws, inherited, req)) do
    local t = e.group_type or e.group.type
    if gt == true or gt == t then items[#items + 1] = e end
  end
  return paged(req, items)
end

-- POST /v1/organizations/workspaces/{id}/rate_limits/{rate_limit_id} { limits = [{type, value | null}] }:
-- an integer sets that type's override, null clears it, types not named keep theirs. A value
-- above the organization's limit is stored (the lower of the two applies), as the API does.
function M.workspace_update(emu, req)
  local ws, err = workspaces.find(emu, req.captures[1])
  if not ws then return err end
  if ws.archived_at then return common.bad("Cannot change the rate limits of an archived workspace.") end
  local g
  for _, x in ipairs(M.groups(emu)) do
    if x.id == req.captures[2] then g = x end
  end
  if not g then return common.not_found("No rate limit with id '" .. req.captures[2] .. "'.") end
  local body
  body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, common.set { "limits" })
  if err then return err end
  if not common.is_list(body.limits) then return common.bad("limits: Input should be a valid list") end
  for i, l in ipairs(body.limits) do
    local at = "limits." .. (i - 1)
    if not common.is_object(l) then return common.bad(at .. ": Input should be a valid object") end
    err = common.check_fields(l, common.set { "type", "value" })
      or common.check_enum(at .. ".type", l.type, M.LIMIT_TYPES)
    if err then return err end
    if l.value == nil then return common.bad(at .. ".value: Field required") end
    if l.value ~= json.null and (not common.is_int(l.value) or l.value < 0) then
      return common.bad(at .. ".value: Input should be a non-negative integer or null")
    end
  end
  local o = override_of(emu, ws, g)
  if not o then
    o = { workspace_id = ws.id, group_type = g.group_type, key = g.key, limits = {} }
    local list = emu.org.d.ws_limits
    list[#list + 1] = o
  end
  for _, l in ipairs(body.limits) do
    for i = #o.limits, 1, -1 do
      if o.limits[i].type == l.type then table.remove(o.limits, i) end
    end
    if l.value ~= json.null then o.limits[#o.limits + 1] = { type = l.type, value = math.floor(l.value) } end
  end
  table.sort(o.limits, function(a, b) return a.type < b.type end)
  local entry = M.entry(emu, ws, g, false, req)
    or with_group({ type = "workspace_rate_limit", models = g.models or common.null, rate_limit_id = g.id,
                    workspace_id = ws.id, limits = json.array() }, g, req)
  return common.ok(entry)
end

function M.register(emu)
  emu:route("GET", "^/v1/organizations/rate_limits$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/workspaces/([^/]+)/rate_limits$", M.workspace_list, { auth = "admin" })
  emu:route("POST", "^/v1/organizations/workspaces/([^/]+)/rate_limits/([^/]+)$", M.workspace_update,
            { auth = "admin" })
end

return M
