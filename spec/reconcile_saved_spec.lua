-- Saved plans are untrusted: `apply PLAN.json` re-checks every safety rail on every action against
-- a new read, with the flags given now. An edited plan (its refusals dropped, an archive added, an
-- action's kind or op changed, more removals) is refused with a clear error unless the flags a
-- fresh plan would need are given; an action that does not fit the read, a summary that does not
-- match the actions, a plan for another organization are refused whatever the flags.
local json = require "anthropic.json"
local planner = require "anthropic.reconcile.plan"
local reconcile = require "anthropic.reconcile"
local rh = require "helpers.reconcile"
local util = require "helpers.util"

describe("reconcile saved plans", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  -- The plan of `text`, saved and read back as `anthropic apply PLAN.json` reads it.
  local function saved(text, opts)
    local plan = assert(org:plan(text, opts))
    return assert(json.decode(reconcile.render.encode(reconcile.render.document(plan))))
  end

  -- What a careful editor does after changing actions: a summary that matches them.
  local function resummarize(doc)
    doc.summary = planner.summarize(doc.actions)
    return doc
  end

  local function check(doc, opts)
    local admin = org:admin()
    local ok, err = reconcile.check_saved(admin, doc, opts)
    admin:close()
    return ok, err
  end

  local function apply(doc, opts)
    local admin = org:admin()
    local ok, err = reconcile.check_saved(admin, doc, opts)
    local result
    if ok then result, err = reconcile.execute(admin, doc, opts) end
    admin:close()
    return result, err
  end

  local function copy(t)
    return json.decode(json.encode(t))
  end

  -- The action with this address (key ids left out), or the first of this kind.op ("api_key.update").
  local function find(doc, address)
    for i, a in ipairs(doc.actions) do
      if rh.action({ actions = { a } }, address) or a.kind .. "." .. a.op == address then return a, i end
    end
    error("no action " .. address)
  end

  local ARCHIVE = 'workspace "Production"\nworkspace "Staging" { archived = true }'
  local NEED_ARCHIVE = 'the plan is refused: 1 irreversible action (archive is final: workspace "Staging"); '
    .. "pass --allow-archive to allow"

  it("a plan made with --allow-archive needs --allow-archive again to be applied", function()
    local doc = saved(ARCHIVE, { allow_archive = true })
    assert.is_true(doc.options.allow_archive)
    assert.same({}, doc.refusals)
    local _, err = check(doc)
    assert.equal(NEED_ARCHIVE, err.message)
    local result = assert(apply(doc, { allow_archive = true }))
    assert.same({}, result.failed)
    assert.is_nil(org:workspace("Staging"))
  end)

  it("a refused plan with its refusals dropped is still refused", function()
    local doc = saved(ARCHIVE)
    assert.equal("archive", doc.refusals[1].rule)
    local _, err = check(doc)
    assert.matches("^the plan was refused when it was made %(", err.message)
    doc.refusals = nil
    _, err = check(doc)
    assert.equal(NEED_ARCHIVE, err.message)
    doc.refusals = {}
    doc.options.allow_archive = true -- the flags the plan says it was made with do not count
    _, err = check(doc)
    assert.equal(NEED_ARCHIVE, err.message)
    assert.is_true(check(doc, { allow_archive = true }))
  end)

  it("an archive added to a plan, or one disguised as an update, needs --allow-archive", function()
    local archive = find(saved(ARCHIVE, { allow_archive = true }), 'workspace "Staging"')
    -- added to a plan with no irreversible action
    local doc = saved('workspace "Production" { tags = { team = "platform" } }')
    doc.actions[#doc.actions + 1] = copy(archive)
    resummarize(doc)
    local _, err = check(doc)
    assert.equal(NEED_ARCHIVE, err.message)
    assert.is_true(check(doc, { allow_archive = true }))
    -- its irreversible flag and symbol changed: the symbol must match what it does
    local disguised = copy(archive)
    disguised.irreversible, disguised.symbol, disguised.wave = false, "~", "workspaces"
    doc.actions[#doc.actions] = disguised
    resummarize(doc)
    _, err = check(doc, { allow_archive = true })
    assert.equal("the plan does not fit the organization it was made from: action " .. #doc.actions
      .. ' (workspace "Staging"): symbol ~ does not match workspace archive; it was edited or damaged: plan again',
      err.message)
  end)

  it("a changed action kind or op is checked for what it does now", function()
    -- a tag update turned into an archive of the same workspace
    local doc = saved('workspace "Staging" { tags = { team = "qa" } }')
    local a = find(doc, 'workspace "Staging"')
    assert.equal("update", a.op)
    a.op, a.symbol = "archive", "!"
    resummarize(doc)
    local _, err = check(doc)
    assert.equal(NEED_ARCHIVE, err.message)
    -- a key's status change turned into archiving the key
    doc = saved('workspace "Production" { keys = { ["prod-backend"] = "inactive" } }')
    a = find(doc, 'workspace "Production" key "prod-backend"')
    assert.equal("api_key", a.kind)
    a.after.status, a.symbol = "archived", "!"
    resummarize(doc)
    _, err = check(doc)
    assert.matches("^the plan is refused: 1 irreversible action %(archive is final: workspace \"Production\" key "
      .. "\"prod%-backend\"", err.message)
    -- an op the planner never makes for that kind
    a.kind, a.op = "workspace_member", "archive"
    resummarize(doc)
    _, err = check(doc, { allow_archive = true })
    assert.matches(": the planner makes no workspace_member archive action; it was edited", err.message)
    -- a "?" line made executable
    doc = saved('workspace "Production" { keys = { ["new-app"] = "active" } }')
    a = find(doc, 'workspace "Production" key "new-app"')
    assert.equal("manual", a.op)
    a.executable = true
    _, err = check(doc)
    assert.matches('only "%?" actions %(manual, unmanaged, waiting%) are not executable', err.message)
  end)

  -- eight non-admin users u1..u8@example.com, all members of workspace "Big"
  local function big_org()
    local users, members = {}, {}
    for i = 1, 8 do
      users[i] = { email = "u" .. i .. "@example.com", role = "user" }
      members[i] = { user_id = users[i].email, workspace_role = "workspace_user" }
    end
    users[9] = { email = "root@example.com", role = "admin" }
    org.emu:seed { users = users, workspaces = { { name = "Big", members = members } } }
  end

  local function declare(n, extra)
    local lines = {}
    for i = 1, n do lines[#lines + 1] = string.format('member "u%d@example.com" { role = "user" }', i) end
    lines[#lines + 1] = extra or ""
    return table.concat(lines, "\n")
  end

  it("more removals than the plan had break the mass-removal rail", function()
    big_org()
    local doc = saved(declare(6, "prune { members = true }")) -- 2 of 8: allowed
    assert.same({}, doc.refusals)
    assert.is_true(check(doc))
    -- a third removal, with the summary raised to match
    local extra = copy(find(doc, 'member "u7@example.com"'))
    extra.id, extra.email, extra.address = org:user("u6@example.com").id, "u6@example.com", 'member "u6@example.com"'
    extra.before.email = "u6@example.com"
    doc.actions[#doc.actions + 1] = extra
    local _, err = check(doc)
    assert.matches("^the plan's summary does not match its actions %(", err.message)
    resummarize(doc)
    _, err = check(doc)
    assert.equal("the plan is refused: pruning would remove 3 of 8 organization members (38%, more than 25%); pass "
      .. "--allow-mass-removal to allow", err.message)
    -- removing a user counts as pruning even when the plan says it is not
    extra.prune = nil
    _, err = check(doc)
    assert.matches("3 of 8 organization members", err.message)
    local result = assert(apply(doc, { allow_mass_removal = true }))
    assert.equal(3, #result.done)
    assert.equal(6, #org:users())
  end)

  it("removing every member of a workspace breaks the empty rail", function()
    local doc = saved('workspace "Production" { members = { ["bob@example.com"] = "workspace_developer" } }\n'
      .. "prune { workspace_members = true }")
    assert.is_true(check(doc))
    local carol = find(doc, 'workspace "Production" member "carol@example.com"')
    local bob = copy(carol)
    bob.user_id, bob.email, bob.address = org:user("bob@example.com").id, "bob@example.com",
      'workspace "Production" member "bob@example.com"'
    bob.before.workspace_role = "workspace_developer"
    doc.actions[#doc.actions + 1] = bob
    resummarize(doc)
    local _, err = check(doc)
    assert.equal('the plan is refused: pruning would remove all 2 members of workspace "Production"; pass '
      .. "--allow-empty to allow", err.message)
    assert.is_true(check(doc, { allow_empty = true }))
  end)

  it("an action aimed at what is never touched, or not as the read has it, is refused whatever the flags", function()
    local ALL = { allow_archive = true, allow_mass_removal = true, allow_empty = true }
    local base = saved('member "bob@example.com" { role = "user" }')
    local _, bob = find(base, 'member "bob@example.com"')
    local cases = {
      { "removing an admin", function(a)
          a.op, a.symbol, a.id = "remove", "-", org:user("ada@example.com").id
        end, "ada@example.com is an organization admin, never changed" },
      { "another user than the plan read", function(a) a.id = "user_nobody" end,
        "user user_nobody is not in the organization" },
      { "a before value the read does not have", function(a) a.before.role = "billing" end,
        'before.role is "billing", but the organization has "developer"' },
      { "a role the API cannot give", function(a) a.after.role = "admin" end,
        "after.role: not a role the API can give" },
    }
    for _, case in ipairs(cases) do
      local doc = copy(base)
      assert.equal("user", doc.actions[bob].kind)
      case[2](doc.actions[bob])
      resummarize(doc)
      local _, err = check(doc, ALL)
      assert.matches(case[3], err.message, 1, true)
      assert.matches("^the plan does not fit the organization it was made from: action " .. bob .. " ", err.message)
    end
    -- the Claude Code workspace
    org.emu:seed { merge = true, workspaces = { { name = "Claude Code" } } }
    local doc = saved(ARCHIVE, { allow_archive = true })
    find(doc, 'workspace "Staging"').id = org:workspace("Claude Code").id
    local _, err = check(doc, ALL)
    assert.matches("the Claude Code workspace is never touched", err.message, 1, true)
  end)

  it("a plan without its organization, or with its fields mangled, is not a plan", function()
    local doc = saved(ARCHIVE, { allow_archive = true })
    local mangled = {
      { "organization", function(d) d.organization = nil end },
      { "fingerprint", function(d) d.fingerprint = nil end },
      { "summary", function(d) d.summary = "none" end },
      { "checks", function(d) d.checks = nil end },
      { "action 1 lacks", function(d) d.actions[1].executable = "yes" end },
      { "after is not an object", function(d) d.actions[1].after = "archived" end },
    }
    for _, m in ipairs(mangled) do
      local d = copy(doc)
      m[2](d)
      local _, err = check(d, { allow_archive = true })
      assert.matches("^not a plan file: .*" .. m[1], err.message)
    end
  end)

  it("execute carries out a decoded plan only once check_saved passed", function()
    local doc = saved(ARCHIVE, { allow_archive = true })
    local admin = org:admin()
    local result, err = reconcile.execute(admin, doc, { allow_archive = true })
    assert.is_nil(result)
    assert.matches("only after reconcile%.check_saved", err.message)
    assert(reconcile.check_saved(admin, doc, { allow_archive = true }))
    assert(reconcile.execute(admin, doc))
    admin:close()
    assert.is_nil(org:workspace("Staging"))
  end)

  it("anthropic apply PLAN.json takes the safety flags of now", function()
    local path = org:file("org.lua", ARCHIVE)
    local plan_path = org:dir() .. "/plan.json"
    local _, _, code = org:cli { "plan", path, "--out", plan_path, "--allow-archive" }
    assert.equal(2, code)
    local out, err
    out, err, code = org:cli { "apply", plan_path, "--yes" }
    util.assert_no_leak(out .. err, org.admin_key, "apply")
    assert.equal(1, code)
    assert.equal("anthropic apply: " .. NEED_ARCHIVE .. "\n", err)
    assert.truthy(org:workspace("Staging"))
    -- an edited file: the refusals of a refused plan dropped
    _, _, code = org:cli { "plan", path, "--out", plan_path }
    assert.equal(1, code)
    local doc = assert(json.decode(util.read(plan_path)))
    doc.refusals = nil
    util.write(plan_path, assert(json.encode(doc)), "600")
    _, err, code = org:cli { "apply", plan_path, "--yes" }
    assert.equal(1, code)
    assert.equal("anthropic apply: " .. NEED_ARCHIVE .. "\n", err)
    out, _, code = org:cli { "apply", plan_path, "--yes", "--allow-archive" }
    assert.equal(0, code)
    assert.matches("Applied: 1 done, 0 failed, 0 skipped%.\n$", out)
    assert.is_nil(org:workspace("Staging"))
  end)
end)
