-- The fault matrix: every call style against every fault, on the emulator. Each cell asserts the
-- documented outcome (a typed error, or a success after the allowed retries), then that a good
-- request still works on the shared engine, that no transfer is left running, and that no key
-- shows in any error or log line. The observed outcomes are the table in
-- docs/errors-and-retries.md: ANTHROPIC_WRITE_MATRIX=path writes them (make fault-matrix), and
-- the last test fails when the committed table differs.
--
-- Add a fault: one entry in ROWS. Add a call style: one entry in COLUMNS.
local anthropic = require "anthropic"
local transport = require "anthropic.transport"
local emulator = require "helpers.emulator"
local matrix = require "helpers.fault_matrix"
local util = require "helpers.util"
local socket = require "socket"

local PARAMS = { model = "claude-opus-4-6", max_tokens = 64,
  messages = { { role = "user", content = "one two three four five six seven eight nine ten eleven twelve" } } }
local MID_AFTER = 4           -- stream mid-way: message_start, content_block_start, ping, one text delta
local RA_MS = { ["retry-after-ms"] = "20" }
local BASE_OPTS = { max_retries = 1, timeout = 5, connect_timeout = 2, retry_after_cap = 2 }
local COUNT = 20              -- a fault lasts this many requests (more than any cell makes) unless given

local has_stream = require("anthropic.endpoints").messages.stream ~= nil
local has_reconcile, reconcile = pcall(require, "anthropic.reconcile")
local NO_STREAM = "client.messages:stream is not in the tree yet"

local function run_stream(c)
  local s, err = c.messages:stream(PARAMS)
  if not s then return nil, err end
  local msg, err2 = s:final()
  s:close()
  return msg, err2
end

-- Plans and applies an organization file that creates one workspace. A failed action is the
-- outcome's error; a create the server made before the failure is adopted ("ok (adopted)").
local function run_reconcile(admin)
  local config = assert(reconcile.load_string('workspace "Fault Matrix" {}', "org.lua"))
  local result, err = reconcile.apply(admin, config)
  if not result then return nil, err end
  if #result.failed > 0 then return nil, result.failed[1].error end
  assert(result.converged, "the apply did not converge")
  return result, nil, result.done[1] and result.done[1].outcome == "adopted" and "adopted" or nil
end

-- Call styles. path, method: the request a row's fault is put on (skip: after that many such
-- requests); run(client) -> value | nil, err [, note]; pending: why the column does not run yet.
local COLUMNS = {
  { id = "plain", title = "`messages:create`", path = "/v1/messages", method = "POST",
    run = function(c) return c.messages:create(PARAMS) end },
  { id = "stream_start", title = "`messages:stream`, before the first event", path = "/v1/messages",
    method = "POST", stream = true, run = run_stream, pending = not has_stream and NO_STREAM or nil },
  { id = "stream_mid", title = "`messages:stream`, mid-way (after " .. MID_AFTER .. " events)",
    path = "/v1/messages", method = "POST", stream = true, mid = true, run = run_stream,
    pending = not has_stream and NO_STREAM or nil },
  { id = "admin_list", title = "admin `api_keys:list{limit = 2}:all()`, fault on page 2", admin = true,
    path = "/v1/organizations/api_keys", method = "GET", skip = 1,
    run = function(c) return c.api_keys:list { limit = 2 }:all() end },
  { id = "reconcile", title = "reconcile apply, fault on the workspace create", admin = true,
    path = "/v1/organizations/workspaces", method = "POST", run = run_reconcile,
    pending = not has_reconcile and "lua/anthropic/reconcile is not in the tree yet" or nil },
}

-- Faults. Fields:
--   id, label   the row
--   url         instead of a fault: "refused" (a closed loopback port), "dns" (a bogus host),
--               "tls" (https:// to a plain-http emulator's port: the emulator's own, or under
--               `make test-tls`, whose emulators serve https, one started for it); then the
--               whole call fails
--   fault       the emulator fault spec (it lasts COUNT requests unless it gives a count)
--   stream      the spec for a stream before its first event, when not `fault`
--   mid         the spec for a stream mid-way (after = MID_AFTER unless given); none: n/a
--   opts        client options for this row (over BASE_OPTS)
--   na          { [column id] = why the cell does not apply }
--   expect      the outcome (see helpers/fault_matrix.lua); [column id] = an outcome for that column
local STREAM_DRIP = "n/a: `min_speed` is not applied to streams (their `timeout` is an idle limit)"
local function mid_api(etype) -- a status mid-stream: an error event after MID_AFTER events
  return "api " .. etype .. ", ambiguous, 1 attempt, after " .. MID_AFTER + 1 .. " events"
