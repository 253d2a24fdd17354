-- Report helpers: exact decimal sums of cost reports, token sums of usage reports, grouping by
-- model / workspace / key / day; then the same against reports the emulator computed from the
-- Messages traffic this spec sent, and examples/audit.lua.
local anthropic = require "anthropic"
local decimal = require "anthropic.decimal"
local reports = anthropic.reports
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local function bucket(day, results)
  return { starting_at = day .. "T00:00:00Z", ending_at = day .. "T23:59:59Z", results = results }
end

describe("decimal", function()
  local s = decimal.tostring

  it("adds exactly where floats drift", function()
    assert.equal("0.3", s(decimal.add("0.1", "0.2")))
    local total = "0"
    for _ = 1, 10000 do total = decimal.add(total, "0.1") end
    assert.equal("1000", s(total))
    local float = 0
    for _ = 1, 10000 do float = float + 0.1 end
    assert.is_not.equal(1000, float) -- what the helpers avoid
  end)

  it("handles signs, scales, carries across chunks and long values", function()
    assert.equal("-76.543211", s(decimal.add("123.456789", "-200")))
    assert.equal("0", s(decimal.add("-1.5", "1.50")))
    assert.equal("100000000000000000000000", s(decimal.add("99999999999999999999999.9999999", "0.0000001")))
    assert.equal("9999999999999999999999.9999999", s(decimal.add("10000000000000000000000", "-0.0000001")))
    assert.equal("123456789012345678901234567890.123456789",
      s(decimal.add("123456789012345678901234567890", "0.123456789")))
  end)

  it("parses strings, exponents and numbers; refuses the rest", function()
    assert.equal("0.001", s("1e-3"))
    assert.equal("150", s("1.5e2"))
    assert.equal("0.1", s(0.1))
    assert.equal("42", s(42))
    assert.equal("-0.5", s("-.5"))
    for _, bad in ipairs { "", "abc", "1-5", "1e", ".", "1.2.3", "--1", "0x10" } do
      assert.is_nil(decimal.parse(bad), bad)
    end
    assert.is_nil(decimal.parse(0 / 0))
    assert.is_nil(decimal.parse({}))
  end)

  it("rounds half away from zero and formats places", function()
    assert.equal("3", s("2.5", 0))
    assert.equal("-3", s("-2.5", 0))
    assert.equal("1.00", s("0.995", 2))
    assert.equal("10.00", s("9.995", 2))
    assert.equal("0.00", s("-0.004", 2))
    assert.equal("1.20", s("1.2", 2))
    assert.equal("1.20", s("1.2", nil, 2))
    assert.equal(0, decimal.compare("1.10", "1.1"))
    assert.equal(-1, decimal.compare("-3", "2"))
    assert.equal(1, decimal.compare("99999999999999999999.1", "99999999999999999999"))
  end)
end)

