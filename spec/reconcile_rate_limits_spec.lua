-- Workspace rate limits in the organization file: validation with file:line, the plan
-- (~ ... 400000 -> 200000, ? for overrides the file does not mention, inherit), apply and the
-- rerun that converges, a limit above the organization's refused before anything is applied,
-- export round trips, saved plans.
local reconcile = require "anthropic.reconcile"
local json = require "anthropic.json"
local rh = require "helpers.reconcile"

describe("reconcile workspace rate limits", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  -- The live overrides of a workspace: "group type|first model|limiter" -> value
  local function live(name)
    local admin = org:admin()
    local entries = assert(admin.workspaces:rate_limits(org:workspace(name).id):all())
    admin:close()
    local out = {}
    for _, e in ipairs(entries) do
      for _, l in ipairs(e.limits) do
        out[e.group.type .. "|" .. (e.models and e.models[1] or "-") .. "|" .. l.type] = l.value
      end
    end
    return out
  end

  local function set(name, model, t, v)
    local admin = org:admin()
    local g = assert(admin.rate_limits:list({ model = model }):all())[1]
    assert(admin.workspaces:update_rate_limits(org:workspace(name).id, g.id, { limits = { { type = t, value = v } } }))
    admin:close()
  end

  local FILE = [[
workspace "Production" {
  rate_limits = {
    ["claude-sonnet-4-6"] = { input_tokens_per_minute = 200000, requests_per_minute = 1000 },
    batch = { requests_per_minute = 100 },
  },
}
]]

  it("plans, applies and converges; the rerun plans nothing", function()
    set("Production", "claude-sonnet-4-6", "input_tokens_per_minute", 400000)
    local p = assert(org:plan(FILE))
    assert.same({
      '~ workspace "Production" rate limit "batch" requests_per_minute',
      '~ workspace "Production" rate limit "claude-sonnet-4-6" input_tokens_per_minute',
      '~ workspace "Production" rate limit "claude-sonnet-4-6" requests_per_minute',
    }, rh.changes(p))
    local text = reconcile.render.human(p)
    assert.matches('~ workspace "Production" rate limit "claude%-sonnet%-4%-6" input_tokens_per_minute: '
      .. "400000 %-> 200000\n", text)
    assert.matches('requests_per_minute: inherit %(4000%) %-> 1000\n', text)
    local result = assert(org:apply(FILE))
    assert.same({}, result.failed)
    assert.is_true(result.converged)
    assert.same({}, rh.changes(result.after))
    local l = live("Production")
    assert.equal(200000, l["model_group|claude-sonnet-4-5|input_tokens_per_minute"])
    assert.equal(1000, l["model_group|claude-sonnet-4-5|requests_per_minute"])
    assert.equal(100, l["batch|-|requests_per_minute"])
  end)

  it("shows overrides the file does not mention with ?, and leaves them", function()
    set("Production", "claude-opus-4-6", "output_tokens_per_minute", 1234)
    local p = assert(org:plan(FILE))
    assert.same({ '? workspace "Production" rate limit "claude-opus-4-5" output_tokens_per_minute' },
      (function()
        local out = {}
        for _, n in ipairs(rh.notes(p)) do
          if n:find("rate limit", 1, true) then out[#out + 1] = n end
        end
        return out
      end)())
    assert.matches("1234 %(organization 400000%); not in the file %(unmanaged%)",
      reconcile.render.human(p))
    assert(org:apply(FILE))
    assert.equal(1234, live("Production")["model_group|claude-opus-4-5|output_tokens_per_minute"])
  end)

  it("\"inherit\" clears an override, shown in the plan, and converges", function()
    set("Production", "claude-sonnet-4-6", "requests_per_minute", 500)
    local text = 'workspace "Production" { rate_limits = { ["claude-sonnet-4-6"] = '
      .. '{ requests_per_minute = "inherit" } } }'
    local p = assert(org:plan(text))
    assert.matches('requests_per_minute: 500 %-> inherit %(4000%)', reconcile.render.human(p))
    local result = assert(org:apply(text))
    assert.is_true(result.converged)
    assert.same({}, live("Production"))
    assert.equal(0, assert(org:plan(text)).summary.changes)
  end)

  it("refuses a limit above the organization's, an unknown group or limiter, before anything is applied", function()
    local admin = org:admin()
    for _, case in ipairs {
      { 'workspace "Production" {\n  rate_limits = { batch = { requests_per_minute = 999999 } },\n}',
        'org.lua:2: workspace "Production": rate_limits%["batch"%]%.requests_per_minute = 999999 is above the '
          .. "organization's limit %(4000%)" },
      { 'workspace "Production" {\n  rate_limits = {\n    ["gpt-4"] = { requests_per_minute = 1 },\n  },\n}',
        'org.lua:3: workspace "Production": rate_limits%["gpt%-4"%]: the organization has no rate%-limit group' },
      { 'workspace "Production" { rate_limits = { files = { tokens_per_day = 1 } } }',
        'rate_limits%["files"%]%.tokens_per_day: the group has no tokens_per_day limit '
          .. '%(it has requests_per_minute%)' },
    } do
      local result, err = reconcile.apply(admin, rh.config(case[1]), {})
      assert.is_nil(result)
      assert.matches(case[2], err.message)
    end
    admin:close()
    assert.same({}, live("Production")) -- nothing was applied
  end)

  it("validates the file with file:line: limiter names, negative and fractional values", function()
    for _, case in ipairs {
      { 'workspace "P" {\n  rate_limits = {\n    batch = { requests_per_hour = 1 },\n  },\n}', "org.lua:3:.*"
        .. 'rate_limits%["batch"%]%["requests_per_hour"%]: must be one of' },
      { 'workspace "P" {\n  rate_limits = { batch = { requests_per_minute = -1 } },\n}',
        "org.lua:2:.*must be at least 0" },
      { 'workspace "P" {\n  rate_limits = { batch = { requests_per_minute = 1.5 } },\n}',
        'org.lua:2:.*must be a whole number or "inherit"' },
      { 'workspace "P" {\n  rate_limits = { batch = { requests_per_minute = "lots" } },\n}',
        'org.lua:2:.*must be a whole number or "inherit"' },
      { 'workspace "P" {\n  rate_limits = { batch = 5 },\n}', "org.lua:2:.*must be a table" },
    } do
      local config, err = reconcile.load_string(case[1], "org.lua")
      assert.is_nil(config)
      assert.matches(case[2], tostring(err))
    end
  end)

  it("export writes the overrides, and the exported file plans no change", function()
    set("Production", "claude-sonnet-4-6", "input_tokens_per_minute", 300000)
    set("Production", "claude-opus-4-6", "requests_per_minute", 50)
    local admin = org:admin()
    local text = assert(reconcile.export(admin))
    admin:close()
    assert.matches('  rate_limits = {\n    %["claude%-opus%-4%-5"%] = { requests_per_minute = 50 },\n'
      .. '    %["claude%-sonnet%-4%-5"%] = { input_tokens_per_minute = 300000 },\n  },\n', text)
    local p = assert(org:plan(text))
    assert.equal(0, p.summary.changes)
    assert.same({}, rh.changes(p))
  end)

  it("a saved plan with rate-limit actions passes check_saved and is carried out", function()
    local p = assert(org:plan(FILE))
    local doc = json.decode(reconcile.render.encode(reconcile.render.document(p)))
    local admin = org:admin()
    assert(reconcile.check_saved(admin, doc, {}))
    local result = assert(reconcile.execute(admin, doc, {}))
    admin:close()
    assert.same({}, result.failed)
    assert.equal(100, live("Production")["batch|-|requests_per_minute"])
  end)

  it("a workspace created by the same plan gets its limits after it exists", function()
    local text = 'workspace "Research" { rate_limits = { batch = { requests_per_minute = 10 } } }'
    local p = assert(org:plan(text))
    assert.same({ '+ workspace "Research"', '~ workspace "Research" rate limit "batch" requests_per_minute' },
      rh.changes(p))
    local result = assert(org:apply(text))
    assert.same({}, result.failed)
    assert.is_true(result.converged)
    assert.equal(10, live("Research")["batch|-|requests_per_minute"])
  end)
end)
