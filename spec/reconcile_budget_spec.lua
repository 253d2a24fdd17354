-- Budgets and key rotation from what the emulator served: keys created as the Console would,
-- Messages sent with them, history injected; month-to-date spend in exact cents, percent, the
-- linear projection, deactivation when a budget is exceeded (and reactivation next month);
-- rotation with max_age_days and a newer key; idle keys from the usage report.
local anthropic = require "anthropic"
local decimal = require "anthropic.decimal"
local reports = require "anthropic.reports"
local rh = require "helpers.reconcile"

local MODEL = "claude-opus-4-6" -- $5 / $25 per million tokens
local NOW = "2030-01-15T12:00:00Z" -- 14.5 days into a 31-day month

describe("reconcile budgets and rotation", function()
  local org, now
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function()
    org:reset()
    now = org.emu:clock({ set = NOW }).unix
  end)

  local function plan(text, opts)
    opts = opts or {}
    opts.now = now
    return assert(org:plan(text, opts))
  end

  local function apply(text)
    local result = assert(org:apply(text, { now = now }))
    assert.same({}, result.failed)
    assert.is_true(result.converged, "left to do: " .. table.concat(rh.changes(result.after), "; "))
    return result
  end

  -- Sends n Messages with secret; -> input tokens, output tokens
  local function send(secret, n)
    local client = anthropic.new { api_key = secret, base_url = org.emu.url, max_retries = 0 }
    local input, output = 0, 0
    for i = 1, n do
      local msg = assert(client.messages:create { model = MODEL, max_tokens = 4096,
        messages = { { role = "user", content = string.rep("spend ", 500) .. i } } })
      input, output = input + msg.usage.input_tokens, output + msg.usage.output_tokens
    end
    client:close()
    return input, output
  end

  -- exact cents of tokens at MODEL's prices
  local function cents(input, output)
    return decimal.tostring(decimal.shift(input * 5 + output * 25, 4))
  end

  local function check(p, kind, workspace)
    for _, c in ipairs(p.checks) do
      if c.kind == kind and c.workspace == workspace then return c end
    end
  end

  describe("budgets", function()
    local prod, staging
    before_each(function()
      prod = org.emu:create_api_keys { name = "prod-app", workspace_id = "Production", count = 2 }
      staging = org.emu:create_api_keys { name = "staging-app", workspace_id = "Staging" }
    end)

    it("computes month-to-date spend exactly, with percent and projection, and deactivates keys", function()
      local in1, out1 = send(prod.keys[1], 3)
      local in2, out2 = send(prod.keys[2], 2)
      local in3, out3 = send(staging.keys[1], 1)
      org.emu:add_usage {
        { time = "2030-01-03T10:00:00Z", api_key_id = prod.data[1].id, model = MODEL, input_tokens = 10001,
          output_tokens = 20003 },
        { time = "2029-12-31T23:59:59Z", api_key_id = prod.data[1].id, model = MODEL, input_tokens = 999999,
          output_tokens = 999999 }, -- last month: not counted
      }
      local prod_cents = decimal.tostring(decimal.add(cents(in1 + in2, out1 + out2), cents(10001, 20003)))
      local staging_cents = cents(in3, out3)
      local prod_n, staging_n = tonumber(prod_cents), tonumber(staging_cents)
      assert.is_true(prod_n > 0 and staging_n > 0)
      -- Production spent about 111% of its budget, Staging about 85% of its budget
      local prod_budget = string.format("%.2f", math.floor(prod_n * 0.9) / 100)
      local staging_budget = string.format("%.6f", staging_n / 0.85 / 100)
      local text = string.format([[
workspace "Production" {
  keys = { ["prod-app-1"] = "active", ["prod-app-2"] = "active" },
  budget = { monthly_usd = %s, on_exceed = "deactivate_keys" },
}
workspace "Staging" { budget = { monthly_usd = %s, warn_at = { 0.5, 0.8, 1 } } }
]], prod_budget, staging_budget)
      local p = plan(text)

      local c = check(p, "budget", "Production")
      assert.equal(prod_cents, c.spent_cents)
      assert.equal(reports.dollars(prod_cents, 2), c.spent_usd)
      assert.equal("exceeded", c.status)
      assert.equal(tonumber(string.format("%.1f", prod_n / (tonumber(prod_budget) * 100) * 100)), c.percent)
      assert.equal(reports.dollars(string.format("%.0f", prod_n * 31 / 14.5), 2), c.projected_usd)
      assert.is_true(c.projected_over)
      assert.equal("2030-01", c.month)

      local s = check(p, "budget", "Staging")
      assert.equal(staging_cents, s.spent_cents)
      assert.equal("warning", s.status)
      assert.same({ 0.5, 0.8 }, s.thresholds_crossed)

      -- every active key of Production is deactivated, with the budget as the reason
      local changes = rh.changes(p)
      table.sort(changes)
      assert.same({
        '~ workspace "Production" key "prod-app-1"', '~ workspace "Production" key "prod-app-2"',
        '~ workspace "Production" key "prod-backend"', '~ workspace "Production" key "prod-batch"',
      }, changes)
      for _, a in ipairs(p.actions) do
        if a.executable then
          assert.same({ { "status", "active", "inactive" } }, a.changes)
          assert.matches('^budget "Production": %d+%.%d%% of %$' .. prod_budget:gsub("%.", "%%.") .. " this month$",
            a.reason)
        end
      end
      apply(text)
      local client = anthropic.new { api_key = prod.keys[1], base_url = org.emu.url, max_retries = 0 }
      local msg, err = client.messages:create { model = MODEL, max_tokens = 10,
        messages = { { role = "user", content = "hi" } } }
      client:close()
      assert.is_nil(msg)
      assert.equal(401, err.status) -- the key is off
      assert.equal("active", org:key("staging-app").status)

      -- next month the spend starts again: the keys the file declares active come back
      now = org.emu:clock({ set = "2030-02-01T00:10:00Z" }).unix
      p = plan(text)
      assert.equal("0", check(p, "budget", "Production").spent_cents)
      assert.equal("ok", check(p, "budget", "Production").status)
      assert.same({ '~ workspace "Production" key "prod-app-1"', '~ workspace "Production" key "prod-app-2"' },
        rh.changes(p))
      apply(text)
      assert.equal("active", org:key("prod-app-1").status)
      assert.equal("inactive", org:key("prod-backend").status) -- not declared: left as the budget set it
    end)

    it("only warns when on_exceed is not deactivate_keys, and shows the check for a workspace to be created", function()
      send(prod.keys[1], 1)
      local p = plan('workspace "Production" { budget = { monthly_usd = 0.001 } }\n'
        .. 'workspace "New" { budget = { monthly_usd = 10 } }')
      assert.same({ '+ workspace "New"' }, rh.changes(p))
      assert.equal("exceeded", check(p, "budget", "Production").status)
      local n = check(p, "budget", "New")
      assert.equal("0", n.spent_cents)
      assert.equal("ok", n.status)
      assert.matches('budget "Production": %$[%d.]+ of %$0%.00 this month %(%d+', check(p, "budget", "Production").text)
    end)

    it("reads the cost analytics API only when the file has budgets, and aborts when it cannot", function()
      org.emu:faults { { path = "/v1/organizations/analytics/cost", status = 403 } }
      assert.truthy(org:plan('workspace "Production"', { now = now }))
      local p, err = org:plan('workspace "Production" { budget = { monthly_usd = 5 } }', { now = now })
      assert.is_nil(p)
      assert.matches("^reading the cost analytics API", err.message)
    end)
  end)

  describe("rotation", function()
    before_each(function()
      org.emu:seed { merge = true, api_keys = {
        { name = "svc", workspace_id = "Production", created_at = "-200d" },
        { name = "svc", workspace_id = "Production", created_at = "-10d" },
        { name = "lonely", workspace_id = "Production", created_at = "-120d" },
        { name = "soon", workspace_id = "Production", created_at = "-80d" },
        { name = "spare", workspace_id = "Production", created_at = "-300d" },
        { name = "spare", workspace_id = "Production", created_at = "-5d", status = "inactive" },
      } }
    end)

    local function ids(name)
      local out = {}
      for _, k in ipairs(org:keys()) do
        if k.name == name then out[#out + 1] = k end
      end
      table.sort(out, function(a, b) return a.created_at < b.created_at end)
      return out
    end

    it("flags keys past max_age_days and deactivates one only when a newer active key has its name", function()
      local text = [[
workspace "Production" {
  keys = {
    svc = { max_age_days = 90, rotate = "deactivate" },
    lonely = { max_age_days = 90, rotate = "deactivate" },
    soon = { max_age_days = 90 },
    spare = { max_age_days = 90, rotate = "deactivate" },
  },
}
]]
      local p = plan(text)
      local old, new = ids("svc")[1], ids("svc")[2]
      assert.same({ '~ workspace "Production" key "svc"' }, rh.changes(p))
      local a = rh.action(p, 'workspace "Production" key "svc"')
      assert.equal(old.id, a.id)
      assert.equal("rotation: 110 days past max_age_days 90; newer key " .. new.id .. " is active", a.reason)
      local by_key = {}
      for _, c in ipairs(p.checks) do by_key[c.key_id] = c end
      assert.equal(110, by_key[old.id].overdue_days)
      assert.equal(new.id, by_key[old.id].newer_active_key)
      local lonely = by_key[ids("lonely")[1].id]
      assert.equal("overdue", lonely.status)
      assert.equal(30, lonely.overdue_days)
      assert.matches('create a new key named "lonely" in the Console', lonely.text)
      assert.equal("due_soon", by_key[ids("soon")[1].id].status)
      assert.matches("due in 10 days", by_key[ids("soon")[1].id].text)
      assert.equal("overdue", by_key[ids("spare")[1].id].status) -- its newer key is inactive: kept
      assert.is_nil(by_key[new.id])
      apply(text)
      assert.equal("inactive", ids("svc")[1].status)
      assert.equal("active", ids("svc")[2].status)
      assert.equal("active", ids("spare")[1].status)
    end)

    it("only flags without rotate", function()
      local p = plan('workspace "Production" { keys = { svc = { max_age_days = 90 } } }')
      assert.same({}, rh.changes(p))
      assert.equal(1, #p.checks)
    end)

    it("finds idle keys from the usage report, and deactivates them when asked", function()
      local busy = org.emu:create_api_keys { name = "busy", workspace_id = "Production", created_at = "-60d" }
      org.emu:create_api_keys { name = "idle", workspace_id = "Production", created_at = "-60d" }
      org.emu:create_api_keys { name = "fresh", workspace_id = "Production", created_at = "-5d" }
      send(busy.keys[1], 1)
      local text = [[
workspace "Production" {
  keys = {
    busy = { idle_days = 30, on_idle = "deactivate" },
    idle = { idle_days = 30, on_idle = "deactivate" },
    fresh = { idle_days = 30, on_idle = "deactivate" },
  },
}
]]
      local p = plan(text)
      assert.same({ '~ workspace "Production" key "idle"' }, rh.changes(p))
      assert.equal("idle: no usage in the last 30 days", rh.action(p, 'workspace "Production" key "idle"').reason)
      assert.equal(1, #p.checks)
      assert.equal("idle", p.checks[1].kind)
      apply(text)
      assert.equal("inactive", org:key("idle").status)
      assert.equal("active", org:key("busy").status)
    end)
  end)
end)
