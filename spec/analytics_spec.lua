-- The Usage and Cost Analytics API (beta): the client's pagers (admin.analytics:usage / :cost)
-- against the emulator, whose rows come from the same recorded usage as the legacy reports: the
-- sums agree with the legacy usage and cost reports for every grouping, exactly.
local anthropic = require "anthropic"
local decimal = require "anthropic.decimal"
local helper = require "helpers.emulator"

local START, STOP = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
local FAST = "fast-mode-2026-02-01"

local function by(list, field, value)
  for _, x in ipairs(list) do
    if x[field] == value then return x end
  end
end

local function assert_ok(v, err)
  assert(v ~= nil, err and err.message)
  return v
end

local ZERO = { uncached = 0, read = 0, out = 0, w5m = 0, w1h = 0, search = 0 }

local function add_tokens(t, uncached, read, out, w5m, w1h, search)
  t.uncached, t.read, t.out = t.uncached + uncached, t.read + read, t.out + out
  t.w5m, t.w1h, t.search = t.w5m + w5m, t.w1h + w1h, t.search + search
end

local function sums_of(map, k)
  local t = map[k]
  if not t then
    t = {}
    for f, v in pairs(ZERO) do t[f] = v end
    map[k] = t
  end
  return t
end

local function key(v)
  if v == nil then return "(null)" end
  if type(v) == "table" then return v.type .. ":" .. (v.user_id or v.service_account_id or v.api_key_id) end
  return tostring(v)
end

