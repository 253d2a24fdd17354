--- The Admin API as data (see endpoints.lua for the fields; `params` rules are in params.lua).
-- A resource with `scope = "name"` is called with that path argument first:
-- admin.members(workspace_id):list().
-- Enums: the values the API lets you WRITE (roles, workspace roles, key status) and the documented
-- filter values (statuses, bucket widths) are checked here; dimensions that grow with the API
-- (group_by, service tiers, geos, rate-limit group types, models) pass through unchecked.
local json = require "anthropic.json"

local M = {}
local E = {}

E.ORG_ROLES = { "user", "developer", "billing", "admin", "claude_code_user",
  "managed", "membership_admin", "owner", "primary_owner" }
E.SETTABLE_ROLES = { "user", "developer", "billing", "claude_code_user", "managed" }
E.WORKSPACE_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer",
  "workspace_admin", "workspace_billing" }
E.MEMBER_ADD_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer",
  "workspace_admin" }
E.KEY_STATUSES = { "active", "inactive", "archived", "expired" }
E.KEY_SETTABLE_STATUSES = { "active", "inactive", "archived" }
E.INVITE_STATUSES = { "accepted", "expired", "pending" }
E.BUCKET_WIDTHS = { "1m", "1h", "1d" }
-- bucket width -> the largest `limit` (number of buckets per page)
E.BUCKET_LIMITS = { ["1m"] = 1440, ["1h"] = 168, ["1d"] = 31 }

-- update_rate_limits' limits: { { type = "requests_per_minute", value = 100 | anthropic.null }, ... }
-- (null clears the workspace's override: the organization's value applies again).
local function rate_limit_values(v)
  if v == nil then return nil, "limits is required: { { type = \"requests_per_minute\", value = 100 }, ... }" end
  if type(v) ~= "table" or v[1] == nil then
    return nil, "limits must be a non-empty array of { type = ..., value = integer | anthropic.null }"
  end
  for i, l in ipairs(v) do
    if type(l) ~= "table" or type(l.type) ~= "string" then
      return nil, string.format("limits[%d] must be { type = \"requests_per_minute\", value = ... }", i)
    end
    local n = l.value
    if n ~= json.null and (type(n) ~= "number" or n ~= math.floor(n) or n < 0 or n > 2^53) then
      return nil, string.format("limits[%d].value must be a whole number >= 0, or anthropic.null to go back to "
        .. "the organization's limit (got %s)", i, tostring(n))
    end
  end
  return v
end

local ADMIN_ROLE = { admin = "the admin role cannot be given through the API; an admin does it in the Console" }

local CURSOR = {
  limit = { int = { 1, 1000 } }, after_id = "string", before_id = "string",
}