end
local ROWS = {
  { id = "refused", label = "connection refused", url = "refused",
    expect = "connection, retryable, 2 attempts" },
  { id = "dns", label = "DNS failure (`nonexistent.invalid`)", url = "dns",
    expect = "connection, retryable, 2 attempts" },
  -- (connect_timeout covers the handshake; under valgrind a client's first TLS set-up alone can
  -- take seconds, and the emulator refuses the hello at once, so a long limit costs nothing)
  { id = "tls", label = "TLS failure (`https://` to a plain-http port)", url = "tls",
    opts = { connect_timeout = 30 }, expect = "tls, 1 attempt" },
  { id = "reset_before", label = "reset before headers", fault = { action = "reset_before_headers" },
    expect = "connection, retryable, ambiguous, 2 attempts, 3 sent",
    admin_list = "connection, retryable, 2 attempts, 3 sent",
    reconcile = "connection, ambiguous, 1 attempt, 3 sent" },
  { id = "reset_mid", label = "reset mid-body", fault = { action = "reset_after_headers" },
    mid = { action = "stream_reset_after" },
    expect = "connection 200, retryable, ambiguous, 2 attempts",
    admin_list = "connection 200, retryable, 2 attempts",
    stream_start = "connection 200, retryable, ambiguous, 2 attempts",
    stream_mid = "connection, ambiguous, 1 attempt, after " .. MID_AFTER .. " events",
    reconcile = "connection 200, ambiguous, 1 attempt, 3 sent" },
  { id = "stall", label = "stall past the timeout (0.3 s)", fault = { action = "stall" },
    mid = { action = "stream_stall_after" }, opts = { timeout = 0.3 },
    expect = "timeout, retryable, ambiguous, 2 attempts", admin_list = "timeout, retryable, 2 attempts",
    stream_mid = "timeout, ambiguous, 1 attempt, after " .. MID_AFTER .. " events",
    reconcile = "timeout, ambiguous, 1 attempt, 3 sent" },
  { id = "drip", label = "slow drip (4 B/s) below `min_speed = {1000, 1}`, with `max_retries = 0`",
    fault = { action = "slow_drip", rate = 4 }, opts = { min_speed = { 1000, 1 }, max_retries = 0 },
    na = { stream_start = STREAM_DRIP, stream_mid = STREAM_DRIP },
    expect = "timeout 200, retryable, ambiguous, 1 attempt", admin_list = "timeout 200, retryable, 1 attempt",
    reconcile = "ok (adopted), 1 attempt" },
  { id = "429_ra", label = "429 with `retry-after: 0.05`",
    fault = { status = 429, headers = { ["retry-after"] = "0.05" } }, mid = { status = 429 },
    expect = "api 429 rate_limit_error, retryable, 2 attempts, retry_after 0.05",
    stream_mid = mid_api("rate_limit_error"),
    reconcile = "api 429 rate_limit_error, retryable, 2 attempts, 6 sent, retry_after 0.05" },
  { id = "429", label = "429 without `retry-after`", fault = { status = 429 }, mid = { status = 429 },
    expect = "api 429 rate_limit_error, retryable, 2 attempts", stream_mid = mid_api("rate_limit_error"),
    reconcile = "api 429 rate_limit_error, retryable, 2 attempts, 6 sent" },
  { id = "500", label = "500 (`retry-after-ms: 20`)", fault = { status = 500, headers = RA_MS }, mid = { status = 500 },
    expect = "api 500 api_error, retryable, ambiguous, 2 attempts, retry_after 0.02",
    admin_list = "api 500 api_error, retryable, 2 attempts, retry_after 0.02", stream_mid = mid_api("api_error"),
    reconcile = "api 500 api_error, ambiguous, 1 attempt, 3 sent, retry_after 0.02" },
  { id = "529", label = "529 (`retry-after-ms: 20`)", fault = { status = 529, headers = RA_MS }, mid = { status = 529 },
    expect = "api 529 overloaded_error, retryable, 2 attempts, retry_after 0.02",
    stream_mid = mid_api("overloaded_error"),
    reconcile = "api 529 overloaded_error, retryable, 2 attempts, 6 sent, retry_after 0.02" },
  { id = "529_once", label = "529 once, then a good answer", fault = { status = 529, headers = RA_MS, count = 1 },
    expect = "ok, 2 attempts" },
  { id = "malformed", label = "malformed JSON", fault = { action = "malformed_json" },
    stream = { action = "malformed_json", after = 0 }, mid = { action = "malformed_json" },
    expect = "decode 200, 1 attempt", stream_start = "decode, ambiguous, 1 attempt, after 1 event",
    stream_mid = "decode, ambiguous, 1 attempt, after " .. MID_AFTER + 1 .. " events" },
  { id = "html", label = "an HTML error page (413)", fault = { action = "html_413" },
    expect = "api 413 request_too_large, 1 attempt" },
  { id = "huge", label = "a body over the size limit (`max_body = 65536`, 256 KiB sent; streams: one event of "
      .. "17 MiB, over the 16 MiB event limit)", opts = { max_body = 65536 },
    fault = { action = "huge_body", size = 256 * 1024 }, stream = { action = "huge_body", size = 17 * 2 ^ 20 },
    mid = { action = "huge_body", size = 17 * 2 ^ 20 },
    expect = "connection 200, ambiguous, 1 attempt", admin_list = "connection 200, 1 attempt",
    stream_start = "connection, ambiguous, 1 attempt, after 2 events",
    stream_mid = "connection, ambiguous, 1 attempt, after " .. MID_AFTER .. " events",
    reconcile = "ok (adopted), 1 attempt" },
  { id = "oversize_header", label = "an oversize header (200 KiB)", fault = { action = "oversize_header" },
    expect = "connection 200, ambiguous, 1 attempt", admin_list = "connection 200, 1 attempt",
    reconcile = "ok (adopted), 1 attempt" },
  { id = "redirect", label = "a redirect (307) to another host", fault = { action = "redirect" },
    expect = "api 307 redirect, 1 attempt" },
}

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

