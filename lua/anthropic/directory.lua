--- Names for the ids the Admin API's reports carry (workspaces, API keys, actors): the one
-- lookup behind the CLI's NAME columns (cli/analytics.lua), anthropic.series' labels and the
-- HTML report.
local compat = require "anthropic.compat"

local M = {}

--- The names of what the Admin API and its reports name by id, read once per admin client (a
-- run) from the Admin API's lists and kept: names(admin) -> { workspace = { id -> name }, api_key = { id ->
-- name }, actor = { user id, e-mail or API key id -> name } } (the default workspace's row, shown
-- "(default)", is "Default"). A list that cannot be read (a key without the right) leaves its
-- names out: the ids are shown alone. Archived workspaces and inactive keys are included, as
-- their usage stays in the reports.
local names_cache = setmetatable({}, { __mode = "k" })

function M.names(admin)
  local t = names_cache[admin]
  if t then return t end
  t = { workspace = { ["(default)"] = "Default" }, api_key = {}, actor = {} }
  local function each(pager, fn)
    local ok, items = compat.pcall(function() return pager:all() end) -- (a task may wait in here)
    if ok and type(items) == "table" then
      for _, v in ipairs(items) do
        if type(v) == "table" and type(v.id) == "string" and type(v.name) == "string" and v.name ~= "" then fn(v) end
      end
    end
  end
  each(admin.workspaces:list { include_archived = true, limit = 100 }, function(w) t.workspace[w.id] = w.name end)
  each(admin.api_keys:list { limit = 1000 }, function(k)
    t.api_key[k.id] = k.name
    t.actor[k.id] = k.name
  end)
  each(admin.users:list { limit = 100 }, function(u)
    t.actor[u.id] = u.name
    if type(u.email) == "string" then t.actor[u.email] = u.name end
  end)
  names_cache[admin] = t
  return t
end

return M