local function with(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

-- A report's `limit` counts buckets; its range depends on bucket_width (default 1d).
local function report_limit(limit, params)
  local width = params.bucket_width or "1d"
  local max = E.BUCKET_LIMITS[width] or 1440
  if type(limit) ~= "number" or limit ~= math.floor(limit) or limit < 1 or limit > max then
    return nil, string.format('limit must be a whole number from 1 to %d for bucket_width "%s" (got %s)',
      max, width, tostring(limit))
  end
  return math.floor(limit)
end

M.organization = {
  me = { method = "GET", path = "/v1/organizations/me" },
}

M.users = {
  list = { method = "GET", path = "/v1/organizations/users", pager = "cursor",
    params = with(CURSOR, { email = "string", roles = { list = E.ORG_ROLES } }) },
  get = { method = "GET", path = "/v1/organizations/users/{user_id}" },
  update = { method = "POST", path = "/v1/organizations/users/{user_id}",
    params = { role = { enum = E.SETTABLE_ROLES, required = true, refuse = ADMIN_ROLE } } },
  remove = { method = "DELETE", path = "/v1/organizations/users/{user_id}" },
  -- ends the user's sessions (beta)
  sign_out = { method = "POST", path = "/v1/organizations/users/{user_id}/sign_out", body = false,
    beta = "admin-user-sign-out-2026-10-08" },
}

M.invites = {
  create = { method = "POST", path = "/v1/organizations/invites", idempotent = false,
    params = {
      email = { type = "string", required = true },
      role = { enum = E.SETTABLE_ROLES, required = true, refuse = ADMIN_ROLE },
      rbac_group_ids = { list = true },
    } },
  list = { method = "GET", path = "/v1/organizations/invites", pager = "cursor",
    params = with(CURSOR, { email = "string", roles = { list = E.ORG_ROLES },
      statuses = { list = E.INVITE_STATUSES } }) },
  get = { method = "GET", path = "/v1/organizations/invites/{invite_id}" },
  delete = { method = "DELETE", path = "/v1/organizations/invites/{invite_id}" },
}

M.workspaces = {
  create = { method = "POST", path = "/v1/organizations/workspaces", idempotent = false,
    params = { name = { type = "string", required = true }, tags = "table", data_residency = "table",
      external_key_id = "string", display_color = "string", user_profile_id = "string",
      inference_data_privacy = "table" } },
  list = { method = "GET", path = "/v1/organizations/workspaces", pager = "cursor",
    params = with(CURSOR, { include_archived = "boolean", include_default = "boolean", ids = { list = true } }) },
  get = { method = "GET", path = "/v1/organizations/workspaces/{workspace_id}" },
  update = { method = "POST", path = "/v1/organizations/workspaces/{workspace_id}",
    -- tags are merged: a tag set to anthropic.null is removed, tags not named stay
    params = { name = "string", tags = "table", data_residency = "table", external_key_id = "string",
      display_color = "string", user_profile_id = "string", inference_data_privacy = "table" } },
  archive = { method = "POST", path = "/v1/organizations/workspaces/{workspace_id}/archive", body = false },
  rate_limits = { method = "GET", path = "/v1/organizations/workspaces/{workspace_id}/rate_limits", pager = "token",
    params = { group_type = "string", include_inherited = "boolean", page = "string" } },
  update_rate_limits = { method = "POST",
    path = "/v1/organizations/workspaces/{workspace_id}/rate_limits/{rate_limit_id}",
    params = { limits = rate_limit_values } },
}

M.members = {
  scope = "workspace_id",
  add = { method = "POST", path = "/v1/organizations/workspaces/{workspace_id}/members", idempotent = false,
    params = {
      user_id = { type = "string", required = true },
      workspace_role = { enum = E.MEMBER_ADD_ROLES, required = true, refuse = { workspace_billing =
        "a member cannot be added as workspace_billing; add another role, then update it to workspace_billing" } },
    } },
  list = { method = "GET", path = "/v1/organizations/workspaces/{workspace_id}/members", pager = "cursor",
    params = CURSOR },
  get = { method = "GET", path = "/v1/organizations/workspaces/{workspace_id}/members/{user_id}" },
  update = { method = "POST", path = "/v1/organizations/workspaces/{workspace_id}/members/{user_id}",
    params = { workspace_role = { enum = E.WORKSPACE_ROLES, required = true } } },
  remove = { method = "DELETE", path = "/v1/organizations/workspaces/{workspace_id}/members/{user_id}" },
}

M.api_keys = {
  list = { method = "GET", path = "/v1/organizations/api_keys", pager = "cursor",
    params = with(CURSOR, { status = { enum = E.KEY_STATUSES }, workspace_id = "string",
      created_by_user_id = "string" }) },
  get = { method = "GET", path = "/v1/organizations/api_keys/{api_key_id}" },
  update = { method = "POST", path = "/v1/organizations/api_keys/{api_key_id}",
    params = { name = "string", status = { enum = E.KEY_SETTABLE_STATUSES,
      refuse = { expired = "a key expires by itself; set \"inactive\" or \"archived\" instead" } } } },
}

M.rate_limits = {
  list = { method = "GET", path = "/v1/organizations/rate_limits", pager = "token",
    params = { group_type = "string", model = "string", page = "string" } },
}

local REPORT = {
  starting_at = { time = "datetime", required = true }, ending_at = { time = "datetime" },
  group_by = { list = true }, page = "string", limit = report_limit,
}

M.usage = {
  messages = { method = "GET", path = "/v1/organizations/usage_report/messages", pager = "token",
    params = with(REPORT, {
      bucket_width = { enum = E.BUCKET_WIDTHS },
      api_key_ids = { list = true }, workspace_ids = { list = true }, models = { list = true },
      service_tiers = { list = true }, context_window = { list = true }, inference_geos = { list = true },
      speeds = { list = true }, account_ids = { list = true }, service_account_ids = { list = true },
    }) },
  claude_code = { method = "GET", path = "/v1/organizations/usage_report/claude_code", pager = "token",
    params = { starting_at = { time = "date", required = true }, limit = { int = { 1, 1000 } }, page = "string" } },
}

-- The Usage and Cost Analytics API (beta): one row per combination of group_by dimensions (and
-- time bucket), pages by next_page. The legacy reports above stay (docs/admin.md).
E.ANALYTICS_BETA = "analytics-usage-cost-2026-08-24"
E.TIME_BUCKET_WIDTHS = { "1m", "1h", "1d" }
E.ANALYTICS_FILTERS = { "actor_ids", "actor_types", "agent_ids", "api_key_ids", "claude_tag_categories",
  "claude_tag_user_ids", "context_windows", "deployment_ids", "environment_ids", "inference_geos", "models",
  "organization_ids", "products", "rbac_group_ids", "service_tiers", "session_ids", "slack_channel_ids",
  "speeds", "user_profile_ids", "workspace_ids" }

local function analytics(path, order_by)
  local params = {
    starting_at = { time = "datetime", required = true }, ending_at = { time = "datetime" },
    time_bucket_width = { enum = E.TIME_BUCKET_WIDTHS }, group_by = { list = true },
    exclude_deleted_users = "boolean", order = { enum = { "asc", "desc" } }, order_by = { enum = order_by },
    limit = { int = { 1, 1000 } }, page = "string",
  }
  for _, f in ipairs(E.ANALYTICS_FILTERS) do params[f] = { list = true } end
  return { method = "GET", path = path, pager = "token", beta = E.ANALYTICS_BETA, params = params }
end

M.analytics = {
  usage = analytics("/v1/organizations/analytics/usage",
    { "output_tokens", "requests", "time", "total_tokens", "uncached_input_tokens" }),
  cost = analytics("/v1/organizations/analytics/cost", { "amount", "list_amount", "time" }),
}

M.cost = {
  report = { method = "GET", path = "/v1/organizations/cost_report", pager = "token",
    params = with(REPORT, { bucket_width = { enum = { "1d" } } }) },
}

return M