-- A loopback port nobody listens on: bind one, note it, close it.
local function closed_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

local observed = {} -- [row id][column id] = outcome text
local runnable = 0  -- cells that run (the others are recorded as n/a or pending at once)

local function record(row, col, text)
  observed[row.id] = observed[row.id] or {}
  observed[row.id][col.id] = text
end

describe("fault matrix", function()
  local emu, other, plain, key, admin_key, good
  setup(function()
    key = emulator.make_key("api03")
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { key, admin_key } }
    other = emulator.start { keys = {} } -- the redirect's other host
    -- the TLS row's plain-http port (under `make test-tls` the others serve https)
    plain = emu.url:match("^http:") and emu or emulator.start { keys = {}, tls = false }
    good = anthropic.new { api_key = key, base_url = emu.url }
  end)
  teardown(function()
    good:close()
    emu:stop()
    other:stop()
    plain:stop()
  end)

  local function engine_idle(where)
    local eng = transport.engine()
    assert.equal(0, eng:step(), where .. ": a transfer is still running")
    assert.is_nil(eng:timeout(), where .. ": the engine still wants to run")
  end

  local function base_url(row)
    if row.url == "refused" then return "http://127.0.0.1:" .. closed_port() end
    if row.url == "dns" then return "https://nonexistent.invalid" end
    if row.url == "tls" then return (plain.url:gsub("^http:", "https:")) end
    return emu.url
  end

  -- The fault spec for this row and column.
  local function fault_for(row, col)
    local spec
    if col.mid then
      spec = copy(row.mid)
      spec.after = spec.after or MID_AFTER
    else
      spec = copy(col.stream and row.stream or row.fault)
      spec.count = spec.count or COUNT
    end
    if spec.action == "redirect" then spec.location = other.url .. col.path end
    spec.path, spec.method, spec.skip = col.path, col.method, col.skip
    return spec
  end

  -- Requests the emulator saw for the faulted call: those with the method, path and query of the
  -- first faulted one (libcurl's own re-sends and reconcile's tries count; other pages do not).
  local function sent()
    local requests, first = emu:log().requests, nil
    for _, r in ipairs(requests) do
      if r.fault then first = first or r end
    end
    local n = 0
    for _, r in ipairs(requests) do
      if first and r.method == first.method and r.path == first.path and r.query == first.query then n = n + 1 end
    end
    return n
  end

  local function run_cell(row, col)
    emu:reset()
    local spec
    if not row.url then
      spec = fault_for(row, col)
      emu:faults { spec }
    end
    local lines = {}
    local opts = copy(BASE_OPTS)
    for k, v in pairs(row.opts or {}) do opts[k] = v end
    opts.api_key = col.admin and admin_key or key
    opts.base_url = base_url(row)
    opts.log = function(level, msg) lines[#lines + 1] = level .. " " .. msg end
    local c = col.admin and anthropic.admin(opts) or anthropic.new(opts)
    local value, err, note = col.run(c)
    c:close()
    local where = row.label .. " / " .. col.title

    -- the outcome: the engine's attempts (one more than the retries it logged), and the requests
    -- the emulator saw for them (libcurl re-sends on its own when a reused connection dies at once)
    local retries = 0
    for _, l in ipairs(lines) do
      if l:find("^warn .* failed") then retries = retries + 1 end
    end
    local attempts = err and err.attempts or retries + 1
    local text = matrix.summary(err, attempts, not row.url and sent() or nil, note)
    record(row, col, text)
    if err then
      assert.is_true(anthropic.is_error(err), where .. ": not an error object")
      assert.is_string(err.message)
    else
      assert.is_not_nil(value, where)
    end
    -- nothing leaks, in the error or the log lines
    local texts = util.strings(err)
    for _, l in ipairs(lines) do texts[#texts + 1] = l end
    for _, s in ipairs(texts) do
      util.assert_no_leak(s, key, where .. ": " .. s:sub(1, 200))
      util.assert_no_leak(s, admin_key, where .. ": " .. s:sub(1, 200))
    end
    if spec and spec.action == "redirect" then
      assert.equal(0, #other:log().requests, where .. ": the other host got a request")
    end
    -- nothing left running; the engine still works
    collectgarbage()
    engine_idle(where)
    emu:reset()
    local msg, gerr = good.messages:create(PARAMS)
    assert.is_nil(gerr, where .. ": the next request failed: " .. tostring(gerr))
    assert.equal("message", msg.type)
    engine_idle(where .. " (after a good request)")
    return text, lines
  end

  for _, row in ipairs(ROWS) do
    for _, col in ipairs(COLUMNS) do
      local name = row.label .. " | " .. col.title
      local na = row.na and row.na[col.id]
      if not na and col.mid and row.url then na = "n/a" end
      if not na and col.mid and not row.mid then na = "n/a" end
      if na then
        record(row, col, na)
      elseif col.pending then
        record(row, col, "pending: " .. col.pending)
        pending(name .. ": " .. col.pending)
      else
        runnable = runnable + 1
        it(name, function()
          local got, lines = run_cell(row, col)
          -- (the log lines say what each attempt met, should a cell come out otherwise)
          assert.equal(row[col.id] or row.expect, got, name .. "\n" .. table.concat(lines, "\n"))
        end)
      end
    end
  end

  describe("what the matrix relies on", function()
    it("a refused connection ends in the step that started it (no wait for a poll's timeout)", function()
      local e = require("anthropic.core").engine()
      local t = assert(e:submit { method = "GET", url = "http://127.0.0.1:" .. closed_port() .. "/", headers = {},
        max_retries = 0 })
      local t0 = socket.gettime()
      while not t:done() do e:wait(1) end
      assert.equal("connection", t:result().error.kind)
      assert.is_true(socket.gettime() - t0 < 0.5, "took " .. socket.gettime() - t0 .. " s")
      e:close()
    end)

    it("min_speed is two whole numbers >= 1", function()
      for _, bad in ipairs { {}, { 1000 }, { 0, 1 }, { 1000, 0.5 }, { "1000", 1 }, { 1000, 1.5 }, { 1, 1, 1 } } do
        local ok, err = pcall(anthropic.new, { api_key = key, min_speed = bad })
        assert.is_false(ok)
        assert.equal("config", err.kind)
        assert.matches("^option 'min_speed[%[%]%d]*' for anthropic%.new .*{ bytes_per_second, seconds }", err.message)
      end
      assert.has_error(function() anthropic.new { api_key = key, min_speed = 1000 } end)
      anthropic.new({ api_key = key, min_speed = { 1, 1 } }):close()
    end)

    it("min_speed does not cut a slow but healthy stream (its timeout is an idle limit)", function()
      emu:reset()
      emu:stream_options { event_delay = 0.15 } -- about 1.5 s for the whole stream, far below 100 kB/s
      local c = anthropic.new { api_key = key, base_url = emu.url, min_speed = { 100000, 1 } }
      local s = assert(c.messages:stream(PARAMS))
      local msg, err = s:final()
      s:close()
      c:close()
      emu:stream_options { event_delay = 0 }
      assert.is_nil(err)
      assert.equal("end_turn", msg.stop_reason)
      engine_idle("after the slow stream")
    end)
  end)

  it("the table in " .. matrix.DOC .. " is the one observed", function()
    local obs = { columns = {}, rows = {}, cells = observed }
    for _, c in ipairs(COLUMNS) do obs.columns[#obs.columns + 1] = { c.id, c.title } end
    for _, r in ipairs(ROWS) do obs.rows[#obs.rows + 1] = { r.id, r.label } end
    local out = os.getenv("ANTHROPIC_WRITE_MATRIX")
    if out and out ~= "" then
      util.write(out, matrix.encode(obs), "644")
      return
    end
    local ran = 0
    for _, r in ipairs(ROWS) do
      for _, c in ipairs(COLUMNS) do
        local text = observed[r.id] and observed[r.id][c.id]
        if text and not text:find("^n/a") and not text:find("^pending") then ran = ran + 1 end
      end
    end
    if ran < runnable then return end -- a filtered run: nothing to compare
    local doc = assert(util.read(matrix.DOC))
    local section = assert(matrix.section(doc))
    assert.equal(matrix.render(obs), section,
      matrix.DOC .. " differs from what the fault matrix observed: run `make fault-matrix`")
  end)
end)
