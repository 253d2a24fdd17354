--- Safety rails: what a plan must not do unless the operator says so.
--   * irreversible actions (archiving a workspace or a key) need allow_archive (--allow-archive);
--   * pruning more than 25% of a managed set of at least 4 objects needs allow_mass_removal
--     (--allow-mass-removal);
--   * pruning every object of a managed set, with nothing added to it, needs allow_empty
--     (--allow-empty).
-- Pruning itself is off unless the file's prune block switches it on, kind by kind (plan.lua).
-- check(plan, opts) -> list of refusals { rule, message, override }
local M = {}

M.MAX_REMOVAL_FRACTION = 0.25
M.MIN_SET_SIZE = 4

function M.check(plan, opts)
  opts = opts or {}
  local refusals = {}
  local irreversible = {}
  local removed, added = {}, {}
  for _, a in ipairs(plan.actions) do
    if a.irreversible then irreversible[#irreversible + 1] = a.address end
    if a.prune and a.set then removed[a.set] = (removed[a.set] or 0) + 1 end
    if a.adds_to then added[a.adds_to] = (added[a.adds_to] or 0) + 1 end
  end
  if #irreversible > 0 and not opts.allow_archive then
    refusals[#refusals + 1] = { rule = "archive", override = "--allow-archive",
      message = string.format("%d irreversible action%s (archive is final: %s); pass --allow-archive to allow",
        #irreversible, #irreversible == 1 and "" or "s", table.concat(irreversible, ", ")) }
  end
  local names = {}
  for name in pairs(removed) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local n, size = removed[name], plan.sets[name] or 0
    if n >= size and size > 0 and not added[name] and not opts.allow_empty then
      refusals[#refusals + 1] = { rule = "empty", override = "--allow-empty",
        message = string.format("pruning would remove all %d %s; pass --allow-empty to allow", size, name) }
    end
    if size >= M.MIN_SET_SIZE and n / size > M.MAX_REMOVAL_FRACTION and not opts.allow_mass_removal then
      refusals[#refusals + 1] = { rule = "mass_removal", override = "--allow-mass-removal",
        message = string.format("pruning would remove %d of %d %s (%d%%, more than %d%%); pass "
          .. "--allow-mass-removal to allow", n, size, name, math.floor(n / size * 100 + 0.5),
          math.floor(M.MAX_REMOVAL_FRACTION * 100)) }
    end
  end
  return refusals
end

return M