describe("reports (offline)", function()
  it("sums 10,000 cost rows of 0.1 cent exactly, and formats dollars exactly", function()
    local results = {}
    for i = 1, 10000 do
      results[i] = { amount = "0.1", currency = "USD", workspace_id = (i % 2 == 0) and "wrkspc_a" or nil,
        description = "Claude Opus 4.6 Usage - Input Tokens", model = "claude-opus-4-6" }
    end
    local data = { bucket("2026-08-01", results) }
    local total = reports.cost(data)
    assert.equal("1000", total.amount)
    assert.equal("10.00", total.dollars)
    assert.equal("USD", total.currency)
    assert.equal(10000, total.results)
    local by_ws = reports.cost(data, "workspace")
    assert.equal("500", by_ws.wrkspc_a.amount)
    assert.equal("500", by_ws.default.amount) -- null workspace = the default workspace
    assert.equal("5.00", by_ws.default.dollars)
  end)

  it("keeps every digit of adversarial amounts", function()
    local data = { bucket("2026-08-01", {
      { amount = "123.456789", currency = "USD" }, { amount = "0.000001", currency = "USD" },
      { amount = "99999999999.999999", currency = "USD" }, { amount = "-0.456790", currency = "USD" },
      { amount = "0.000001" },
    }) }
    local total = reports.cost(data)
    assert.equal("100000000123", total.amount)
    assert.equal("1000000001.23", total.dollars)
    assert.equal("1.23456789", reports.dollars("123.456789"))
    assert.equal("1.23", reports.dollars("123.456789", 2))
    assert.equal("0.05", reports.dollars("5"))
    assert.equal("0.00", reports.dollars("0"))
    assert.equal("-0.01", reports.dollars("-0.5", 2))
    assert.has_error(function() reports.dollars("1,23") end)
  end)

  it("groups cost by day, model and description", function()
    local data = { bucket("2026-08-01", { { amount = "1.5", model = "m1", description = "d1" },
                                          { amount = "2.25", model = "m2", description = "d2" } }),
                   bucket("2026-08-02", { { amount = "0.25", model = "m1", description = "d1" } }),
                   bucket("2026-08-03", {}) }
    local by_day = reports.cost(data, "day")
    assert.equal("3.75", by_day["2026-08-01"].amount)
    assert.equal("0.25", by_day["2026-08-02"].amount)
    assert.is_nil(by_day["2026-08-03"]) -- an empty bucket has nothing to sum
    assert.equal("1.75", reports.cost(data, "model").m1.amount)
    assert.equal("2.25", reports.cost({ data = data }, "description").d2.amount)
    local rows = reports.rows(reports.cost(data, "model"))
    assert.same({ "m1", "m2" }, { rows[1].key, rows[2].key })
  end)

  it("sums usage tokens by model, workspace, api key and day", function()
    local function r(model, ws, key, n)
      return { model = model, workspace_id = ws, api_key_id = key, uncached_input_tokens = n,
        cache_read_input_tokens = 1, cache_creation = { ephemeral_5m_input_tokens = 2, ephemeral_1h_input_tokens = 3 },
        output_tokens = 10 * n, server_tool_use = { web_search_requests = 1 } }
    end
    local data = { bucket("2026-08-01", { r("a", "w1", "k1", 5), r("b", nil, "k2", 7) }),
                   bucket("2026-08-02", { r("a", "w1", nil, 11) }) }
    local total = reports.usage(data)
    assert.equal(23, total.uncached_input_tokens)
    assert.equal(23 + 3 * 6, total.input_tokens)
    assert.equal(230, total.output_tokens)
    assert.equal(3, total.web_search_requests)
    assert.equal(3, total.results)
    assert.same(total, reports.usage(data, "total"))
    assert.equal(160, reports.usage(data, "model").a.output_tokens)
    assert.equal(70, reports.usage(data, "workspace").default.output_tokens)
    assert.equal(110, reports.usage(data, "api_key").none.output_tokens)
    assert.equal(120, reports.usage(data, "day")["2026-08-01"].output_tokens)
    assert.equal(3, reports.usage(data, "service_tier").none.results)
  end)

  it("refuses a dimension the report does not have, and the wrong report kind", function()
    local usage = { bucket("2026-08-01", { { model = "a", output_tokens = 1 } }) }
    local cost = { bucket("2026-08-01", { { amount = "1" } }) }
    assert.has_error(function() reports.cost(cost, "api_key") end)
    assert.has_error(function() reports.usage(usage, "modle") end)
    assert.has_error(function() reports.usage(cost) end, "reports.usage: this is a cost report; use reports.cost")
    assert.has_error(function() reports.cost(usage) end, "reports.cost: this is a usage report; use reports.usage")
    assert.has_error(function() reports.cost("x") end)
    assert.has_error(function() reports.cost({ bucket("2026-08-01", { { amount = "1", currency = "USD" },
      { amount = "1", currency = "EUR" } }) }) end)
  end)
end)

