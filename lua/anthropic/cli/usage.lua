-- `anthropic usage ...`: token usage of the Messages API, and Claude Code usage (Admin API reports).
local common = require "anthropic.cli.common"
local reports = require "anthropic.reports"
local decimal = require "anthropic.decimal"

local USAGE = [==[
usage: anthropic usage [messages] [options]
       anthropic usage claude-code --date YYYY-MM-DD [--limit N]

messages (the default):
  --from TIME          start, RFC 3339 or YYYY-MM-DD (UTC); default: 7 days ago at 00:00 UTC
  --to TIME            end (exclusive); default: now
  --bucket WIDTH       1m, 1h or 1d (default 1d)
  --by DIMENSION       total, day (default), model, workspace, api_key, service_tier,
                       context_window, inference_geo
  --model M[,M]        only these models
  --workspace ID[,ID]  only these workspaces
  --key-id ID[,ID]     only these API keys (apikey_...)
  --service-tier T[,T] only these service tiers (standard, batch, priority, ...)

claude-code: one row per user or API key for that UTC day.

  --json               print JSON instead of a table

Token counts are summed exactly. The admin key comes from ANTHROPIC_ADMIN_KEY.
]==]

-- --by -> the group_by the report needs for it
local GROUP_BY = { model = "model", workspace = "workspace_id", api_key = "api_key_id",
  service_tier = "service_tier", context_window = "context_window", inference_geo = "inference_geo" }

local function usage_columns(by)
  return {
    { by:upper():gsub("_", " "), "key" },
    { "INPUT", "input_tokens", right = true }, { "UNCACHED", "uncached_input_tokens", right = true },
    { "CACHE READ", "cache_read_input_tokens", right = true },
    { "CACHE WRITE", function(r) return r.ephemeral_5m_input_tokens + r.ephemeral_1h_input_tokens end, right = true },
    { "OUTPUT", "output_tokens", right = true }, { "WEB SEARCH", "web_search_requests", right = true },
  }
end

local function actor(r)
  local a = r.actor or {}
  return a.email_address or a.api_key_name
end

local function cost_cents(r)
  local total = "0"
  for _, m in ipairs(r.model_breakdown or {}) do
    local amount = m.estimated_cost and m.estimated_cost.amount
    if amount then total = decimal.add(total, amount) end
  end
  return total
end

-- r.core_metrics[a][b], or nil when any part is missing
local function metric(a, b)
  return function(r)
    local v = r.core_metrics and r.core_metrics[a]
    if b then v = type(v) == "table" and v[b] or nil end
    return v
  end
end

local CLAUDE_CODE_COLUMNS = {
  { "DATE", function(r) return type(r.date) == "string" and r.date:sub(1, 10) or nil end },
  { "ACTOR", actor }, { "CUSTOMER", "customer_type" }, { "TERMINAL", "terminal_type" },
  { "SESSIONS", metric("num_sessions"), right = true },
  { "LINES +", metric("lines_of_code", "added"), right = true },
  { "LINES -", metric("lines_of_code", "removed"), right = true },
  { "COMMITS", metric("commits_by_claude_code"), right = true },
  { "PRS", metric("pull_requests_by_claude_code"), right = true },
  { "COST USD", function(r) return reports.dollars(cost_cents(r), 2) end, right = true },
}

return common.command {
  name = "usage",
  usage = USAGE,
  default = "messages",
  subcommands = {
    messages = {
      flags = { from = "string", to = "string", bucket = "string", by = "string", model = "list",
        workspace = "list", ["key-id"] = "list", ["service-tier"] = "list" },
      run = function(admin, opts)
        local by = opts.by or "day"
        local params = {
          starting_at = common.time(opts.from, 6), ending_at = common.time(opts.to),
          bucket_width = opts.bucket, group_by = GROUP_BY[by], models = opts.model,
          workspace_ids = opts.workspace, api_key_ids = opts.key_id, service_tiers = opts.service_tier,
        }
        if by ~= "total" and by ~= "day" and not GROUP_BY[by] then
          error("--by must be one of total, day, model, workspace, api_key, service_tier, context_window, "
            .. "inference_geo (got '" .. by .. "')", 0)
        end
        local buckets, err = admin.usage:messages(params):all()
        if not buckets then return nil, err end
        local shown, rows, total = common.summed(reports.usage, buckets, by)
        local json = { by = by, starting_at = params.starting_at, ending_at = params.ending_at,
          bucket_width = opts.bucket or "1d", rows = rows, total = total }
        return shown, { columns = usage_columns(by), json = json }
      end,
    },
    ["claude-code"] = {
      flags = { date = "string", limit = "number" },
      run = function(admin, opts)
        local records, err = admin.usage:claude_code(common.page_params(opts,
          { starting_at = opts.date or os.date("!%Y-%m-%d") })):all(opts.limit)
        return records, err or { columns = CLAUDE_CODE_COLUMNS, empty = "(no Claude Code usage that day)" }
      end,
    },
  },
}
