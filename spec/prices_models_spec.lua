-- The library's model tables against the emulator's model list (the SDK's, 1.16.0): every model
-- has a price (anthropic.prices, from shared/reference/pricing-and-limits.md) or is named as
-- unpriced with the reason, and the deprecated and retired ones are in anthropic.deprecations
-- with the emulator's dates and replacements.
local prices = require "anthropic.prices"
local deprecations = require "anthropic.deprecations"
local models = require "anthropic.emulator.models"

local function names(m)
  local t = { m.id }
  for _, a in ipairs(m.aliases or {}) do t[#t + 1] = a end
  return t
end

describe("model tables", function()
  it("price every model the emulator lists, by id and alias, or name it unpriced with a reason", function()
    for _, m in ipairs(models.SEED) do
      for _, id in ipairs(names(m)) do
        if prices.UNPRICED[id] then
          assert.is_string(prices.UNPRICED[id])
          assert.is_nil(prices.row(id), id .. " is both priced and unpriced")
        else
          local r = prices.row(id)
          assert.is_table(r, id .. " has no price")
          for _, col in ipairs({ "input", "w5m", "w1h", "read", "output" }) do
            assert.is_true(require("anthropic.compat").is_integer(r[col]) and r[col] > 0, id .. " " .. col)
          end
        end
      end
    end
  end)

  it("has the new models' prices of the pricing page (micro-dollars per MTok)", function()
    assert.equal(4000000, prices.price("claude-opus-5-5", "input"))
    assert.equal(200000, prices.price("claude-opus-5-5", "read")) -- 0.05x reads
    assert.equal(100000, prices.price("claude-sonnet-5-5", "read"))
    assert.equal(250000, prices.price("claude-fable-5-1", "read")) -- 0.025x reads
    assert.equal(25000000, prices.price("claude-opus-4-8", "output"))
    assert.equal(50000000, prices.price("claude-mythos-5", "output"))
    -- Haiku 5.5 is priced by the prompt's length: above 100,000 tokens every token at the long row
    assert.equal(100000, prices.price("claude-haiku-5-5", "input", nil, nil, 100000))
    assert.equal(500000, prices.price("claude-haiku-5-5", "input", nil, nil, 100001))
    assert.equal(2500000, prices.price("claude-haiku-5-5", "output", nil, nil, 150000))
    assert.equal(1250000, prices.price("claude-haiku-5-5", "output", "batch", nil, 150000))
    assert.equal(550000, prices.price("claude-haiku-5-5", "output", nil, "us", 1))
  end)

  it("the spend guard prices a long Haiku 5.5 prompt at the long row", function()
    local guard = require("anthropic.guard").new { spend_limit = { usd = 100 } }
    guard:charge("claude-haiku-5-5", { input_tokens = 100, output_tokens = 1000000 })
    assert.equal("0.500010", guard:spend().usd) -- 100 x 0.10 + 1M x 0.50 per MTok
    guard = require("anthropic.guard").new { spend_limit = { usd = 100 } }
    guard:charge("claude-haiku-5-5", { input_tokens = 1000, cache_read_input_tokens = 100000, output_tokens = 1000000 })
    assert.equal("2.505500", guard:spend().usd) -- the long row: 1000 x 0.50 + 100000 x 0.05 + 1M x 2.50
  end)

  it("know every model the emulator has deprecated or retired, with its dates and replacement", function()
    for _, m in ipairs(models.SEED) do
      for _, id in ipairs(names(m)) do
        local d = deprecations.MODELS[id]
        if m.lifecycle == "deprecated" or m.lifecycle == "retired" then
          assert.is_table(d, id)
          assert.equal(m.lifecycle, d.state, id)
          assert.equal(m.retires_at:sub(1, 10), d.retires, id)
          assert.equal(m.replacement, d.replacement, id)
        elseif d then
          -- only the SDK's own list may add one the emulator serves as active (mythos-preview)
          assert.equal("claude-mythos-preview", id)
        end
      end
    end
    local active = {}
    for _, m in ipairs(models.SEED) do
      if (m.lifecycle or "active") == "active" then active[m.id] = true end
    end
    for id, d in pairs(deprecations.MODELS) do
      assert.is_true(active[d.replacement], id .. "'s replacement " .. d.replacement .. " is an active model")
    end
    assert.is_nil(deprecations.message("claude-opus-5-5"))
  end)
end)
