--- What an organization file may say: the blocks and their fields, as data. validate.lua reads it
-- to check a file; docs/reconcile.md documents the same fields.
-- A rule is a table:
--   type = "string" | "boolean" | "number" | "integer" | "email" | "map" | "list" | "record" | "limit"
--                           ("limit": a whole number >= 0, or "inherit")
--   enum = {...}            the value must be one of these
--   min, max                numbers: the range; strings: the length in characters (UTF-8)
--   label = true            strings: a name people read (anthropic.names: no control characters,
--                           bidirectional controls or invisible characters; no leading, trailing
--                           or only spaces)
--   pattern, pattern_text   strings: a Lua pattern the value must match, and how to say it
--   required = true         the field must be given
--   key, value              maps: the rule for keys and for values
--   item                    lists: the rule for items
--   fields                  records: field name -> rule (any other name is an error)
--   shorthand = "field"     records: a plain string stands for { [field] = string }
--   items = rule            records: integer keys (list entries) are checked with this rule
--   lower = true            strings: compared and stored lower-cased (e-mail addresses)
local M = {}

-- Roles a member block may give. "admin" cannot be given through the API: declaring it asserts
-- that the user is an admin (plan shows "?" when not).
M.ORG_ROLES = { "user", "developer", "billing", "claude_code_user", "admin" }
M.WORKSPACE_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer",
  "workspace_admin", "workspace_billing" }
M.KEY_STATUSES = { "active", "inactive", "archived" }
-- The limiter types a workspace may set (the API's BetaWorkspaceRateLimitType).
M.RATE_LIMIT_TYPES = { "requests_per_minute", "input_tokens_per_minute", "input_tokens_per_minute_cache_aware",
  "output_tokens_per_minute", "tokens_per_minute", "tokens_per_day", "fast_itpmca", "fast_otpm",
  "tool_uses_per_second" }
-- What `prune` can switch on, one kind at a time.
M.PRUNE_KINDS = { "members", "invites", "workspaces", "workspace_members", "keys" }

-- Workspaces the API shows (or not) but that are never managed, by lower-cased name.
M.RESERVED_WORKSPACES = {
  default = "the default workspace is not an object of the Admin API and is never managed",
  ["default workspace"] = "the default workspace is not an object of the Admin API and is never managed",
  ["claude code"] = "the Claude Code workspace is managed by Anthropic (archiving it disables Claude Code) "
    .. "and is never touched",
}

local EMAIL = { type = "email", lower = true }

local KEY = {
  type = "record", shorthand = "status",
  fields = {
    id = { type = "string", pattern = "^apikey_[%w_-]+$", pattern_text = "an API key id (apikey_...)" },
    name = { type = "string", min = 1, max = 500, label = true },
    status = { type = "string", enum = M.KEY_STATUSES },
    max_age_days = { type = "integer", min = 1, max = 3650 },
    rotate = { type = "string", enum = { "deactivate" } },
    idle_days = { type = "integer", min = 1, max = 366 },
    on_idle = { type = "string", enum = { "deactivate" } },
  },
}

M.blocks = {
  organization = {
    once = true, named = false,
    doc = "pins the organization the file is for (checked against /v1/organizations/me)",
    fields = {
      id = { type = "string", min = 1 },
      name = { type = "string", min = 1 },
    },
  },
  workspace = {
    named = "workspace name", name_rule = { type = "string", min = 1, max = 40, label = true },
    fields = {
      id = { type = "string", pattern = "^wrkspc_[%w_-]+$", pattern_text = "a workspace id (wrkspc_...)" },
      display_color = { type = "string", pattern = "^#%x%x%x%x%x%x$", pattern_text = 'a color "#RRGGBB"' },
      tags = { type = "map", key = { type = "string", min = 1, not_prefix = "anthropic", label = true },
               value = { type = "string", allow_false = true, label = true } },
      members = { type = "map", key = EMAIL, value = { type = "string", enum = M.WORKSPACE_ROLES } },
      keys = { type = "map", key = { type = "string", min = 1, max = 500, label = true }, value = KEY, items = KEY },
      budget = {
        type = "record",
        fields = {
          monthly_usd = { type = "number", min = 0, required = true },
          warn_at = { type = "list", item = { type = "number", min = 0, max = 10 } },
          on_exceed = { type = "string", enum = { "warn", "deactivate_keys" } },
        },
      },
      -- group (a model, or batch, token_count, files, skills, web_search) -> limiter -> value
      rate_limits = { type = "map", key = { type = "string", min = 1, max = 200, label = true },
        value = { type = "map", key = { type = "string", enum = M.RATE_LIMIT_TYPES }, value = { type = "limit" } } },
      archived = { type = "boolean" },
      allow_recreate = { type = "boolean" },
    },
  },
  member = {
    named = "e-mail address", name_rule = EMAIL,
    fields = {
      role = { type = "string", enum = M.ORG_ROLES, required = true },
      -- the RBAC groups an invite puts them in (used when the invite is sent)
      rbac_group_ids = { type = "list", item = { type = "string", pattern = "^rbac_group_[%w_-]+$",
        pattern_text = "an RBAC group id (rbac_group_...)" } },
    },
  },
  prune = {
    once = true, named = false,
    fields = {},
  },
}
for _, kind in ipairs(M.PRUNE_KINDS) do M.blocks.prune.fields[kind] = { type = "boolean" } end

-- The order blocks are documented and exported in.
M.BLOCK_ORDER = { "organization", "member", "workspace", "prune" }

return M
