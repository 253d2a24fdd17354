-- The emulator keeps usage in buckets (one per UTC minute and dimension values, tokens summed),
-- not one record per request: a long-running emulator stays flat. Reports sum the same.
local helper = require "helpers.emulator"

describe("emulator usage buckets", function()
  local server, key, admin

  local function counts() return server:seed_counts() end

  local function report(params)
    local res = server:api("GET", "/v1/organizations/usage_report/messages" .. helper.query(params), nil, admin,
      { ["anthropic-beta"] = "fast-mode-2026-02-01" })
    assert.equal(200, res.status, res.body)
    return res.json
  end

  local function cost(params)
    local res = server:api("GET", "/v1/organizations/cost_report" .. helper.query(params), nil, admin)
    assert.equal(200, res.status, res.body)
    return res.json
  end

  setup(function()
    key = helper.make_key("api03")
    admin = helper.make_key("admin01")
    server = helper.start { keys = { key, admin } }
  end)
  teardown(function() server:stop() end)
  before_each(function()
    server:reset()
    server:clock { set = "2026-03-10T12:00:05Z" }
  end)

  it("holds one bucket for thousands of records in the same minute, key and model", function()
    local records = {}
    for i = 1, 5000 do
      records[i] = { time = string.format("2026-03-10T11:59:%02dZ", i % 60), model = "claude-sonnet-4-6",
                     input_tokens = i, output_tokens = 2 * i, cache_read_input_tokens = 1,
                     web_search_requests = i % 2 }
    end
    assert.equal(5000, server:add_usage(records).added)
    local c = counts()
    assert.equal(1, c.usage)
    assert.equal(5000, c.usage_requests)
    local buckets = server:usage()
    assert.equal(1, #buckets)
    assert.equal("2026-03-10T11:59:00Z", buckets[1].time)
    assert.equal(5000, buckets[1].requests)
    assert.equal(12502500, buckets[1].input_tokens) -- 1 + 2 + ... + 5000

    -- the reports answer from the bucket: same sums at every width
    for _, width in ipairs { "1m", "1h", "1d" } do
      local r = report { starting_at = "2026-03-10T11:59:00Z", ending_at = "2026-03-10T12:00:00Z",
                         bucket_width = width }
      assert.equal(1, #r.data[1].results, width)
      local row = r.data[1].results[1]
      assert.equal(12502500, row.uncached_input_tokens)
      assert.equal(5000 * 5001, row.output_tokens)
      assert.equal(5000, row.cache_read_input_tokens)
      assert.equal(2500, row.server_tool_use.web_search_requests)
    end
    -- Sonnet 4.6: $3 / $15 / $0.30 per MTok, one cent per search
    local amount = (12502500) * 3 + 5000 * 5001 * 15 + 5000 * 0.3
    local day = cost { starting_at = "2026-03-10T00:00:00Z", ending_at = "2026-03-11T00:00:00Z" }
    assert.equal(1, #day.data[1].results)
    local cents = tonumber(day.data[1].results[1].amount)
    assert.near(amount / 1e4 + 2500, cents, 1e-6)
  end)

  it("keeps one bucket per served minute, key and model, and sums the served tokens", function()
    local conn = assert(server:connect())
    local input, output = 0, 0
    for i = 1, 300 do
      local res = assert(conn:request("POST", "/v1/messages", { model = "claude-opus-4-6", max_tokens = 20,
        messages = { { role = "user", content = "request " .. i } } },
        { ["x-api-key"] = key, ["anthropic-version"] = helper.VERSION }))
      assert.equal(200, res.status, res.body)
      input, output = input + res.json.usage.input_tokens, output + res.json.usage.output_tokens
    end
    conn:close()
    local c = counts()
    assert.equal(1, c.usage)
    assert.equal(300, c.usage_requests)
    local r = report { starting_at = "2026-03-10T12:00:00Z", ending_at = "2026-03-10T12:01:00Z",
                       bucket_width = "1m", group_by = { "model", "api_key_id" } }
    local row = r.data[1].results[1]
    assert.equal(1, #r.data[1].results)
    assert.equal("claude-opus-4-6", row.model)
    assert.equal(input, row.uncached_input_tokens)
    assert.equal(output, row.output_tokens)
  end)

  it("splits buckets by minute and by every dimension the reports group by", function()
    local base = { model = "claude-haiku-4-5", input_tokens = 10, output_tokens = 1 }
    local function rec(t)
      local r = {}
      for k, v in pairs(base) do r[k] = v end
      for k, v in pairs(t) do r[k] = v end
      return r
    end
    server:add_usage {
      rec { time = "2026-03-10T10:00:01Z" }, rec { time = "2026-03-10T10:00:59Z" }, -- one bucket
      rec { time = "2026-03-10T10:01:00Z" },                                         -- next minute
      rec { time = "2026-03-10T10:00:30Z", service_tier = "batch" },
      rec { time = "2026-03-10T10:00:30Z", inference_geo = "us" },
      rec { time = "2026-03-10T10:00:30Z", speed = "fast" },
      rec { time = "2026-03-10T10:00:30Z", input_tokens = 300000 }, -- context_window 200k-1M
      rec { time = "2026-03-10T10:00:30Z", model = "claude-opus-4-6" },
      rec { time = "2026-03-10T10:00:30Z", workspace_id = "Staging" },
    }
    assert.equal(8, counts().usage)
    assert.equal(9, counts().usage_requests)
    local r = report { starting_at = "2026-03-10T10:00:00Z", ending_at = "2026-03-10T10:02:00Z", bucket_width = "1m",
                       group_by = { "service_tier", "inference_geo", "speed", "context_window", "model" } }
    assert.equal(6, #r.data[1].results)
    assert.equal(1, #r.data[2].results)
    local n = 0
    for _, b in ipairs(r.data) do
      for _, row in ipairs(b.results) do n = n + row.uncached_input_tokens end
    end
    assert.equal(8 * 10 + 300000, n)
  end)
end)
