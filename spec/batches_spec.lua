-- Message Batches against the emulator: create/get/list/cancel/delete, results (JSONL), wait,
-- client-side validation, and the emulator's clock-driven processing.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"

local MODEL = "claude-opus-4-6"

local function params(text, extra)
  local p = { model = MODEL, max_tokens = 64, messages = { { role = "user", content = text } } }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

describe("message batches", function()
  local emu, key, client
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    client = anthropic.new { api_key = key, base_url = emu.url, max_retries = 0 }
  end)
  after_each(function() client:close() end)

  local function processing(seconds)
    local res = assert(emu:request("POST", "/_emulator/batches", { processing_seconds = seconds }))
    assert.equal(200, res.status)
  end

  local function three()
    return assert(client.batches:create { requests = {
      { custom_id = "ok-1", params = params("Hello") },
      { custom_id = "bad_2", params = params("Hi", { max_tokens = -1 }) },
      { custom_id = "ok-3", params = params("Bye") },
    } })
  end

  it("creates a batch that is in progress until the emulator clock moves", function()
    local b = three()
    assert.matches("^msgbatch_", b.id)
    assert.equal("message_batch", b.type)
    assert.equal("in_progress", b.processing_status)
    assert.same({ processing = 3, succeeded = 0, errored = 0, canceled = 0, expired = 0 }, b.request_counts)
    assert.is_nil(b.results_url)
    assert.is_nil(b.ended_at)
    local y, mo, d, h, mi, s = b.created_at:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
    assert.is_not_nil(y)
    local ey, emo, ed, eh, emi, es = b.expires_at:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
    local function t(...) local a = { ... } return os.time { year = a[1], month = a[2], day = a[3],
      hour = a[4], min = a[5], sec = a[6] } end
    assert.equal(24 * 3600, t(ey, emo, ed, eh, emi, es) - t(y, mo, d, h, mi, s))

    emu:clock { advance = 61 }
    local got = assert(client.batches:get(b.id))
    assert.equal("ended", got.processing_status)
    assert.same({ processing = 0, succeeded = 2, errored = 1, canceled = 0, expired = 0 }, got.request_counts)
    assert.equal(emu.url .. "/v1/messages/batches/" .. b.id .. "/results", got.results_url)
    assert.is_string(got.ended_at)
  end)

  it("iterates every result line with its type, fetched from results_url "
    .. "(sent accept: application/binary, answered application/x-jsonl)", function()
    processing(0)
    local b = three()
    local seen = {}
    for line in client.batches:results(b.id) do seen[line.custom_id] = line.result end
    assert.equal("succeeded", seen["ok-1"].type)
    assert.equal("message", seen["ok-1"].message.type)
    assert.equal("You said: Hello", seen["ok-1"].message.content[1].text)
    assert.equal("succeeded", seen["ok-3"].type)
    assert.equal("errored", seen["bad_2"].type)
    assert.equal("error", seen["bad_2"].error.type)
    assert.equal("invalid_request_error", seen["bad_2"].error.error.type)
    assert.matches("max_tokens", seen["bad_2"].error.error.message)
    local log = emu:log().requests
    local last = log[#log]
    assert.equal("/v1/messages/batches/" .. b.id .. "/results", last.path)
    assert.equal("application/binary", last.headers.accept)
    -- the API's own content type for results (OpenAPI: application/x-jsonl)
    local res = emu:api("GET", "/v1/messages/batches/" .. b.id .. "/results", nil, key)
    assert.equal(200, res.status)
    assert.equal("application/x-jsonl", res.headers["content-type"])
  end)

  it("gives the same message as POST /v1/messages for the same params", function()
    processing(0)
    local b = assert(client.batches:create { requests = { { custom_id = "a", params = params("Same") } } })
    local line = client.batches:results(b.id)()
    local direct = assert(client.messages:create(params("Same")))
    assert.same(direct.content, line.result.message.content)
    -- the same usage, served from the batch tier (the SDK's Usage.service_tier)
    local usage = line.result.message.usage
    assert.equal("batch", usage.service_tier)
    assert.equal("standard", direct.usage.service_tier)
    usage.service_tier = "standard"
    assert.same(direct.usage, usage)
  end)

  it("refuses bad batches client-side with clear config errors", function()
    local _, err = client.batches:create { requests = {} }
    assert.equal("config", err.kind)
    assert.matches("non%-empty list", err.message)
    _, err = client.batches:create {}
    assert.equal("config", err.kind)
    _, err = client.batches:create { requests = { { custom_id = "has space", params = params("x") } } }
    assert.equal("config", err.kind)
    assert.matches("custom_id must match", err.message)
    _, err = client.batches:create { requests = { { custom_id = string.rep("a", 65), params = params("x") } } }
    assert.equal("config", err.kind)
    _, err = client.batches:create { requests = { { custom_id = "a", params = params("x") },
                                                  { custom_id = "a", params = params("y") } } }
    assert.matches("used twice", err.message)
    _, err = client.batches:create { requests = { { custom_id = "a" } } }
    assert.matches("params must be", err.message)
    assert.equal(0, #emu:log().requests) -- nothing was sent
    assert.has_error(function() client.batches:get("") end)
    assert.has_error(function() client.batches:results(nil) end)
  end)

  it("the emulator refuses the same bad batches with 400", function()
    local res = emu:api("POST", "/v1/messages/batches", { requests = {} }, key)
    assert.equal(400, res.status)
    res = emu:api("POST", "/v1/messages/batches", { requests = { { custom_id = "bad id", params = {} } } }, key)
    assert.equal(400, res.status)
    assert.matches("custom_id", res.json.error.message)
  end)

  it("cancels: canceling, then ended with canceled results, then delete", function()
    local b = three()
    local c = assert(client.batches:cancel(b.id))
    assert.equal("canceling", c.processing_status)
    assert.is_string(c.cancel_initiated_at)
    local _, err = client.batches:delete(b.id)
    assert.equal("api", err.kind)
    assert.equal(400, err.status)
    assert.equal("invalid_request_error", err.type)
    emu:clock { advance = 2 }
    local ended = assert(client.batches:get(b.id))
    assert.equal("ended", ended.processing_status)
    assert.same({ processing = 0, succeeded = 0, errored = 0, canceled = 3, expired = 0 }, ended.request_counts)
    for line in client.batches:results(b.id) do assert.equal("canceled", line.result.type) end
    local d = assert(client.batches:delete(b.id))
    assert.same({ id = b.id, type = "message_batch_deleted" }, d)
    _, err = client.batches:get(b.id)
    assert.equal(404, err.status)
    assert.equal("not_found_error", err.type)
  end)

  it("refuses delete while in progress with the API's error", function()
    local b = three()
    local _, err = client.batches:delete(b.id)
    assert.equal(400, err.status)
    assert.equal("invalid_request_error", err.type)
    assert.matches("cancel it first", err.message)
    assert.equal("in_progress", assert(client.batches:get(b.id)).processing_status)
  end)

  it("expires the requests not done 24 hours after creation", function()
    processing(48 * 3600)
    local b = three()
    emu:clock { advance = 24 * 3600 + 1 }
    local got = assert(client.batches:get(b.id))
    assert.equal("ended", got.processing_status)
    -- requests finish evenly over the 48 h: the first (at 16 h) made it, the others expired
    assert.same({ processing = 0, succeeded = 1, errored = 0, canceled = 0, expired = 2 }, got.request_counts)
    local types = {}
    for line in client.batches:results(b.id) do types[line.custom_id] = line.result.type end
    assert.same({ ["ok-1"] = "succeeded", bad_2 = "expired", ["ok-3"] = "expired" }, types)
  end)

  it("the emulator fails requests by custom_id, by pattern, or a share of them by a hash of the id", function()
    processing(0)
    local function counts(failures, n)
      assert.equal(200, emu:request("POST", "/_emulator/batches", { failures = failures }).status)
      local list = {}
      for i = 1, n do list[i] = { custom_id = "id-" .. i, params = params("q" .. i) } end
      local b = assert(client.batches:create { requests = list })
      local failed = {}
      for line in client.batches:results(b.id) do
        if line.result.type == "errored" then failed[#failed + 1] = line.custom_id end
      end
      table.sort(failed)
      return failed, assert(client.batches:get(b.id)).request_counts
    end
    local failed, c = counts({ custom_ids = { "id-2" }, pattern = "^id%-1%d$",
      type = "overloaded_error", message = "Overloaded" }, 12)
    assert.same({ "id-10", "id-11", "id-12", "id-2" }, failed)
    assert.same({ processing = 0, succeeded = 8, errored = 4, canceled = 0, expired = 0 }, c)
    local line
    for l in client.batches:results(assert(client.batches:list { limit = 1 }:all())[1].id) do
      if l.custom_id == "id-2" then line = l end
    end
    assert.same({ type = "overloaded_error", message = "Overloaded" }, line.result.error.error)
    assert.matches("^req_", line.result.error.request_id)
    -- a rate: about that share, and the same ids each time
    local a = counts({ rate = 0.3 }, 200)
    local again = counts({ rate = 0.3 }, 200)
    assert.same(a, again)
    assert.is_true(#a > 30 and #a < 90, #a .. " of 200 failed at a rate of 0.3")
    assert.same({}, (counts(false, 20))) -- false: no more failures
    -- refused settings say what is wrong
    for body, msg in pairs {
      [{ speed = 0.5 }] = "speed: must be a number from 1 to 1e9",
      [{ failures = { rate = 2 } }] = "failures.rate: must be a number from 0 to 1",
      [{ failures = { type = "nope" } }] = "failures.type: one of api_error",
      [{ failures = { colour = 1 } }] = "failures.colour: unknown",
      [{}] = "give processing_seconds, speed or failures",
    } do
      local res = emu:request("POST", "/_emulator/batches", body)
      assert.equal(400, res.status)
      assert.matches(msg, res.json.error.message, 1, true)
    end
  end)

  it("the emulator's batch clock runs `speed` times faster: batches end and expire in real time", function()
    processing(3600)
    local before = assert(emu:request("GET", "/_emulator/batches")).json
    assert.equal(1, before.speed)
    local function speed(x) assert.equal(200, emu:request("POST", "/_emulator/batches", { speed = x }).status) end
    speed(1e6)
    local b = three() -- an hour of batch time passes in 3.6 ms
    local got = assert(client.batches:wait(b.id, { interval = 0.01, timeout = 30 }))
    assert.same({ processing = 0, succeeded = 2, errored = 1, canceled = 0, expired = 0 }, got.request_counts)
    processing(1e9) -- more than 24 h of batch time: the batch expires, at 24 h, with nothing done
    b = three()
    got = assert(client.batches:wait(b.id, { interval = 0.01, timeout = 30 }))
    assert.same({ processing = 0, succeeded = 0, errored = 0, canceled = 0, expired = 3 }, got.request_counts)
    assert.equal(got.expires_at, got.ended_at)
    speed(1) -- (else the 29 days the results are kept pass in 2.5 s; the time gained stays)
    assert.is_true(assert(emu:request("GET", "/_emulator/batches")).json.now > got.ended_at)
    for line in client.batches:results(b.id) do assert.equal("expired", line.result.type) end
    emu:reset()
    assert.equal(1, assert(emu:request("GET", "/_emulator/batches")).json.speed)
  end)

  it("lists newest first and pages both ways", function()
    processing(0)
    local ids = {}
    for i = 1, 5 do
      ids[i] = assert(client.batches:create { requests = { { custom_id = "r" .. i, params = params("n" .. i) } } }).id
    end
    local all = assert(client.batches:list { limit = 2 }:all())
    assert.equal(5, #all)
    for i = 1, 5 do assert.equal(ids[6 - i], all[i].id) end -- newest first
    local first = assert(client.batches:list { limit = 2 }:page())
    assert.is_true(first.has_more)
    assert.equal(ids[5], first.first_id)
    assert.equal(ids[4], first.last_id)
    local back = assert(client.batches:list { limit = 2, before_id = ids[1] }:all())
    local back_ids = {}
    for i, x in ipairs(back) do back_ids[i] = x.id end
    assert.same({ ids[3], ids[2], ids[5], ids[4] }, back_ids) -- page by page, walking backwards
  end)

  it("results on an unknown id raise the error object", function()
    local ok, err = pcall(function()
      for _ in client.batches:results("msgbatch_nope") do end
    end)
    assert.is_false(ok)
    assert.is_true(anthropic.is_error(err))
    assert.equal(404, err.status)
    assert.equal("not_found_error", err.type)
    local _, e2 = client.batches:cancel("msgbatch_nope")
    assert.equal(404, e2.status)
    _, e2 = client.batches:delete("msgbatch_nope")
    assert.equal(404, e2.status)
  end)

  it("results before the end raise the server's error", function()
    local b = three()
    local ok, err = pcall(client.batches.results, client.batches, b.id)
    assert.is_false(ok)
    assert.equal(400, err.status)
    assert.matches("has not ended", err.message)
  end)

  it("wait returns the ended batch (instant processing)", function()
    processing(0)
    local b = three()
    local got = assert(client.batches:wait(b.id, { interval = 0.01 }))
    assert.equal("ended", got.processing_status)
  end)

  it("wait times out with kind timeout", function()
    local b = three()
    local got, err = client.batches:wait(b.id, { interval = 0.01, timeout = 0.05 })
    assert.is_nil(got)
    assert.equal("timeout", err.kind)
    assert.equal("in_progress", err.details.batch.processing_status)
  end)

  it("wait in a task yields between polls: other tasks run and anthropic.run() does not stall", function()
    local b = three()
    local ticks = 0
    local waiter = anthropic.spawn(function()
      return client.batches:wait(b.id, { interval = 0.01, timeout = 30 })
    end)
    local other = anthropic.spawn(function()
      while ticks < 3 do
        ticks = ticks + 1
        coroutine.yield()
      end
      emu:clock { advance = 61 } -- processing ends on the emulator clock while the waiter polls
      return true
    end)
    anthropic.run()
    assert.is_true(other:wait())
    local got = assert(waiter:wait())
    assert.equal("ended", got.processing_status)
    assert.equal(3, ticks)
  end)
end)