describe("analytics API", function()
  local server, admin_key, admin, users, keys, prod, staging

  lazy_setup(function()
    admin_key = helper.make_key("admin01")
    server = helper.start { keys = { admin_key } }
  end)
  lazy_teardown(function() server:stop() end)

  before_each(function()
    server:reset()
    server:clock { set = "2026-04-01T08:00:00Z" }
    admin = anthropic.admin { api_key = admin_key, base_url = server.url, max_retries = 0, beta = { FAST } }
    users = assert_ok(admin.users:list():all())
    keys = assert_ok(admin.api_keys:list():all())
    local ws = assert_ok(admin.workspaces:list():all())
    prod, staging = by(ws, "name", "Production").id, by(ws, "name", "Staging").id
    local prod_key, default_key = by(keys, "name", "prod-backend").id, by(keys, "name", "default-scripts").id
    local records = {}
    for day = 1, 31 do
      local t = string.format("2026-03-%02dT%02d:15:00Z", day, day % 24)
      records[#records + 1] = { time = t, api_key_id = prod_key, model = "claude-sonnet-4-6",
        input_tokens = 1234567 + day, output_tokens = 54321 * day, cache_read_input_tokens = 1000 * day,
        account_id = users[1].email, inference_geo = day % 3 == 0 and "us" or "global" }
      records[#records + 1] = { time = t, workspace_id = "Staging", model = "claude-haiku-4-5",
        input_tokens = 777, output_tokens = 333, service_tier = "batch", service_account_id = "svac_01build",
        cache_creation = { ephemeral_5m_input_tokens = 10, ephemeral_1h_input_tokens = 20 } }
      records[#records + 1] = { time = t, api_key_id = default_key, model = "claude-opus-4-6",
        input_tokens = 1 + day, output_tokens = 1, web_search_requests = 2, speed = day % 2 == 0 and "fast" or nil }
      if day % 5 == 0 then -- a long prompt: the 200k-1M context window
        records[#records + 1] = { time = t, api_key_id = prod_key, model = "claude-sonnet-4-6",
          input_tokens = 250000, output_tokens = 10, account_id = users[1].email }
      end
    end
    assert.equal(99, server:add_usage(records).added)
  end)

  -- The legacy usage report's sums by a field of its results.
  local function legacy_usage(group)
    local buckets = assert_ok(admin.usage:messages { starting_at = START, ending_at = STOP, bucket_width = "1d",
      limit = 31, group_by = group and { group } or nil }:all())
    local out = {}
    for _, b in ipairs(buckets) do
      for _, r in ipairs(b.results) do
        add_tokens(sums_of(out, group and key(r[group]) or "all"), r.uncached_input_tokens, r.cache_read_input_tokens,
          r.output_tokens, r.cache_creation.ephemeral_5m_input_tokens, r.cache_creation.ephemeral_1h_input_tokens,
          r.server_tool_use.web_search_requests)
      end
    end
    return out
  end

  local function analytics_usage(params, keyfn)
    params.starting_at, params.ending_at = START, STOP
    local rows = assert_ok(admin.analytics:usage(params):all())
    local out = {}
    for _, r in ipairs(rows) do
      local u = r.usage
      add_tokens(sums_of(out, keyfn(r.group)), u.uncached_input_tokens, u.cache_read_input_tokens, u.output_tokens,
        u.cache_creation.ephemeral_5m_input_tokens, u.cache_creation.ephemeral_1h_input_tokens,
        u.server_tool_use.web_search_requests)
      assert.equal(u.uncached_input_tokens + u.cache_read_input_tokens + u.output_tokens
        + u.cache_creation.ephemeral_5m_input_tokens + u.cache_creation.ephemeral_1h_input_tokens, u.total_tokens)
    end
    return out, rows
  end

  it("usage: the sums match the legacy report for every grouping, across pages", function()
    for _, d in ipairs { "model", "workspace_id", "api_key_id", "service_tier", "context_window",
                         "inference_geo", "speed" } do
      local want = legacy_usage(d)
      local got, rows = analytics_usage({ group_by = { d }, limit = 1 }, function(g) return key(g[d]) end)
      assert.same(want, got, d)
      assert.is_true(#rows > 1, d) -- (more than one page was read)
    end
    assert.same(legacy_usage(nil), (analytics_usage({}, function() return "all" end)))
  end)

  it("usage: actor is the user, else the service account, else the API key (legacy account_id, "
    .. "service_account_id, api_key_id)", function()
    local want = {}
    for group, prefix in pairs { account_id = "user_actor:", service_account_id = "service_account_actor:" } do
      for k, v in pairs(legacy_usage(group)) do
        if k ~= "(null)" then want[prefix .. k] = v end
      end
    end
    local default_key = by(keys, "name", "default-scripts").id
    want["api_actor:" .. default_key] = legacy_usage("api_key_id")[default_key]
    local got, rows = analytics_usage({ group_by = { "actor", "actor_type" } }, function(g) return key(g.actor) end)
    assert.same(want, got)
    for _, r in ipairs(rows) do
      assert.equal(r.group.actor.type, r.group.actor_type)
      if r.group.actor.type == "user_actor" then
        assert.same({ type = "user_actor", user_id = users[1].id, email_address = users[1].email,
                      name = users[1].name, deleted = false }, r.group.actor)
      end
    end
  end)

  it("usage: a group field is null (absent in Lua) unless grouped; requests are counted", function()
    local rows = assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP,
      group_by = { "workspace_id" } }:all())
    assert.equal(3, #rows) -- Production (the key's), Staging, and the default workspace (null)
    for _, r in ipairs(rows) do
      for _, f in ipairs { "actor", "actor_type", "agent_id", "api_key_id", "claude_tag_category",
        "claude_tag_user_id", "context_window", "deployment_id", "environment_id", "inference_geo", "model",
        "organization_id", "product", "rbac_group_id", "service_tier", "session_id", "slack_channel_id", "speed",
        "user_profile_id" } do
        assert.is_nil(r.group[f], f)
      end
      assert.equal(START, r.starting_at)
      assert.equal(STOP, r.ending_at)
    end
    local requests = {}
    for _, r in ipairs(rows) do requests[key(r.group.workspace_id)] = r.usage.requests end
    assert.same({ [prod] = 31 + 6, [staging] = 31, ["(null)"] = 31 }, requests)
    -- ranked by total_tokens, highest first (default); order = "asc" reverses
    assert.equal(prod, rows[1].group.workspace_id)
    local asc = assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP, order = "asc",
      group_by = { "workspace_id" } }:all())
    assert.is_nil(asc[1].group.workspace_id) -- the default workspace's scripts: the least
    assert.equal(prod, asc[3].group.workspace_id)
  end)

  it("usage: time buckets match the legacy report's days, newest first with order_by = time", function()
    local legacy = assert_ok(admin.usage:messages { starting_at = START, ending_at = STOP, bucket_width = "1d",
      limit = 31 }:all())
    local rows = assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP, time_bucket_width = "1d",
      order_by = "time", limit = 7 }:all())
    assert.equal(31, #rows)
    assert.equal("2026-03-31T00:00:00Z", rows[1].starting_at)
    assert.equal("2026-04-01T00:00:00Z", rows[1].ending_at)
    for _, r in ipairs(rows) do
      local b = by(legacy, "starting_at", r.starting_at)
      assert.equal(b.results[1].output_tokens, r.usage.output_tokens, r.starting_at)
      assert.equal(b.results[1].uncached_input_tokens, r.usage.uncached_input_tokens, r.starting_at)
    end
  end)

  it("usage: filters (workspace, model alias, key, no key, actor, tier) keep the matching rows only", function()
    local function total(params)
      params.starting_at, params.ending_at = START, STOP
      local rows = assert_ok(admin.analytics:usage(params):all())
      return rows[1] and rows[1].usage.output_tokens or 0, #rows
    end
    local all = legacy_usage("workspace_id")
    assert.equal(all[staging].out, (total { workspace_ids = { staging } }))
    assert.equal(all[staging].out, (total { service_tiers = { "batch" } }))
    assert.equal(all[staging].out, (total { actor_ids = { "svac_01build" } }))
    assert.equal(all[staging].out, (total { actor_types = { "service_account_actor" } }))
    assert.equal(all[staging].out, (total { api_key_ids = { "" } })) -- usage no key authenticated
    assert.equal(31, (total { models = { "claude-opus-4-6" } }))
    assert.equal(0, select(2, total { agent_ids = { "agent_01x" } })) -- not recorded: matches nothing
    assert.equal(0, select(2, total { products = { "claude_code" } }))
    assert.equal(legacy_usage(nil).all.out, (total { products = { "messages_api", "message_batches_api" } }))
  end)

  it("cost: the sums match the legacy cost report by workspace, by model and by token type", function()
    local function legacy(group)
      local buckets = assert_ok(admin.cost:report { starting_at = START, ending_at = STOP, limit = 31,
        group_by = { group } }:all())
      local out = {}
      for _, b in ipairs(buckets) do
        for _, r in ipairs(b.results) do
          local k = group == "workspace_id" and key(r.workspace_id) or (key(r.model) .. "|" .. key(r.token_type))
          out[k] = decimal.tostring(decimal.add(out[k] or "0", r.amount))
        end
      end
      return out
    end
    local function analytics(params, keyfn)
      params.starting_at, params.ending_at = START, STOP
      local out, n = {}, 0
      for row in admin.analytics:cost(params):each() do
        n = n + 1
        assert.equal("USD", row.cost.currency)
        assert.equal(row.cost.amount, row.cost.list_amount)
        local k = keyfn(row.group)
        out[k] = decimal.tostring(decimal.add(out[k] or "0", row.cost.amount))
      end
      return out, n
    end
    assert.same(legacy("workspace_id"), (analytics({ group_by = { "workspace_id" }, limit = 1 },
      function(g) return key(g.workspace_id) end)))
    -- cost_type + token_type fan out (one row per token type, plus web search), beside the model
    local got, n = analytics({ group_by = { "model", "cost_type", "token_type" }, limit = 1 }, function(g)
      if g.cost_type == "web_search" then return "(null)|(null)" end
      assert.equal("tokens", g.cost_type)
      return key(g.model) .. "|" .. key(g.token_type)
    end)
    local want = legacy("description")
    assert.same(want, got)
    assert.is_true(n > 3) -- more rows than the limit-1 pages of three models: fan-out rows do not count
    -- requests are null on fan-out rows, counted otherwise
    local rows = assert_ok(admin.analytics:cost { starting_at = START, ending_at = STOP, group_by = { "cost_type" } }
      :all())
    assert.is_nil(rows[1].cost.requests)
    local plain = assert_ok(admin.analytics:cost { starting_at = START, ending_at = STOP }:all())
    assert.equal(1, #plain)
    assert.equal(31 * 3 + 6, plain[1].cost.requests)
  end)

  it("the client sends the beta (beside its own); without it the emulator answers 400", function()
    local res = server:api("GET", "/v1/organizations/analytics/usage" .. helper.query { starting_at = START },
      nil, admin_key)
    assert.equal(400, res.status)
    assert.matches("analytics%-usage%-cost%-2026%-08%-24", res.json.error.message)
    server:clear_log()
    assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP }:all())
    local log = server:log().requests
    assert.matches("analytics%-usage%-cost%-2026%-08%-24", log[#log].headers["anthropic-beta"])
    assert.truthy(log[#log].headers["anthropic-beta"]:find(FAST, 1, true))
  end)

  it("refuses what the API refuses: bad enums, a missing ending_at with buckets, ranges too long", function()
    local function refused(params, pattern)
      params.starting_at = params.starting_at or START
      local res = server:api("GET", "/v1/organizations/analytics/usage" .. helper.query(params), nil, admin_key,
        { ["anthropic-beta"] = "analytics-usage-cost-2026-08-24" })
      assert.equal(400, res.status, pattern)
      assert.equal("invalid_request_error", res.json.error.type)
      assert.matches(pattern, res.json.error.message)
    end
    refused({ time_bucket_width = "1h" }, "ending_at")
    refused({ ending_at = "2026-04-05T00:00:00Z" }, "31 days")
    refused({ time_bucket_width = "1m", ending_at = "2026-03-03T00:00:00Z" }, "24 hours")
    refused({ group_by = { "cost_type" } }, "group_by")
    refused({ group_by = { "model", "workspace_id", "api_key_id", "speed", "actor", "product" } }, "at most 5")
    refused({ service_tiers = { "gold" } }, "service_tiers")
    refused({ actor_types = { "robot" } }, "actor_types")
    refused({ exclude_deleted_users = "true" }, "group_by%[%]=actor")
    refused({ order_by = "amount" }, "order_by")
    refused({ starting_at = "2025-12-31T00:00:00Z" }, "2026%-01%-01")
    -- and the client refuses bad values before sending
    assert.error_matches(function() admin.analytics:usage { starting_at = START, order = "up" } end, "order")
    assert.error_matches(function() admin.analytics:cost { ending_at = STOP } end, "starting_at")
  end)

  it("exclude_deleted_users drops a removed user's rows", function()
    assert.equal(200, server:api("DELETE", "/v1/organizations/users/" .. users[1].id, nil, admin_key).status)
    local rows = assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP, group_by = { "actor" } }
      :all())
    local deleted = 0
    for _, r in ipairs(rows) do
      if r.group.actor.type == "user_actor" then
        deleted = deleted + 1
        assert.is_true(r.group.actor.deleted)
        assert.is_nil(r.group.actor.email_address)
      end
    end
    assert.equal(1, deleted)
    local kept = assert_ok(admin.analytics:usage { starting_at = START, ending_at = STOP, group_by = { "actor" },
      exclude_deleted_users = true }:all())
    assert.equal(#rows - 1, #kept)
  end)
end)
