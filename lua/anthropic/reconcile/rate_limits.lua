--- Workspace rate limits in the organization file:
--   workspace "prod" { rate_limits = {
--     ["claude-sonnet-4-6"] = { input_tokens_per_minute = 200000, requests_per_minute = "inherit" },
--     batch = { requests_per_minute = 1000 },
--   } }
-- A key names a rate-limit group: a model (any model or alias of a model group) or a group type
-- (batch, token_count, files, skills, web_search). A value is a whole number, or "inherit" (the
-- organization's value: the workspace's override is cleared). Limits the file does not mention
-- are shown with "?" and left alone. A value above the organization's limit, a group or limiter
-- the organization does not have, are problems of the file (file:line), before anything runs.
--   read(admin, config, matches) -> { groups, entries = { [workspace_id] = entries } } | false | nil, err
--   Builder:rate_limits() plans the changes; export_lines(entries) writes them.
local builder = require "anthropic.reconcile.builder"
local read = require "anthropic.reconcile.read"

local Builder = builder.Builder
local q, workspace_address, ws_ref = builder.q, builder.workspace_address, builder.ws_ref

local M = {}

M.GROUP_TYPES = { "batch", "token_count", "files", "skills", "web_search" }
local IS_GROUP_TYPE = {}
for _, t in ipairs(M.GROUP_TYPES) do IS_GROUP_TYPE[t] = true end

-- The group's type: `group.type` (2026-10-21) or `group_type` (2023-06-01).
local function group_type(e)
  return type(e.group) == "table" and e.group.type or e.group_type
end
M.group_type = group_type

local function all(pager, what)
  local list, err = pager:all()
  if not list then return nil, read.context(err, what) end
  return list
end

