--- Planning API keys: declared entries (matched by id, or by name within the workspace), rotation
-- and idle checks, budgets, prune. At most one action per key: when several rules want a status,
-- the strongest wins (archived in the file, budget, rotation, idle, the file's status).
local budget = require "anthropic.reconcile.budget"
local builder = require "anthropic.reconcile.builder"
local rotation = require "anthropic.reconcile.rotation"

local Builder = builder.Builder
local q, workspace_address, ws_ref = builder.q, builder.workspace_address, builder.ws_ref
local key_address, newest_first, usable = builder.key_address, builder.newest_first, builder.usable

-- Keys: declared entries, rotation and idle checks, budgets, prune. One action per key at most.
function Builder:keys()
  local config = self.config
  for _, w in ipairs(config.workspaces) do
    local m = self.matches[w]
    if not w.archived and not m.blocked and (w.keys or w.budget) then
      local ws_keys = {}
      for _, k in ipairs(self.snap.keys) do
        if m.live and k.workspace_id == m.live.id then ws_keys[#ws_keys + 1] = k end
      end
      local wants, renames, matched = {}, {}, {}
      local function want(id, t)
        if not wants[id] or wants[id].priority < t.priority then wants[id] = t end
      end
      for _, entry in ipairs(w.keys or {}) do
        local address = workspace_address(w.name) .. " key " .. q(entry.label)
        local family = {}
        if not m.live then
          self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
            reason = "API keys cannot be created through the API: once the workspace exists, create a key named "
              .. q(entry.name or entry.label) .. " in it in the Console" }
        elseif entry.id then
          local k = self.keys_by_id[entry.id]
          if not k then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
              reason = "key " .. entry.id .. " does not exist" }
          elseif k.workspace_id ~= m.live.id then
            self:problem(string.format("%s:%d: workspace %s: keys: key %s is in workspace %s, not in this one",
              config.source, w.line, q(w.name), entry.id, tostring(k.workspace_id or "default")))
          elseif not usable(k) then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address, id = k.id,
              reason = "key " .. k.id .. " is " .. k.status .. " (final); create a new key in the Console" }
          else
            family = { k }
          end
        else
          local gone
          for _, k in ipairs(ws_keys) do
            if k.name == entry.name then
              if usable(k) then family[#family + 1] = k else gone = k end
            end
          end
          newest_first(family)
          if #family == 0 then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
              reason = "does not exist" .. (gone and (" (" .. gone.id .. " is " .. gone.status .. ")") or "")
                .. ": API keys cannot be created through the API; create a key named " .. q(entry.name)
                .. " in workspace " .. q(w.name) .. " in the Console" }
          elseif #family > 1 and not entry.max_age_days and not entry.idle_days then
            local ids = {}
            for i, k in ipairs(family) do ids[i] = k.id end
            self:problem(string.format("%s:%d: workspace %s: keys[%s]: ambiguous: %d keys have this name (%s); "
              .. "pin one with { id = \"apikey_...\" }, or give max_age_days to treat them as one rotating key",
              config.source, w.line, q(w.name), q(entry.name), #family, table.concat(ids, ", ")))
            family = {}
          end
        end
        for _, k in ipairs(family) do matched[k.id] = true end
        local current = family[1]
        if current then
          if entry.status then
            want(current.id, { status = entry.status, priority = entry.status == "archived" and 5 or 1,
              reason = "status in the file" })
          end
          if entry.id and entry.name and current.name ~= entry.name then renames[current.id] = entry.name end
          local checks, kwants = rotation.evaluate(entry, family, w.name, self.usage, self.now)
          for _, c in ipairs(checks) do self.checks[#self.checks + 1] = c end
          for id, t in pairs(kwants) do want(id, t) end
        end
      end
      if w.budget then
        local c = budget.check(w, m.live and m.live.id, self.costs or {}, self.now)
        self.checks[#self.checks + 1] = c
        if c.status == "exceeded" and w.budget.on_exceed == "deactivate_keys" then
          -- inactive keys too: while the budget is exceeded, no key of the workspace is turned on
          for _, k in ipairs(ws_keys) do
            if usable(k) then want(k.id, { status = "inactive", priority = 4, reason = c.reason }) end
          end
        end
      end
      local active = 0
      for _, k in ipairs(ws_keys) do
        if k.status == "active" then active = active + 1 end
      end
      local set = self:set("active keys in workspace " .. q(w.name), active)
      if w.keys then
        for _, k in ipairs(newest_first(ws_keys)) do
          if k.status == "active" and not matched[k.id] then
            if config.prune.keys then
              want(k.id, { status = "inactive", priority = 0, prune = true,
                reason = "not in the file (prune keys: deactivated, not deleted)" })
            elseif not wants[k.id] then
              self:add { wave = "keys", symbol = "?", kind = "api_key", op = "unmanaged",
                address = key_address(w, k), id = k.id,
                reason = "not in the file (unmanaged)" }
            end
          end
        end
      end
      table.sort(ws_keys, function(a, b)
        if a.name ~= b.name then return a.name < b.name end
        return a.id < b.id
      end)
      for _, k in ipairs(ws_keys) do
        local t, rename = wants[k.id], renames[k.id]
        local status_change = t and t.status ~= k.status and usable(k)
        if status_change or rename then
          local changes, before, after = {}, { name = k.name, status = k.status }, {}
          if rename then
            changes[#changes + 1] = { "name", k.name, rename }
            after.name = rename
          end
          if status_change then
            changes[#changes + 1] = { "status", k.status, t.status }
            after.status = t.status
          end
          local archive = status_change and t.status == "archived"
          self:add { wave = (archive or (t and t.prune)) and "removals" or "keys",
            symbol = archive and "!" or (t and t.prune and status_change and "-") or "~",
            kind = "api_key", op = "update", address = key_address(w, k),
            id = k.id, workspace = ws_ref(w, m), before = before, after = after, changes = changes,
            irreversible = archive or nil, prune = t and t.prune or nil, set = t and t.prune and set or nil,
            adds_to = status_change and t.status == "active" and set or nil,
            reason = status_change and t.reason or "name in the file" }
        end
      end
    end
  end
end


return Builder
