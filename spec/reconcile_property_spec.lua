-- Properties over randomly generated organizations and files (fixed seed, so every run checks the
-- same cases): applying a file converges and planning it again shows nothing to do; exporting an
-- organization and planning the export against it shows no action at all (not even "?"); a saved
-- plan, its own refusals dropped, is refused by exactly the rails that refuse the fresh plan.
local json = require "anthropic.json"
local reconcile = require "anthropic.reconcile"
local rh = require "helpers.reconcile"

local CASES = 30
local SEED = tonumber(os.getenv("RECONCILE_SEED") or "") or 20260801

-- A small deterministic generator (the same numbers on every Lua version).
local function generator(seed)
  local state = seed
  local g = {}
  function g.int(lo, hi)
    state = (state * 1103515245 + 12345) % 2147483648
    return lo + math.floor(state / 2147483648 * (hi - lo + 1))
  end
  function g.chance(p) return g.int(1, 1000) <= p * 1000 end
  function g.pick(list) return list[g.int(1, #list)] end
  function g.subset(list, p)
    local out = {}
    for _, x in ipairs(list) do
      if g.chance(p) then out[#out + 1] = x end
    end
    return out
  end
  return g
end

local ORG_ROLES = { "user", "developer", "billing", "claude_code_user" }
local WS_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer", "workspace_admin",
  "workspace_billing" }

-- A starting organization (a seed for the emulator) and what the generator knows of it.
local function organization(g)
  local users = { { email = "root@x.test", role = "admin" } }
  for i = 1, g.int(3, 7) do users[#users + 1] = { email = "u" .. i .. "@x.test", role = g.pick(ORG_ROLES) } end
  local invites = {}
  for i = 1, g.int(0, 3) do invites[i] = { email = "i" .. i .. "@x.test", role = g.pick(ORG_ROLES) } end
  local workspaces, keys = {}, {}
  for i = 1, g.int(1, 4) do
    local members = {}
    for j = 2, #users do
      if g.chance(0.4) then members[#members + 1] = { user_id = users[j].email, workspace_role = g.pick(WS_ROLES) } end
    end
    local w = { name = "ws-" .. i, members = members, key_names = {} }
    if g.chance(0.3) then w.tags = { team = g.pick { "a", "b" } } end
    workspaces[#workspaces + 1] = w
    for k = 1, g.int(0, 3) do
      local name = "k" .. k
      w.key_names[#w.key_names + 1] = name
      keys[#keys + 1] = { name = name, workspace_id = w.name, status = g.pick { "active", "active", "inactive" },
        created_at = "-" .. g.int(1, 200) .. "d" }
    end
  end
  if g.chance(0.3) then workspaces[#workspaces + 1] = { name = "old", archived_at = "-3d", key_names = {} } end
  keys[#keys + 1] = { name = "default-key" }
  local seed_workspaces = {}
  for i, w in ipairs(workspaces) do
    seed_workspaces[i] = { name = w.name, members = w.members, tags = w.tags, archived_at = w.archived_at }
  end
  return { users = users, invites = invites, workspaces = seed_workspaces, api_keys = keys }, workspaces
end

local function q(s) return string.format("%q", s) end

-- A random organization file for that organization.
local function file(g, seed, workspaces)
  local lines = {}
  local members = {}
  for _, u in ipairs(seed.users) do
    if u.role == "admin" then
      if g.chance(0.5) then lines[#lines + 1] = "member " .. q(u.email) .. " { role = \"admin\" }" end
      members[#members + 1] = u.email
    elseif g.chance(0.7) then
      lines[#lines + 1] = "member " .. q(u.email) .. " { role = " .. q(g.chance(0.6) and u.role or g.pick(ORG_ROLES))
        .. " }"
      members[#members + 1] = u.email
    elseif g.chance(0.5) then
      members[#members + 1] = u.email -- not declared, but a user: usable in workspaces
    end
  end
  for _, i in ipairs(seed.invites) do
    if g.chance(0.6) then
      lines[#lines + 1] = "member " .. q(i.email) .. " { role = " .. q(g.chance(0.6) and i.role or g.pick(ORG_ROLES))
        .. " }"
    end
  end
  for n = 1, g.int(0, 2) do
    lines[#lines + 1] = "member " .. q("n" .. n .. "@x.test") .. " { role = " .. q(g.pick(ORG_ROLES)) .. " }"
  end
  local names = {}
  for _, w in ipairs(workspaces) do
    if g.chance(0.75) then names[#names + 1] = w end
  end
  for n = 1, g.int(0, 2) do names[#names + 1] = { name = "new-" .. n, key_names = {} } end
  for _, w in ipairs(names) do
    local body = {}
    if w.archived_at then
      if g.chance(0.5) then body[#body + 1] = "allow_recreate = true" end
    elseif g.chance(0.15) and not w.name:find("^new") then
      body[#body + 1] = "archived = true"
    else
      if g.chance(0.5) then
        local gone = g.chance(0.3) and ", gone = false" or ""
        body[#body + 1] = "tags = { team = " .. q(g.pick { "a", "b", "c" }) .. gone .. " }"
      end
      if g.chance(0.7) then
        local m = {}
        for _, email in ipairs(g.subset(members, 0.4)) do
          m[#m + 1] = "[" .. q(email) .. "] = " .. q(g.pick(WS_ROLES))
        end
        body[#body + 1] = "members = { " .. table.concat(m, ", ") .. " }"
      end
      if g.chance(0.6) then
        local k = {}
        for _, name in ipairs(g.subset(w.key_names, 0.6)) do
          k[#k + 1] = "[" .. q(name) .. "] = " .. q(g.pick { "active", "inactive" })
        end
        body[#body + 1] = "keys = { " .. table.concat(k, ", ") .. " }"
      end
    end
    lines[#lines + 1] = "workspace " .. q(w.name) .. " { " .. table.concat(body, ", ") .. " }"
  end
  local prune = {}
  for _, kind in ipairs { "members", "invites", "workspaces", "workspace_members", "keys" } do
    if g.chance(0.35) then prune[#prune + 1] = kind .. " = true" end
  end
  lines[#lines + 1] = "prune { " .. table.concat(prune, ", ") .. " }"
  return table.concat(lines, "\n") .. "\n"
end

describe("reconcile properties", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)

  local ALLOW = { allow_archive = true, allow_mass_removal = true, allow_empty = true }

  local function export_plans_nothing(case)
    local admin = org:admin()
    local text = assert(reconcile.export(admin))
    admin:close()
    local plan = assert(org:plan(text), "case " .. case .. ": the export does not plan:\n" .. text)
    assert.equal(0, #plan.actions, "case " .. case .. ": planning the export shows actions:\n"
      .. reconcile.render.human(plan) .. "\n" .. text)
  end

  -- The rails a saved plan breaks when checked without flags, worked out from its actions alone.
  local function saved_rules(plan)
    local doc = assert(json.decode(reconcile.render.encode(reconcile.render.document(plan))))
    doc.refusals = nil
    local admin = org:admin()
    local ok, err = reconcile.check_saved(admin, doc)
    admin:close()
    if ok then return {} end
    local rules = {}
    for _, r in ipairs(plan.refusals) do
      if err.message:find(r.message, 1, true) then rules[#rules + 1] = r.rule end
    end
    assert(#rules == #plan.refusals and err.message:match("^the plan is refused: "), err.message)
    return rules
  end

  local function rules_of(plan)
    local out = {}
    for i, r in ipairs(plan.refusals) do out[i] = r.rule end
    return out
  end

  it(string.format("plan after apply is empty, and export round-trips (%d cases, seed %d)", CASES, SEED),
    function()
      local g = generator(SEED)
      local stats = { actions = 0, removals = 0, archives = 0, refused = 0 }
      for case = 1, CASES do
        org:reset()
        local seed, workspaces = organization(g)
        org.emu:seed(seed)
        export_plans_nothing(case .. " (before)")
        local text = file(g, seed, workspaces)
        local fresh = assert(org:plan(text))
        assert.same(rules_of(fresh), saved_rules(fresh), "case " .. case .. ": saved and fresh rails differ\n" .. text)
        stats.refused = stats.refused + (#fresh.refusals > 0 and 1 or 0)
        local result, err = org:apply(text, ALLOW)
        assert(result, "case " .. case .. ": " .. tostring(err) .. "\n" .. text)
        for _, f in ipairs(result.failed) do
          error("case " .. case .. ": " .. f.action.address .. " failed: " .. tostring(f.error) .. "\n" .. text)
        end
        assert.is_true(result.converged, "case " .. case .. " did not converge:\n" .. text .. "\n"
          .. reconcile.render.human(result.after))
        local again = assert(org:plan(text, ALLOW))
        assert.same({}, rh.changes(again), "case " .. case)
        stats.actions = stats.actions + result.plan.summary.changes
        stats.removals = stats.removals + result.plan.summary.remove
        stats.archives = stats.archives + result.plan.summary.archive
        export_plans_nothing(case .. " (after)")
      end
      -- the cases exercise real work, removals and archives included
      assert.is_true(stats.actions > CASES * 3, "actions: " .. stats.actions)
      assert.is_true(stats.removals > 5, "removals: " .. stats.removals)
      assert.is_true(stats.archives > 2, "archives: " .. stats.archives)
      assert.is_true(stats.refused > 3 and stats.refused < CASES, "refused: " .. stats.refused)
    end)
end)
