-- Reading answer fields whose place differs between API versions, in one place.
local M = {}

-- An API key row's workspace id: `workspace_id` under 2023-06-01, `scope.workspace_id` under
-- 2026-10-21; nil for a key of the default workspace (scope type "organization").
function M.key_workspace_id(row)
  if row.workspace_id ~= nil then return row.workspace_id end
  return type(row.scope) == "table" and row.scope.workspace_id or nil
end

-- A rate-limit entry's group type: `group_type` under 2023-06-01, `group.type` under 2026-10-21.
function M.rate_limit_group_type(entry)
  if entry.group_type ~= nil then return entry.group_type end
  return type(entry.group) == "table" and entry.group.type or nil
end

return M
