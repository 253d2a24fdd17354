--- Planning API keys: declared entries (matched by id, or by name within the workspace), rotation
-- and idle checks, budgets, prune. At most one action per key: when several rules want a status,
-- the strongest wins (PRIORITY).
local budget = require "anthropic.reconcile.budget"
local builder = require "anthropic.reconcile.builder"
local rotation = require "anthropic.reconcile.rotation"

local Builder = builder.Builder
local q, workspace_address, ws_ref = builder.q, builder.workspace_address, builder.ws_ref
local key_address, newest_first, usable = builder.key_address, builder.newest_first, builder.usable

-- Which rule decides a key's status when several want one.
local PRIORITY = { prune = 0, file = 1, idle = 2, rotation = 3, budget = 4, archive = 5 }

-- The live keys a key entry names (newest first), or an empty list after adding a "?" or a problem.
function Builder:key_family(w, m, entry, ws_keys)
  local address = workspace_address(w.name) .. " key " .. q(entry.label)
  local function manual(reason, id)
    self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address, id = id,
      reason = reason }
    return {}
  end
  if not m.live then
    return manual("API keys cannot be created through the API: once the workspace exists, create a key named "
      .. q(entry.name or entry.label) .. " in it in the Console")
  end
  if entry.id then
    local k = self.keys_by_id[entry.id]
    if not k then return manual("key " .. entry.id .. " does not exist") end
    if k.workspace_id ~= m.live.id then
      self:problem(string.format("%s:%d: workspace %s: keys: key %s is in workspace %s, not in this one",
        self.config.source, w.line, q(w.name), entry.id, tostring(k.workspace_id or "default")))
      return {}
    end
    if not usable(k) then
      return manual("key " .. k.id .. " is " .. k.status .. " (final); create a new key in the Console", k.id)
    end
    return { k }
  end
  local family, gone = {}, nil
  for _, k in ipairs(ws_keys) do
    if k.name == entry.name then
      if usable(k) then family[#family + 1] = k else gone = k end
    end
  end
  if #family == 0 then
    return manual("does not exist" .. (gone and (" (" .. gone.id .. " is " .. gone.status .. ")") or "")
      .. ": API keys cannot be created through the API; create a key named " .. q(entry.name) .. " in workspace "
      .. q(w.name) .. " in the Console")
  end
  if #family > 1 and not entry.max_age_days and not entry.idle_days then
    local ids = {}
    for i, k in ipairs(family) do ids[i] = k.id end
    self:problem(string.format("%s:%d: workspace %s: keys[%s]: ambiguous: %d keys have this name (%s); pin one "
      .. "with { id = \"apikey_...\" }, or give max_age_days to treat them as one rotating key", self.config.source,
      w.line, q(w.name), q(entry.name), #family, table.concat(ids, ", ")))
    return {}
  end
  return newest_first(family)
end

-- One action for key k when a rule wants another status for it, or the file another name.
function Builder:key_action(w, m, k, want, rename, set)
  local status_change = want and want.status ~= k.status and usable(k)
  if not status_change and not rename then return end
  local changes, after = {}, {}
  if rename then
    changes[#changes + 1] = { "name", k.name, rename }
    after.name = rename
  end
  if status_change then
    changes[#changes + 1] = { "status", k.status, want.status }
    after.status = want.status
  end
  local archive = status_change and want.status == "archived"
  local prune = want and want.prune and status_change
  self:add { wave = (archive or prune) and "removals" or "keys", symbol = archive and "!" or prune and "-" or "~",
    kind = "api_key", op = "update", address = key_address(w, k), id = k.id, workspace = ws_ref(w, m),
    before = { name = k.name, status = k.status }, after = after, changes = changes,
    irreversible = archive or nil, prune = prune or nil, set = prune and set or nil,
    adds_to = status_change and want.status == "active" and set or nil,
    reason = status_change and want.reason or "name in the file" }
end

-- Keys of one declared workspace (with keys or a budget).
function Builder:workspace_keys(w, m)
  local ws_keys = {}
  for _, k in ipairs(self.snap.keys) do
    if m.live and k.workspace_id == m.live.id then ws_keys[#ws_keys + 1] = k end
  end
  local wants, renames, matched = {}, {}, {}
  local function want(id, rule, status, reason)
    local p = PRIORITY[rule]
    if not wants[id] or wants[id].priority < p then
      wants[id] = { status = status, reason = reason, priority = p, prune = rule == "prune" }
    end
  end
  for _, entry in ipairs(w.keys or {}) do
    local family = self:key_family(w, m, entry, ws_keys)
    for _, k in ipairs(family) do matched[k.id] = true end
    local current = family[1]
    if current then
      if entry.status then
        want(current.id, entry.status == "archived" and "archive" or "file", entry.status, "status in the file")
      end
      if entry.id and entry.name and current.name ~= entry.name then renames[current.id] = entry.name end
      local checks, kwants = rotation.evaluate(entry, family, w.name, self.usage, self.now)
      for _, c in ipairs(checks) do self.checks[#self.checks + 1] = c end
      for id, t in pairs(kwants) do want(id, t.rule, t.status, t.reason) end
    end
  end
  if w.budget then
    local c = budget.check(w, m.live and m.live.id, self.costs or {}, self.now)
    self.checks[#self.checks + 1] = c
    if c.status == "exceeded" and w.budget.on_exceed == "deactivate_keys" then
      -- inactive keys too: while the budget is exceeded, no key of the workspace is turned on
      for _, k in ipairs(ws_keys) do
        if usable(k) then want(k.id, "budget", "inactive", c.reason) end
      end
    end
  end
  local active = 0
  for _, k in ipairs(ws_keys) do
    if k.status == "active" then active = active + 1 end
  end
  local set = self:set("active keys in workspace " .. q(w.name), active)
  table.sort(ws_keys, function(a, b)
    if a.name ~= b.name then return a.name < b.name end
    return a.id < b.id
  end)
  for _, k in ipairs(w.keys and ws_keys or {}) do
    if k.status == "active" and not matched[k.id] then
      if self.config.prune.keys then
        want(k.id, "prune", "inactive", "not in the file (prune keys: deactivated, not deleted)")
      elseif not wants[k.id] then
        self:add { wave = "keys", symbol = "?", kind = "api_key", op = "unmanaged", address = key_address(w, k),
          id = k.id, reason = "not in the file (unmanaged)" }
      end
    end
  end
  for _, k in ipairs(ws_keys) do self:key_action(w, m, k, wants[k.id], renames[k.id], set) end
end

function Builder:keys()
  for _, w in ipairs(self.config.workspaces) do
    local m = self.matches[w]
    if not w.archived and not m.blocked and (w.keys or w.budget) then self:workspace_keys(w, m) end
  end
end

return Builder
