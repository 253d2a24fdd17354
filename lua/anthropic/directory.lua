--- Names for the ids the Admin API and its reports carry (workspaces, API keys, users, actors):
-- the one lookup behind the CLI's NAME columns (cli/analytics.lua), the CLI's namer
-- (cli/common.lua: keys list, the HTML report) and anthropic.series' labels. Each list is read at
-- most once per admin client (a run), when first needed, and kept. A list that cannot be read (a
-- key without the right) is empty: the ids are shown alone. Archived workspaces and inactive keys
-- are included, as their usage stays in the reports.
local compat = require "anthropic.compat"

local M = {}

local LISTS = {
  workspace = function(admin) return admin.workspaces:list { include_archived = true, limit = 1000 } end,
  api_key = function(admin) return admin.api_keys:list { limit = 1000 } end,
  user = function(admin) return admin.users:list { limit = 1000 } end,
}

local lists = setmetatable({}, { __mode = "k" }) -- admin -> kind -> items
local names_cache = setmetatable({}, { __mode = "k" })

--- The items of one list ("workspace", "api_key" or "user"), every page. -> array (maybe empty)
function M.items(admin, kind)
  local per = lists[admin]
  if not per then
    per = {}
    lists[admin] = per
  end
  if not per[kind] then
    local ok, items = compat.pcall(function() return LISTS[kind](admin):all() end) -- (a task may wait in here)
    local kept = {}
    for _, v in ipairs(ok and type(items) == "table" and items or {}) do
      if type(v) == "table" and type(v.id) == "string" then kept[#kept + 1] = v end
    end
    per[kind] = kept
  end
  return per[kind]
end

local function named(v) return type(v.name) == "string" and v.name ~= "" and v.name or nil end

--- names(admin) -> { workspace = { id -> name }, api_key = { id -> name }, actor = { user id,
-- e-mail or API key id -> name } } (the default workspace's row, shown "(default)", is "Default").
function M.names(admin)
  local t = names_cache[admin]
  if t then return t end
  t = { workspace = { ["(default)"] = "Default" }, api_key = {}, actor = {} }
  for _, w in ipairs(M.items(admin, "workspace")) do t.workspace[w.id] = named(w) end
  for _, k in ipairs(M.items(admin, "api_key")) do
    t.api_key[k.id] = named(k)
    t.actor[k.id] = named(k)
  end
  for _, u in ipairs(M.items(admin, "user")) do
    t.actor[u.id] = named(u)
    if type(u.email) == "string" then t.actor[u.email] = named(u) end
  end
  names_cache[admin] = t
  return t
end

--- The name of one thing by id: kind "workspace", "api_key" or "user" (a user's name, else its
-- e-mail address). Reads that kind's list alone. -> name | nil
function M.name(admin, kind, id)
  local per = lists[admin]
  local by_id = per and per[kind .. "/by_id"]
  if not by_id then
    by_id = {}
    for _, v in ipairs(M.items(admin, kind)) do by_id[v.id] = v end
    lists[admin][kind .. "/by_id"] = by_id
  end
  local v = by_id[id]
  return v and (named(v) or kind == "user" and v.email or nil)
end

return M