describe("reports against the emulator", function()
  local emu, admin_key, api_key, admin
  setup(function()
    admin_key = emulator.make_key("admin01")
    api_key = emulator.make_key("api03")
    emu = emulator.start { keys = { admin_key, api_key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    admin = anthropic.admin { api_key = admin_key, base_url = emu.url }
  end)
  after_each(function() admin:close() end)

  local function requests()
    return emu:log().requests
  end

  local function last_request()
    local r = requests()
    return r[#r]
  end

  local function by(list, field, value)
    for _, x in ipairs(list) do
      if x[field] == value then return x end
    end
  end

    local MODEL_A, MODEL_B = "claude-opus-4-6", "claude-sonnet-4-6"

    -- Sends Messages traffic: n requests with the env key (default workspace) on MODEL_A and with a
    -- Production key made as the Console would, on MODEL_B. -> expected sums, Production key id
    local function traffic(n)
      local made = emu:create_api_keys { workspace_id = "Production", name = "traffic" }
      local keys = { { key = api_key, model = MODEL_A }, { key = made.keys[1], model = MODEL_B } }
      local want = { total = { input = 0, output = 0 } }
      for _, k in ipairs(keys) do
        local c = anthropic.new { api_key = k.key, base_url = emu.url }
        want[k.model] = { input = 0, output = 0 }
        for i = 1, n do
          local msg = assert(c.messages:create { model = k.model, max_tokens = 64,
            messages = { { role = "user", content = string.rep("token ", i * 7) } } })
          for _, w in ipairs { want[k.model], want.total } do
            w.input = w.input + msg.usage.input_tokens
            w.output = w.output + msg.usage.output_tokens
          end
        end
        c:close()
      end
      return want, made.data[1]
    end

    it("usage:messages sums match the Messages traffic sent, by model, workspace, key and day", function()
      local want, prod_key = traffic(4)
      local pager = admin.usage:messages { starting_at = os.time() - 3600, bucket_width = "1h",
        group_by = { "model", "workspace_id", "api_key_id" } }
      local total = assert(admin.reports.usage(pager))
      assert.equal(want.total.input, total.input_tokens)
      assert.equal(want.total.input, total.uncached_input_tokens)
      assert.equal(want.total.output, total.output_tokens)
      local by_model = assert(admin.reports.usage(pager, "model"))
      for _, m in ipairs { MODEL_A, MODEL_B } do
        assert.equal(want[m].input, by_model[m].input_tokens)
        assert.equal(want[m].output, by_model[m].output_tokens)
      end
      local by_ws = assert(admin.reports.usage(pager, "workspace"))
      assert.equal(want[MODEL_A].output, by_ws.default.output_tokens)
      assert.equal(want[MODEL_B].output, by_ws[prod_key.workspace_id].output_tokens)
      local by_key = assert(admin.reports.usage(pager, "api_key"))
      assert.equal(want[MODEL_B].input, by_key[prod_key.id].input_tokens)
      local by_day = assert(admin.reports.usage(pager, "day"))
      local days = 0
      for _, d in pairs(by_day) do days = days + d.output_tokens end
      assert.equal(want.total.output, days)
      -- a filter narrows the report
      local only_b = assert(admin.reports.usage(admin.usage:messages { starting_at = os.time() - 3600,
        bucket_width = "1h", models = { MODEL_B } }))
      assert.equal(want[MODEL_B].output, only_b.output_tokens)
      assert.matches("models[]=" .. MODEL_B, last_request().query, 1, true)
    end)

    it("cost:report sums match the price table exactly (cents), by workspace and model", function()
      local want, prod_key = traffic(3)
      -- cents = tokens x USD per MTok x 100 / 10^6: Opus 4.6 5/25, Sonnet 4.6 3/15 (docs/emulator.md)
      local function cents(tokens, usd_per_mtok)
        return decimal.shift(tokens * usd_per_mtok, 4)
      end
      local a = decimal.add(cents(want[MODEL_A].input, 5), cents(want[MODEL_A].output, 25))
      local b = decimal.add(cents(want[MODEL_B].input, 3), cents(want[MODEL_B].output, 15))
      local pager = admin.cost:report { starting_at = os.time() - 86400,
        group_by = { "workspace_id", "description" } }
      local total = assert(admin.reports.cost(pager))
      assert.equal(decimal.tostring(decimal.add(a, b)), total.amount)
      assert.equal("USD", total.currency)
      local by_ws = assert(admin.reports.cost(pager, "workspace"))
      assert.equal(decimal.tostring(a), by_ws.default.amount)
      assert.equal(decimal.tostring(b), by_ws[prod_key.workspace_id].amount)
      local by_model = assert(admin.reports.cost(pager, "model"))
      assert.equal(decimal.tostring(b), by_model[MODEL_B].amount)
      assert.equal(admin.reports.dollars(decimal.tostring(a)), by_model[MODEL_A].dollars)
    end)

    it("exact cent totals over 60 days of fractional cents, across report pages", function()
      emu:clock { set = "2026-03-10T12:00:00Z" }
      local records = {}
      for day = 0, 59 do
        local t = 1767225600 + day * 86400 + 3600 -- 2026-01-01T01:00:00Z + day
        -- Haiku 4.5: 1000 input tokens = 0.1 cent, 333 output tokens = 0.1665 cent
        records[#records + 1] = { time = os.date("!%Y-%m-%dT%H:%M:%SZ", t), model = "claude-haiku-4-5",
          input_tokens = 1000, output_tokens = 333 }
      end
      emu:add_usage(records)
      emu:clear_log()
      local pager = admin.cost:report { starting_at = "2026-01-01T00:00:00Z", ending_at = "2026-03-02T00:00:00Z",
        limit = 31, group_by = { "description" } }
      local total = assert(admin.reports.cost(pager))
      assert.equal("15.99", total.amount) -- 60 x 0.2665
      assert.equal("0.1599", total.dollars)
      assert.equal(120, total.results)
      assert.equal(2, #requests()) -- 60 daily buckets over two pages of 31
      local by_day = assert(admin.reports.cost(pager, "day"))
      assert.equal("0.2665", by_day["2026-02-14"].amount)
      local usage = assert(admin.reports.usage(admin.usage:messages { starting_at = "2026-01-01T00:00:00Z",
        ending_at = "2026-03-02T00:00:00Z", limit = 31 }))
      assert.equal(60000, usage.input_tokens)
      assert.equal(60 * 333, usage.output_tokens)
    end)

    it("usage:claude_code for one UTC day, following next_page", function()
      emu:clear_log()
      local records = assert(admin.usage:claude_code({ starting_at = os.time() - 86400, limit = 1 }):all())
      assert.equal(2, #records)
      assert.equal(2, #requests())
      assert.equal("starting_at=" .. os.date("!%Y-%m-%d", os.time() - 86400) .. "&limit=1",
        requests()[1].query:gsub("^(limit=1)&(.*)$", "%2&%1"))
      local erin = assert(by(records, "customer_type", "api"))
      assert.is_table(erin.actor)
      assert.is_table(erin.core_metrics)
    end)

  it("examples/audit.lua: old active keys and a month's cost per workspace", function()
    emu:add_usage {
      { time = "2026-01-15T10:00:00Z", api_key_id = "prod-backend", model = "claude-haiku-4-5",
        input_tokens = 1000, output_tokens = 333 },
      { time = "2026-01-20T10:00:00Z", api_key_id = "default-scripts", model = "claude-haiku-4-5",
        input_tokens = 1000000, output_tokens = 0 },
      { time = "2026-02-01T00:00:00Z", api_key_id = "default-scripts", model = "claude-haiku-4-5",
        input_tokens = 5000000, output_tokens = 0 }, -- the next month: not counted
    }
    local dir = util.tmpdir()
    local out, err, code = util.run({ "lua5.4", "examples/audit.lua", "2026-01" },
      { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_API_KEY = false }, dir)
    util.rmdir(dir)
    assert.equal(0, code, err)
    util.assert_no_leak(out .. err, admin_key, "audit output")
    -- default-scripts (200 days) and prod-backend (120 days) are active and old; prod-batch is 20
    -- days old and staging-ci is inactive
    assert.matches("default%-scripts", out)
    assert.matches("prod%-backend", out)
    assert.is_nil(out:find("prod-batch", 1, true))
    assert.is_nil(out:find("staging-ci", 1, true))
    assert.matches("Cost per workspace, 2026%-01 %(UTC%):", out)
    -- Haiku 4.5: 1M input tokens = 100 cents; 1000 in + 333 out = 0.2665 cents
    assert.matches("\n  default%s+Default workspace%s+%$%s+1%.00\n", out)
    assert.matches("\n  wrkspc_%w+%s+Production%s+%$%s+0%.00\n", out)
    assert.matches("\n  total%s+%$%s+1%.00\n", out)
  end)
end)