--- The organization's groups and the entries (include_inherited) of each live workspace whose
-- block has rate_limits; false when no block has them (nothing is read).
function M.read(admin, config, matches)
  local wanted = {}
  for _, w in ipairs(config.workspaces) do
    local m = matches[w]
    if w.rate_limits and m and m.live then wanted[#wanted + 1] = m.live.id end
    if w.rate_limits then wanted.any = true end
  end
  if not wanted.any then return false end
  local groups, err = all(admin.rate_limits:list(), "the organization's rate limits")
  if not groups then return nil, err end
  local entries = {}
  for _, id in ipairs(wanted) do
    entries[id], err = all(admin.workspaces:rate_limits(id, { include_inherited = true }),
      "the rate limits of workspace " .. id)
    if not entries[id] then return nil, err end
  end
  return { groups = groups, entries = entries }
end

--- For export: the organization's groups and the overrides of workspaces `ids`.
function M.read_all(admin, ids)
  local groups, err = all(admin.rate_limits:list(), "the organization's rate limits")
  if not groups then return nil, err end
  local entries = {}
  for _, id in ipairs(ids) do
    entries[id], err = all(admin.workspaces:rate_limits(id), "the rate limits of workspace " .. id)
    if not entries[id] then return nil, err end
  end
  return { groups = groups, entries = entries }
end

-- The organization group a file key names. -> group | nil
local function resolve(groups, key)
  for _, g in ipairs(groups) do
    local t = group_type(g)
    if IS_GROUP_TYPE[key] then
      if t == key then return g end
    elseif t == "model_group" then
      for _, m in ipairs(g.models or {}) do
        if m == key then return g end
      end
    end
  end
end

local function org_value(g, t)
  for _, l in ipairs(g.limits or {}) do
    if l.type == t then return l.value end
  end
end

local function types_of(g)
  local out = {}
  for _, l in ipairs(g.limits or {}) do out[#out + 1] = l.type end
  table.sort(out)
  return table.concat(out, ", ")
end

-- A workspace's own overrides: rate_limit_id -> limiter type -> value (source workspace).
local function overrides(entries)
  local out = {}
  for _, e in ipairs(entries or {}) do
    for _, l in ipairs(e.limits or {}) do
      if type(l.source) ~= "table" or l.source.type == "workspace" then
        out[e.rate_limit_id] = out[e.rate_limit_id] or {}
        out[e.rate_limit_id][l.type] = l.value
      end
    end
  end
  return out
end
M.overrides = overrides

-- How a group reads in an address: the file's key, else its display name or type.
local function label(g)
  if group_type(g) == "model_group" then
    local first = g.models and g.models[1]
    return first or (type(g.group) == "table" and g.group.display_name) or g.id
  end
  return group_type(g)
end

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

function Builder:rate_limits()
  local config, rl = self.config, self.reports.rate_limits
  if not rl then return end
  for _, w in ipairs(config.workspaces) do
    local m = self.matches[w]
    if w.rate_limits and not w.archived and not m.blocked then
      local lines = w.rate_limit_lines or {}
      local function where(key, t) -- "org.lua:LINE: workspace "P": rate_limits["key"]" (the value's line)
        local line = lines[t and (key .. "\0" .. t) or key] or lines[key] or w.line
        return string.format("%s:%d: workspace %s: rate_limits[%s]", config.source, line, q(w.name), q(key))
      end
      local live = overrides(m.live and rl.entries[m.live.id])
      local mentioned = {}
      for _, key in ipairs(sorted(w.rate_limits)) do
        local g = resolve(rl.groups, key)
        if not g then
          self:problem(string.format("%s: the organization has no rate-limit group for %s (a model of a model "
            .. "group, or one of %s)", where(key), q(key), table.concat(M.GROUP_TYPES, ", ")))
        else
          mentioned[g.id] = mentioned[g.id] or {}
          local cur = live[g.id] or {}
          local want = w.rate_limits[key]
          for _, t in ipairs(sorted(want)) do
            local v, org = want[t], org_value(g, t)
            mentioned[g.id][t] = true
            if org == nil then
              self:problem(string.format("%s.%s: the group has no %s limit (it has %s)", where(key, t), t, t,
                types_of(g)))
            elseif v ~= "inherit" and v > org then
              self:problem(string.format("%s.%s = %d is above the organization's limit (%d); a workspace limit "
                .. "cannot raise it", where(key, t), t, v, org))
            else
              local before = cur[t]
              local after = v ~= "inherit" and v or nil
              if before ~= after then
                self:add { wave = "workspaces", symbol = "~", kind = "workspace_rate_limit", op = "update",
                  address = workspace_address(w.name) .. " rate limit " .. q(key) .. " " .. t,
                  workspace = ws_ref(w, m), needs = m.create and m.create.address or nil,
                  before = { value = before, inherited = before == nil, org_limit = org },
                  after = { rate_limit_id = g.id, type = t, value = after, inherited = after == nil },
                  changes = { { t, before, after } }, reason = "in the file" }
              end
            end
          end
        end
      end
      -- overrides the file does not mention: shown, not touched
      for _, g in ipairs(rl.groups) do
        for _, t in ipairs(sorted(live[g.id] or {})) do
          if not (mentioned[g.id] and mentioned[g.id][t]) then
            self:add { wave = "workspaces", symbol = "?", kind = "workspace_rate_limit", op = "unmanaged",
              address = workspace_address(w.name) .. " rate limit " .. q(label(g)) .. " " .. t,
              reason = string.format("%d (organization %s); not in the file (unmanaged)", live[g.id][t],
                tostring(org_value(g, t))) }
          end
        end
      end
    end
  end
end

--- The rate_limits lines export writes for a workspace's entries (its own overrides), or nil.
-- groups: the organization's groups (for the key: the first model of a model group).
function M.export_lines(entries, groups)
  local live = overrides(entries)
  local out = {}
  for _, g in ipairs(groups or {}) do
    local own = live[g.id]
    if own then
      local parts = {}
      for _, t in ipairs(sorted(own)) do parts[#parts + 1] = t .. " = " .. string.format("%d", own[t]) end
      out[#out + 1] = string.format("    [%s] = { %s },", q(label(g)), table.concat(parts, ", "))
    end
  end
  if #out == 0 then return nil end
  table.sort(out)
  return out
end

return M
