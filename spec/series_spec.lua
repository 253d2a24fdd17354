-- anthropic.series: usage and cost as time series for charts, read from the analytics API against
-- the emulator's recorded usage; the sums agree exactly with anthropic.reports over the legacy
-- reports of the same range, for every width and stacking dimension.
local anthropic = require "anthropic"
local decimal = require "anthropic.decimal"
local series = require "anthropic.series"
local reports = anthropic.reports
local helper = require "helpers.emulator"

local START, STOP = "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z"

local function ok(v, err)
  assert(v ~= nil, err and tostring(err))
  return v
end

local function find(list, field, value)
  for _, x in ipairs(list) do
    if x[field] == value then return x end
  end
end

-- Seeds two weeks of usage: three models, two keys, the default workspace and Staging, a user
-- and a service account, batch and standard tiers; fractional cents (haiku's cache reads).
local function seed(server)
  local records = {}
  for day = 1, 14 do
    local t = string.format("2026-03-%02dT%02d:20:00Z", day, (day * 5) % 24)
    records[#records + 1] = { time = t, api_key_id = "prod-backend", model = "claude-sonnet-4-6",
      input_tokens = 10000 * day, output_tokens = 700 + day, account_id = "bob@example.com" }
    records[#records + 1] = { time = t, workspace_id = "Staging", model = "claude-haiku-4-5",
      input_tokens = 3333, output_tokens = 111, cache_read_input_tokens = 27 * day, service_tier = "batch",
      service_account_id = "svac_01build" }
    if day % 3 == 0 then
      records[#records + 1] = { time = t, api_key_id = "default-scripts", model = "claude-opus-4-6",
        input_tokens = 1 + day, output_tokens = 9 }
    end
  end
  return server:add_usage(records).added
end

describe("anthropic.series", function()
  local server, admin_key, admin

  lazy_setup(function()
    admin_key = helper.make_key("admin01")
    server = helper.start { keys = { admin_key } }
  end)
  lazy_teardown(function() server:stop() end)

  before_each(function()
    server:reset()
    server:clock { set = "2026-03-20T08:00:00Z" }
    admin = anthropic.admin { api_key = admin_key, base_url = server.url, max_retries = 0 }
    assert.equal(32, seed(server))
  end)
  after_each(function() admin:close() end)

  -- The series' own sums hold together: parts add up to each bucket, buckets to the total,
  -- keys' totals to the total; buckets are contiguous and in order.
  local function check_sums(s)
    local total, by_key = "0", {}
    for i, b in ipairs(s.buckets) do
      if i > 1 then assert.equal(s.buckets[i - 1].ending_at, b.starting_at) end
      local sum = "0"
      for k, v in pairs(b.exact_parts) do
        sum = decimal.add(sum, v)
        by_key[k] = decimal.add(by_key[k] or "0", v)
        assert.is_number(b.parts[k])
      end
      assert.equal(0, decimal.compare(sum, b.exact), b.starting_at)
      total = decimal.add(total, b.exact)
    end
    assert.equal(decimal.tostring(total), s.exact_total)
    for _, k in ipairs(s.keys) do assert.equal(decimal.tostring(by_key[k]), s.exact_totals[k]) end
    assert.equal(s.starting_at, s.buckets[1].starting_at)
    assert.equal(s.ending_at, s.buckets[#s.buckets].ending_at)
  end

  it("cost by model and day: every day present, exact cents equal to reports.cost of the legacy report", function()
    local s = ok(series.collect(admin, { metric = "cost", since = "2026-03-01", ["until"] = "2026-03-15",
      by = "model" }))
    assert.equal("cost", s.metric)
    assert.equal("USD", s.unit)
    assert.equal("1d", s.width)
    assert.equal(14, #s.buckets)
    assert.equal("2026-03-01T00:00:00Z", s.buckets[1].starting_at)
    assert.equal("2026-03-02T00:00:00Z", s.buckets[1].ending_at)
    check_sums(s)
    local legacy = ok(admin.cost:report({ starting_at = START, ending_at = STOP, group_by = { "description" } }):all())
    local want = reports.cost(legacy)
    assert.equal(want.amount, s.exact_total)
    assert.equal(want.dollars, s.exact_dollars)
    assert.matches("%.", s.exact_total) -- (fractional cents: the sum is not of whole numbers)
    local per_model = reports.cost(legacy, "model")
    local n = 0
    for k, sums in pairs(per_model) do
      n = n + 1
      assert.equal(sums.amount, s.exact_totals[k], k)
      assert.equal(k, s.labels[k])
    end
    assert.equal(n, #s.keys)
    assert.equal("claude-sonnet-4-6", s.keys[1]) -- the largest first
    assert.near(tonumber(want.dollars), s.total, 1e-9)
    -- a day's parts, exactly
    local per_day = reports.cost(legacy, "day")
    for _, b in ipairs(s.buckets) do
      assert.equal(0, decimal.compare(per_day[b.starting_at:sub(1, 10)].amount, b.exact), b.starting_at)
    end
  end)

  it("usage by workspace: total tokens equal reports.usage's input + output; names as labels", function()
    local s = ok(series.collect(admin, { metric = "usage", since = 1772323200, ["until"] = "2026-03-15T00:00:00Z",
      by = "workspace" }))
    assert.equal("tokens", s.unit)
    assert.equal("total_tokens", s.field)
    check_sums(s)
    local legacy = ok(admin.usage:messages({ starting_at = START, ending_at = STOP, bucket_width = "1d", limit = 31,
      group_by = { "workspace_id" } }):all())
    local want = reports.usage(legacy, "workspace")
    local ws = ok(admin.workspaces:list():all())
    local staging, prod = find(ws, "name", "Staging"), find(ws, "name", "Production")
    assert.same({ prod.id, staging.id, "default" }, s.keys) -- (prod-backend's usage is Production's)
    for k, sums in pairs(want) do
      assert.equal(tostring(sums.input_tokens + sums.output_tokens), s.exact_totals[k], k)
      assert.equal(sums.input_tokens + sums.output_tokens, s.totals[k])
    end
    assert.equal("Staging", s.labels[staging.id])
    assert.equal("Production", s.labels[prod.id])
    assert.equal("(default)", s.labels.default)
    local all = reports.usage(legacy)
    assert.equal(all.input_tokens + all.output_tokens, s.total)
    -- other fields
    local out = ok(series.collect(admin, { metric = "usage", since = START, ["until"] = STOP,
      field = "output_tokens" }))
    assert.equal(all.output_tokens, out.total)
    assert.same({ "total" }, out.keys)
    local req = ok(series.collect(admin, { metric = "usage", since = START, ["until"] = STOP, field = "requests" }))
    assert.equal("requests", req.unit)
    assert.equal(32, req.total)
    local inp = ok(series.collect(admin, { metric = "usage", since = START, ["until"] = STOP, field = "input_tokens",
      names = false }))
    assert.equal(all.input_tokens, inp.total)
  end)

  it("weeks start on Monday and months on the 1st, cut to the range; the sums do not change", function()
    local day = ok(series.collect(admin, { metric = "cost", since = START, ["until"] = STOP, by = "model" }))
    local week = ok(series.collect(admin, { metric = "cost", since = START, ["until"] = STOP, by = "model",
      width = "1w" }))
    -- 2026-03-01 is a Sunday: a one-day first week, then two whole weeks from Monday the 2nd
    assert.same({ "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z" },
      { week.buckets[1].starting_at, week.buckets[2].starting_at, week.buckets[3].starting_at })
    assert.equal(3, #week.buckets)
    assert.equal("2026-03-15T00:00:00Z", week.buckets[3].ending_at)
    check_sums(week)
    assert.equal(day.exact_total, week.exact_total)
    assert.same(day.exact_totals, week.exact_totals)
    local month = ok(series.collect(admin, { metric = "usage", since = "2026-02-20", ["until"] = "2026-03-20",
      width = "1mo", by = "service_tier" }))
    assert.equal(2, #month.buckets)
    assert.equal("2026-03-01T00:00:00Z", month.buckets[2].starting_at)
    assert.equal("0", month.buckets[1].exact)
    check_sums(month)
    assert.same({ "standard", "batch" }, month.keys)
  end)

  it("hours: 24 buckets a day; api keys and actors labelled with their names", function()
    local s = ok(series.collect(admin, { metric = "usage", since = "2026-03-03", ["until"] = "2026-03-04",
      width = "1h", by = "api_key" }))
    assert.equal(24, #s.buckets)
    check_sums(s)
    assert.equal("2026-03-03T15:00:00Z", s.buckets[16].starting_at)
    assert.is_true(s.buckets[16].total > 0)
    assert.equal(0, s.buckets[15].total)
    local keys = ok(admin.api_keys:list():all())
    local prod = find(keys, "name", "prod-backend")
    assert.equal("prod-backend", s.labels[prod.id])
    assert.equal("(no key)", s.labels.none)
    local a = ok(series.collect(admin, { metric = "cost", since = START, ["until"] = STOP, by = "actor" }))
    check_sums(a)
    local users = ok(admin.users:list():all())
    local bob = find(users, "email", "bob@example.com")
    assert.equal("Bob Developer", a.labels[bob.id])
    assert.equal("svac_01build", a.labels.svac_01build)
    local scripts = find(keys, "name", "default-scripts")
    assert.equal("default-scripts", a.labels[scripts.id])
  end)

  it("names that cannot be looked up leave the ids; names = false looks nothing up", function()
    server:faults { { path = "/v1/organizations/workspaces", method = "GET", status = 500, count = 1 } }
    local s = ok(series.collect(admin, { metric = "cost", since = START, ["until"] = STOP, by = "workspace" }))
    assert.same({}, server:pending_faults()) -- (the look-up met the fault)
    local staging = find(ok(admin.workspaces:list():all()), "name", "Staging")
    assert.equal(staging.id, s.labels[staging.id])
    assert.equal("(default)", s.labels.default)
    server:clear_log()
    s = ok(series.collect(admin, { metric = "usage", since = START, ["until"] = STOP, by = "api_key", names = false }))
    for _, r in ipairs(server:log().requests) do assert.equal("/v1/organizations/analytics/usage", r.path) end
    for _, k in ipairs(s.keys) do
      if k ~= "none" then assert.equal(k, s.labels[k]) end
    end
  end)

  it("filters pass to the API; a range over 31 days is read in windows", function()
    local s = ok(series.collect(admin, { metric = "usage", since = "2026-01-20", ["until"] = "2026-03-20",
      width = "1w", filters = { models = { "claude-haiku-4-5" } } }))
    check_sums(s)
    local legacy = ok(admin.usage:messages({ starting_at = START, ending_at = STOP, bucket_width = "1d", limit = 31,
      models = { "claude-haiku-4-5" } }):all())
    local want = reports.usage(legacy)
    assert.equal(want.input_tokens + want.output_tokens, s.total)
    local windows = 0
    for _, r in ipairs(server:log().requests) do
      if r.path == "/v1/organizations/analytics/usage" then windows = windows + 1 end
    end
    assert.equal(2, windows)
  end)

  it("an empty range: every bucket, zeros, no keys", function()
    local s = ok(series.collect(admin, { metric = "cost", since = "2026-02-01", ["until"] = "2026-02-08",
      by = "model" }))
    assert.equal(7, #s.buckets)
    assert.same({}, s.keys)
    assert.equal("0", s.exact_total)
    assert.equal("0.00", s.exact_dollars)
    assert.equal(0, s.total)
    for _, b in ipairs(s.buckets) do
      assert.equal(0, b.total)
      assert.same({}, b.parts)
    end
  end)

  it("bad options are config errors that say what to pass", function()
    local cases = {
      { { since = START }, "metric must be \"cost\" or \"usage\"" },
      { { metric = "cost" }, "since is required" },
      { { metric = "cost", since = "last week" }, "since: 'last week' is not a time" },
      { { metric = "cost", since = START, ["until"] = "soon" }, "until: 'soon' is not a time" },
      { { metric = "cost", since = START, width = "2d" }, "width must be one of 1h, 1d, 1w, 1mo (got '2d')" },
      { { metric = "cost", since = START, by = "colour" }, "by must be one of model, workspace, api_key, actor" },
      { { metric = "cost", since = START, field = "requests" }, "field is for metric \"usage\" only" },
      { { metric = "usage", since = START, field = "tokens" }, "field must be one of total_tokens" },
      { { metric = "usage", since = STOP, ["until"] = START }, "until must be after since" },
    }
    for _, c in ipairs(cases) do
      local s, err = series.collect(admin, c[1])
      assert.is_nil(s)
      assert.equal("config", err.kind)
      assert.matches(c[2], err.message, 1, true)
    end
    local s, err = series.collect(admin, "cost")
    assert.is_nil(s)
    assert.equal("config", err.kind)
  end)

  it("an API failure is returned, not raised", function()
    local bad = anthropic.admin { api_key = helper.make_key("admin01"), base_url = server.url, max_retries = 0 }
    local s, err = series.collect(bad, { metric = "cost", since = START, ["until"] = STOP })
    bad:close()
    assert.is_nil(s)
    assert.equal("api", err.kind)
    assert.equal(401, err.status)
  end)
end)
