-- Rate limits: the emulator's buckets per workspace and their sped-up clock, and the client's
-- token-aware pacing (rate_limit, limiter.lua): estimates, reservations settled on the usage, a
-- request too large for a bucket, "auto" learning from the headers, and tasks that never meet a
-- 429 where the same tasks unpaced do.
local anthropic = require "anthropic"
local limiter = require "anthropic.limiter"
local emulator = require "helpers.emulator"

local function body(chars, max_tokens)
  return { model = "claude-opus-4-6", max_tokens = max_tokens or 16,
    messages = { { role = "user", content = string.rep("x", chars) } } }
end

local function epoch(s)
  return require("anthropic.guard").epoch(s)
end

describe("rate limits", function()
  local server, key

  lazy_setup(function()
    key = emulator.make_key("api03")
    server = emulator.start { keys = { key } }
  end)
  lazy_teardown(function() server:stop() end)
  before_each(function() server:reset() end)

  describe("the emulator", function()
    -- The organization's limits always apply, to every workspace together
    -- (../shared/reference/pricing-and-limits.md: "Org limits always apply, even when workspace
    -- limits add up to more").
    it("keeps the organization's buckets for every workspace and key together", function()
      local prod = server:create_api_keys { workspace_id = "Production", name = "p", count = 2 }.keys
      local staging = server:create_api_keys { workspace_id = "Staging", name = "s" }.keys[1]
      server:ratelimit { rpm = 3 }
      assert.equal(200, server:api("POST", "/v1/messages", body(10), prod[1]).status)
      assert.equal(200, server:api("POST", "/v1/messages", body(10), prod[2]).status)
      assert.equal(200, server:api("POST", "/v1/messages", body(10), staging).status)
      for _, k in ipairs { prod[1], staging, key } do -- key: the default workspace
        local limited = server:api("POST", "/v1/messages", body(10), k)
        assert.equal(429, limited.status)
        assert.matches("your organization's rate limit of 3 requests per minute", limited.json.error.message, 1, true)
        assert.equal("0", limited.headers["anthropic-ratelimit-requests-remaining"])
      end
      assert.equal(3, server:ratelimit {}.refused)
    end)

    -- A workspace limit set through the Admin API (POST .../rate_limits/{id}) lower than the
    -- organization's: that workspace's keys meet it, for that model group only.
    it("enforces a workspace's own lower limits, per model group, with the API's headers", function()
      local prod = server:create_api_keys { workspace_id = "Production", name = "p" }.keys[1]
      local staging = server:create_api_keys { workspace_id = "Staging", name = "s" }.keys[1]
      local admin_key = emulator.make_key("admin01")
      server:add_key(admin_key, "admin")
      server:ratelimit { rpm = 5 }
      local ws
      for _, w in ipairs(server:api("GET", "/v1/organizations/workspaces", nil, admin_key).json.data) do
        if w.name == "Production" then ws = w.id end
      end
      local group = server:api("GET", "/v1/organizations/rate_limits?model=claude-opus-4-6", nil, admin_key)
        .json.data[1]
      local set = server:api("POST", "/v1/organizations/workspaces/" .. ws .. "/rate_limits/" .. group.id,
        { limits = { { type = "requests_per_minute", value = 2 } } }, admin_key)
      assert.equal(200, set.status)
      local first = server:api("POST", "/v1/messages", body(10), prod)
      assert.equal("2", first.headers["anthropic-ratelimit-requests-limit"])
      assert.equal("1", first.headers["anthropic-ratelimit-requests-remaining"])
      assert.equal(200, server:api("POST", "/v1/messages", body(10), prod).status)
      local limited = server:api("POST", "/v1/messages", body(10), prod)
      assert.equal(429, limited.status)
      assert.equal("rate_limit_error", limited.json.error.type)
      assert.matches("your workspace's rate limit of 2 requests per minute %(workspace: " .. ws,
        limited.json.error.message)
      assert.equal("2", limited.headers["anthropic-ratelimit-requests-limit"])
      assert.equal("0", limited.headers["anthropic-ratelimit-requests-remaining"])
      assert.is_truthy(tonumber(limited.headers["retry-after"]) >= 1)
      -- another model group of the same workspace, and another workspace: the organization's 5
      local sonnet = body(10)
      sonnet.model = "claude-sonnet-4-6"
      local other = server:api("POST", "/v1/messages", sonnet, prod)
      assert.equal(200, other.status)
      assert.equal("5", other.headers["anthropic-ratelimit-requests-limit"])
      for _ = 1, 3 do assert.equal(200, server:api("POST", "/v1/messages", body(10), staging).status) end
      -- Production's two Opus requests count against the organization's 5 too: Staging's sixth
      -- of the minute is refused by the organization's limit
      local shared = server:api("POST", "/v1/messages", body(10), staging)
      assert.equal(429, shared.status)
      assert.matches("your organization's rate limit of 5 requests per minute.", shared.json.error.message, 1, true)
      -- Opus 4.5 is in the same group as Opus 4.6: the same buckets
      local opus45 = body(10)
      opus45.model = "claude-opus-4-5"
      assert.equal(429, server:api("POST", "/v1/messages", opus45, prod).status)
      -- a workspace limit above the organization's: the organization's applies
      server:api("POST", "/v1/organizations/workspaces/" .. ws .. "/rate_limits/" .. group.id,
        { limits = { { type = "requests_per_minute", value = 50 } } }, admin_key)
      server:ratelimit { rpm = 5 } -- (full buckets again)
      local again = server:api("POST", "/v1/messages", body(10), prod)
      assert.equal("5", again.headers["anthropic-ratelimit-requests-limit"])
      assert.equal(3, server:ratelimit {}.refused)
    end)

    it("counts token counting in a bucket of its own, with the workspace's token_count override", function()
      local prod = server:create_api_keys { workspace_id = "Production", name = "p" }.keys[1]
      server:ratelimit { rpm = 3 }
      server:seed { merge = true, workspace_rate_limits = {
        { workspace_id = "Production", group_type = "token_count",
          limits = { { type = "requests_per_minute", value = 1 } } } } }
      local count = body(10)
      count.max_tokens = nil
      local counted = server:api("POST", "/v1/messages/count_tokens", count, prod)
      assert.equal(200, counted.status)
      assert.equal("1", counted.headers["anthropic-ratelimit-requests-limit"])
      local limited = server:api("POST", "/v1/messages/count_tokens", count, prod)
      assert.equal(429, limited.status)
      assert.matches("your workspace's rate limit of 1 requests per minute", limited.json.error.message)
      -- Messages do not spend from it
      for _ = 1, 3 do assert.equal(200, server:api("POST", "/v1/messages", body(10), prod).status) end
    end)

    it("runs its buckets' clock faster with speed, the reset headers in real time", function()
      server:ratelimit { itpm = 6000 }
      local res = server:api("POST", "/v1/messages", body(4000), key) -- 1000 input tokens
      local h = res.headers
      local slow = epoch(h["anthropic-ratelimit-input-tokens-reset"]) - os.time()
      assert.is_true(slow >= 8, "reset in " .. slow .. " s")
      server:ratelimit { itpm = 6000, speed = 60 }
      res = server:api("POST", "/v1/messages", body(4000), key)
      local fast = epoch(res.headers["anthropic-ratelimit-input-tokens-reset"]) - os.time()
      assert.is_true(fast <= 2, "reset in " .. fast .. " s")
      assert.equal(60, server:ratelimit {}.speed)
      assert.equal(400, server:request("POST", "/_emulator/ratelimit", { speed = 0 }).status)
    end)
  end)

  describe("the client's limiter", function()
    it("estimates high before any answer, then learns the ratio and the outputs", function()
      local margin = limiter.MARGIN
      limiter.MARGIN = 1e-12 -- (no refill to speak of while the test runs: the levels are exact)
      finally(function() limiter.MARGIN = margin end)
      local l = limiter.new { itpm = 100000 }
      local input, output = l:estimate(body(1000, 300))
      assert.equal(400, input) -- 1000 characters / 2.5
      assert.equal(300, output)
      local res = assert(l:acquire(body(1000, 300)))
      assert.equal(100000 - 400, l:report().buckets.itpm.level)
      l:settle(res, { input_tokens = 250, output_tokens = 20 }, 200)
      assert.equal(100000 - 250, l:report().buckets.itpm.level)
      input, output = l:estimate(body(1000, 300))
      assert.equal(250, input)
      assert.equal(20, output)
    end)

    it("settles a stream on its usage when it ends, and one closed early on its input", function()
      local margin = limiter.MARGIN
      limiter.MARGIN = 1e-12 -- (no refill to speak of while the test runs: the levels are exact)
      finally(function() limiter.MARGIN = margin end)
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = { itpm = 100000 } }
      local l = c._transport.limiter
      local s = assert(c.messages:stream(body(400)))
      assert.equal(1, l:report().inflight)
      local m = assert(s:final())
      assert.equal(0, l:report().inflight)
      assert.equal(100000 - m.usage.input_tokens, l:report().buckets.itpm.level)
      s = assert(c.messages:stream(body(400)))
      s:close()
      assert.equal(0, l:report().inflight)
      c:close()
    end)

    it("refuses a request larger than a whole bucket, sending nothing", function()
      server:clear_log()
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = { itpm = 100 } }
      local msg, err = c.messages:create(body(4000))
      assert.is_nil(msg)
      assert.equal("config", err.kind)
      assert.matches("rate_limit: the request's estimated 1600 input tokens are more than the input tokens per "
        .. "minute allowed %(100%); nothing was sent", err.message)
      assert.same({}, server:log().requests)
      c:close()
    end)

    it("with count_tokens = true, reserves what count_tokens counts instead of the estimate", function()
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = { itpm = 100, count_tokens = true } }
      local _, err = c.messages:create(body(4000))
      assert.matches("the request's estimated 1000 input tokens are more than", err.message)
      c:close()
      local ok, msg = pcall(anthropic.new, { rate_limit = { tier = "gold" } })
      assert.is_false(ok)
      assert.matches("option 'rate_limit.tier' for anthropic.new must be a tier name or \"auto\"", msg)
    end)

    it("with \"auto\", takes the limits from the answers' headers", function()
      server:ratelimit { rpm = 50, itpm = 30000, otpm = 8000 }
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = "auto" }
      assert(c.messages:create(body(100)))
      local b = c._transport.limiter:report().buckets
      assert.equal(50, b.rpm.limit)
      assert.equal(30000, b.itpm.capacity)
      assert.equal(8000, b.otpm.limit)
      c:close()
      c = anthropic.new { api_key = key, base_url = server.url, rate_limit = { tier = "auto", itpm = 9000 } }
      assert(c.messages:create(body(100)))
      b = c._transport.limiter:report().buckets
      assert.equal(9000, b.itpm.limit) -- given: kept
      assert.equal(50, b.rpm.limit)    -- left out: from the headers
      c:close()
    end)

    it("with \"auto\" and an admin key, starts from the Admin API's limits for the model", function()
      server:ratelimit { rpm = 70, itpm = 40000, otpm = 9000 }
      local admin_key = emulator.make_key("admin01")
      server:add_key(admin_key, "admin")
      local util = require "helpers.util"
      local dir = util.tmpdir()
      util.write(dir .. "/admin.key", admin_key .. "\n", "600")
      local path = util.write(dir .. "/config.lua", string.format('profile "p" { admin_key_file = %q, base_url = %q, '
        .. 'rate_limit = "auto" }\n', dir .. "/admin.key", server.url))
      local c = anthropic.new { api_key = key, config_file = path, profile = "p" }
      local l, t = c._transport.limiter, c._transport
      t:seed_limits(l, l:group("claude-opus-4"), body(10), assert(t:key()))
      assert.same({ limit = 40000, capacity = 40000, level = 40000 }, l:report("claude-opus-4-6").buckets.itpm)
      assert.equal(70, l:report("claude-opus-4-6").buckets.rpm.limit)
      assert(c.messages:create(body(10)))
      c:close()
      util.rmdir(dir)
    end)

    -- A workspace limit below the organization's, read with the admin key before the first
    -- request: a prompt above it is refused at once, where without the admin key it is sent and
    -- answered 429.
    it("with \"auto\" and an admin key, also keeps the key's workspace's own lower limits from the start", function()
      server:ratelimit { rpm = 70, itpm = 40000, otpm = 9000 }
      local prod = server:create_api_keys { workspace_id = "Production", name = "p" }.keys[1]
      local admin_key = emulator.make_key("admin01")
      server:add_key(admin_key, "admin")
      server:seed { merge = true, workspace_rate_limits = {
        { workspace_id = "Production", group_type = "model_group", model = "claude-opus-4-5",
          limits = { { type = "input_tokens_per_minute", value = 1000 } } } } }
      local util = require "helpers.util"
      local dir = util.tmpdir()
      util.write(dir .. "/admin.key", admin_key .. "\n", "600")
      local path = util.write(dir .. "/config.lua", string.format('profile "p" { admin_key_file = %q, base_url = %q, '
        .. 'rate_limit = "auto" }\n', dir .. "/admin.key", server.url))
      server:clear_log()
      local c = anthropic.new { api_key = prod, config_file = path, profile = "p", max_retries = 0 }
      local msg, err = c.messages:create(body(6000)) -- 1,500 input tokens as the emulator counts
      assert.is_nil(msg)
      assert.equal("config", err.kind)
      assert.matches("more than the input tokens per minute allowed %(1000%); nothing was sent", err.message)
      for _, r in ipairs(server:log().requests) do assert.is_nil(r.path:find("^/v1/messages")) end
      local b = c._transport.limiter:report("claude-opus-4-6").buckets
      assert.equal(1000, b.itpm.limit) -- the workspace's
      assert.equal(70, b.rpm.limit)    -- the organization's (no override)
      assert(c.messages:create(body(100)))
      assert.equal(0, server:ratelimit {}.refused)
      -- the other groups keep the organization's numbers
      local sonnet = body(10)
      sonnet.model = "claude-sonnet-4-6"
      assert(c.messages:create(sonnet))
      assert.equal(40000, c._transport.limiter:report("claude-sonnet-4-6").buckets.itpm.limit)
      c:close()
      -- without the admin key: sent, and answered 429
      c = anthropic.new { api_key = prod, base_url = server.url, rate_limit = "auto", max_retries = 0 }
      local _, unpaced = c.messages:create(body(6000))
      assert.equal(429, unpaced.status)
      c:close()
      util.rmdir(dir)
    end)

    it("keeps one set of buckets per model group: pacing Opus does not hold Sonnet back", function()
      local margin = limiter.MARGIN
      limiter.MARGIN = 1e-12 -- (no refill to speak of while the test runs: the levels are exact)
      finally(function() limiter.MARGIN = margin end)
      local l = limiter.new { rpm = 1, itpm = 100000 }
      assert(l:acquire(body(10)))
      assert.equal(0, l:report("claude-opus-4-6").buckets.rpm.level)
      assert.equal(0, l:report("claude-opus-4-5").buckets.rpm.level) -- the same group
      assert.equal(1, l:report("claude-sonnet-4-6").buckets.rpm.level)
      local sonnet = body(10)
      sonnet.model = "claude-sonnet-4-6"
      assert(l:acquire(sonnet)) -- at once: its own bucket
      assert.equal(0, l:report().waits)
      assert.equal(0, l:report("claude-sonnet-4-6").buckets.rpm.level)
      assert.same({ "claude-opus-4", "claude-sonnet-4" }, (function()
        local t = {}
        for k in pairs(l:report().groups) do t[#t + 1] = k end
        table.sort(t)
        return t
      end)())
    end)

    it("sends a Sonnet request at once while Opus's bucket is empty, against the emulator's groups", function()
      server:ratelimit { rpm = 2 }
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = { rpm = 2 }, max_retries = 0 }
      assert(c.messages:create(body(10)))
      assert(c.messages:create(body(10)))
      local sonnet = body(10)
      sonnet.model = "claude-sonnet-4-6"
      assert(c.messages:create(sonnet)) -- (one bucket for both would wait half a minute here)
      assert(c.messages:create(sonnet))
      local r = c._transport.limiter:report()
      assert.equal(0, r.waits)
      assert.equal(0, r.waited)
      assert.equal(0, server:ratelimit {}.refused)
      c:close()
    end)

    it("paces token counting and batch creation in buckets of their own", function()
      local margin = limiter.MARGIN
      limiter.MARGIN = 1e-12
      finally(function() limiter.MARGIN = margin end)
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = "tier1" }
      local l = c._transport.limiter
      local count = body(10)
      count.max_tokens = nil
      assert(c.messages:count_tokens(count))
      local tc = l:report("token_count").buckets
      assert.same({ limit = 100, capacity = 100, level = 99 }, tc.rpm) -- tier 1: 100 token-counting requests
      assert.is_nil(tc.itpm)
      assert.is_nil(l:report().groups["claude-opus-4"]) -- Messages' buckets untouched
      assert(c.batches:create { requests = { { custom_id = "a", params = body(10) } } })
      assert.same({ limit = 50, capacity = 50, level = 49 }, l:report("batch").buckets.rpm)
      c:close()
      -- "auto": token counting's limit from its own answers' headers, the workspace's override
      local prod = server:create_api_keys { workspace_id = "Production", name = "p" }.keys[1]
      server:ratelimit { rpm = 30 }
      server:seed { merge = true, workspace_rate_limits = {
        { workspace_id = "Production", group_type = "token_count",
          limits = { { type = "requests_per_minute", value = 2 } } } } }
      c = anthropic.new { api_key = prod, base_url = server.url, rate_limit = "auto" }
      l = c._transport.limiter
      assert(c.messages:count_tokens(count))
      assert.equal(2, l:report("token_count").buckets.rpm.limit)
      assert(c.messages:create(body(10)))
      assert.equal(30, l:report("claude-opus-4-6").buckets.rpm.limit)
      c:close()
    end)

    it("takes a tier's numbers and a profile's rate_limit", function()
      local c = anthropic.new { api_key = key, base_url = server.url, rate_limit = "tier1" }
      assert.same({ limit = 30000, capacity = 30000, level = 30000 }, c._transport.limiter:report().buckets.itpm)
      c:close()
      local util = require "helpers.util"
      local dir = util.tmpdir()
      local path = util.write(dir .. "/config.lua", 'profile "p" { rate_limit = "tier2" }\n'
        .. 'profile "q" { rate_limit = { itpm = 5000 } }\n')
      c = anthropic.new { api_key = key, config_file = path, profile = "p" }
      assert.equal(450000, c._transport.limiter:report().buckets.itpm.limit)
      c:close()
      c = anthropic.new { api_key = key, config_file = path, profile = "q", rate_limit = { itpm = 7000 } }
      assert.equal(7000, c._transport.limiter:report().buckets.itpm.limit) -- the option wins
      assert.is_nil(c._transport.limiter:report().buckets.rpm)
      c:close()
      util.rmdir(dir)
    end)

    it("counts a 429 it still met, and waits out its retry-after", function()
      local c = anthropic.new { api_key = key, base_url = server.url, max_retries = 0,
        rate_limit = { rpm = 1000 } }
      assert(c.messages:create(body(10)))
      server:ratelimit { rpm = 1 } -- behind the client's back
      assert(c.messages:create(body(10)))
      local _, err = c.messages:create(body(10))
      assert.equal(429, err.status)
      local l = c._transport.limiter
      assert.equal(1, l:report().limited)
      assert.is_true(l:report().paused_until > require("anthropic.core").now())
      c:close()
    end)

    -- 16 tasks against limits the emulator enforces at 60 times the real speed: paced, the
    -- emulator refuses none; unpaced, it refuses some (so this test can fail).
    local function storm(paced)
      local speed, limits = 60, { rpm = 120, itpm = 3000, otpm = 2000 }
      server:ratelimit { rpm = limits.rpm, itpm = limits.itpm, otpm = limits.otpm, speed = speed }
      local c = anthropic.new { api_key = key, base_url = server.url, max_retries = 20, retry_after_cap = 2,
        rate_limit = paced and { rpm = limits.rpm * speed, itpm = limits.itpm * speed, otpm = limits.otpm * speed }
          or nil }
      local failed = 0
      for i = 1, 16 do
        anthropic.spawn(function()
          for k = 1, 2 do
            local m = c.messages:create(body(({ 400, 1600, 2400 })[(i + k) % 3 + 1], 32))
            if not m then failed = failed + 1 end
          end
        end)
      end
      anthropic.run()
      c:close()
      return server:ratelimit {}.refused, failed
    end

    it("paces tasks so that the emulator never answers 429, where unpaced tasks meet them", function()
      local refused, failed = storm(true)
      assert.equal(0, refused)
      assert.equal(0, failed)
      server:reset()
      refused = storm(false)
      assert.is_true(refused > 0)
    end)
  end)
end)
