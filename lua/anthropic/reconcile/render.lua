--- Showing a plan: the human text (grouped by wave, with a summary line), and the versioned JSON
-- document (`anthropic plan --json`, `--out plan.json`).
--   human(plan) -> text
--   document(plan) -> table; encode(document) -> JSON text (stable key order, two-space indent)
--   summary_line(summary) -> "Plan: 1 to add, 2 to change, 0 to remove, 0 to archive; ..."
local json = require "anthropic.json"
local names = require "anthropic.names"

local M = {}

local TITLES = { organization = "Organization", workspaces = "Workspaces", members = "Workspace members",
                 keys = "API keys", removals = "Removals (in reverse order)" }
-- Reasons that say nothing the line does not already say.
local PLAIN = { ["in the file"] = true, ["role in the file"] = true, ["status in the file"] = true,
                ["name in the file"] = true, ["not in the organization"] = true }

local function value(v)
  if v == nil then return "(none)" end
  if type(v) == "table" then return "{...}" end
  if type(v) == "string" and names.misleads(v) then return names.quote(v) end
  return tostring(v)
end

local function changes_text(changes)
  local out = {}
  for i, c in ipairs(changes or {}) do
    if c.field then -- a change from a saved plan (JSON)
      out[i] = string.format("%s %s -> %s", c.field, value(c.before), value(c.after))
    else
      out[i] = string.format("%s %s -> %s", c[1], value(c[2]), value(c[3]))
    end
  end
  return table.concat(out, ", ")
end

local function what(a)
  if a.symbol == "?" then return a.reason end
  local text
  if a.op == "create" and a.kind == "invite" then
    text = "invite as " .. a.after.role
  elseif a.op == "create" then
    text = "create"
    if a.after.tags then
      local tags = {}
      for k, v in pairs(a.after.tags) do tags[#tags + 1] = names.display(k) .. " = " .. names.display(v) end
      table.sort(tags)
      text = text .. " (tags " .. table.concat(tags, ", ") .. ")"
    end
  elseif a.op == "add" then
    text = "add as " .. a.after.workspace_role
  elseif a.op == "remove" and a.kind == "user" then
    text = "remove from the organization"
  elseif a.op == "remove" then
    text = "remove from the workspace"
  elseif a.op == "delete" then
    text = "withdraw the invite"
  elseif a.op == "archive" then
    text = "archive (final)"
  elseif a.kind == "workspace_rate_limit" then -- "400000 -> 200000", inherited values said so
    local function limit(v, org)
      if v == nil then return "inherit" .. (org and (" (" .. tostring(org) .. ")") or "") end
      return tostring(v)
    end
    local b, af = a.before or {}, a.after or {}
    text = limit(b.value, b.org_limit) .. " -> " .. limit(af.value, b.org_limit)
  else
    text = changes_text(a.changes)
  end
  if a.reason and not PLAIN[a.reason] then text = text .. "  [" .. a.reason .. "]" end
  return text
end

function M.summary_line(s)
  local line = string.format("Plan: %d to add, %d to change, %d to remove, %d to archive", s.add, s.change, s.remove,
    s.archive)
  local extra = {}
  if s.manual > 0 then extra[#extra + 1] = s.manual .. " not done by this tool" end
  if s.unmanaged > 0 then extra[#extra + 1] = s.unmanaged .. " unmanaged" end
  if #extra > 0 then line = line .. "; " .. table.concat(extra, ", ") end
  return line .. "."
end

--- The plan as text for people.
function M.human(plan)
  local out = {}
  local function say(s) out[#out + 1] = s end
  say(string.format("Organization %s (%s), file %s", names.quote(plan.organization.name),
    tostring(plan.organization.id), tostring(plan.source)))
  local wave
  for _, a in ipairs(plan.actions) do
    if a.wave ~= wave then
      wave = a.wave
      say("")
      say(TITLES[wave] or wave)
    end
    say(string.format("  %s %s: %s", a.symbol, a.address, what(a)))
  end
  if #plan.checks > 0 then
    say("")
    say("Checks")
    for _, c in ipairs(plan.checks) do say("  " .. c.text) end
  end
  if #plan.warnings > 0 then
    say("")
    say("Warnings")
    for _, w in ipairs(plan.warnings) do say("  " .. w) end
  end
  say("")
  if plan.summary.changes == 0 and #plan.actions == 0 then
    say("No changes: the organization matches " .. tostring(plan.source) .. ".")
  else
    say(M.summary_line(plan.summary))
  end
  for _, r in ipairs(plan.refusals or {}) do say("Refused: " .. r.message) end
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------------
-- JSON

local ARRAY = {}

local function array(t)
  return setmetatable(t or {}, ARRAY)
end

local ACTION_FIELDS = { "address", "wave", "symbol", "kind", "op", "id", "workspace", "email", "user_id", "before",
  "after", "reason", "irreversible", "executable", "prune", "needs" }

--- The versioned plan document.
function M.document(plan)
  local actions = array()
  for i, a in ipairs(plan.actions) do
    local d = {}
    for _, f in ipairs(ACTION_FIELDS) do d[f] = a[f] end
    d.irreversible = a.irreversible or false
    if a.changes then
      local cs = array()
      for j, c in ipairs(a.changes) do cs[j] = { field = c[1], before = c[2], after = c[3] } end
      d.changes = cs
    end
    actions[i] = d
  end
  local checks = array()
  for i, c in ipairs(plan.checks) do
    local d = {}
    for k, v in pairs(c) do d[k] = v end
    if d.thresholds_crossed then d.thresholds_crossed = array(d.thresholds_crossed) end
    checks[i] = d
  end
  local refusals = array()
  for i, r in ipairs(plan.refusals or {}) do refusals[i] = r end
  local members_of = array()
  for i, id in ipairs(plan.read and plan.read.members_of or {}) do members_of[i] = id end
  local warnings = array()
  for i, w in ipairs(plan.warnings) do warnings[i] = w end
  return {
    format_version = plan.format_version, organization = plan.organization, source = plan.source,
    created_at = plan.created_at, fingerprint = plan.fingerprint, read = { members_of = members_of },
    options = plan.options, summary = plan.summary, actions = actions, checks = checks, warnings = warnings,
    refusals = refusals,
  }
end

local function encode(v, indent)
  local t = type(v)
  if t ~= "table" then return assert(json.encode(v)) end
  local pad, inner = string.rep("  ", indent), string.rep("  ", indent + 1)
  if getmetatable(v) == ARRAY or (#v > 0 and next(v, #v) == nil) then
    if #v == 0 then return "[]" end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = inner .. encode(x, indent + 1) end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. pad .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  if #keys == 0 then return "{}" end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = inner .. assert(json.encode(k)) .. ": " .. encode(v[k], indent + 1) end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. pad .. "}"
end

--- JSON text of a document (or any plain value), with sorted keys.
function M.encode(doc)
  return encode(doc, 0) .. "\n"
end

return M
