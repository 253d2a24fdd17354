-- Report helpers: exact decimal sums of cost reports, token sums of usage reports, grouping by
-- model / workspace / key / day; then the same against reports the emulator computed from the
-- Messages traffic this spec sent.
local anthropic = require "anthropic"
local decimal = require "anthropic.decimal"
local reports = anthropic.reports

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
