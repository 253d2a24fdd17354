-- Message Batches: POST/GET /v1/messages/batches, GET/DELETE /v1/messages/batches/{id},
-- POST .../{id}/cancel, GET .../{id}/results (JSONL, sent a chunk of lines at a time; the
-- stream_* faults count lines there). Batches process on their own clock: the emulator clock
-- (POST /_emulator/clock {advance = s} moves it along) sped up `speed` times (default 1). A batch
-- ends processing_seconds after it was created (default 60; 0 ends it at once); one still
-- processing 24 h after creation expires its remaining requests. POST /_emulator/batches sets
-- processing_seconds, speed and failures (requests that come back errored as a server failure:
-- by custom_id, by a pattern, or a share of them chosen by a hash of the custom_id). Each other
-- request's result is what POST /v1/messages would answer (same validation, same content and
-- usage). See docs/emulator.md.
local control = require "anthropic.emulator.control"
local common = require "anthropic.emulator.admin.common"
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"
local messages = require "anthropic.emulator.messages"
local util = require "anthropic.emulator.util"

local M = {}

M.PROCESSING_SECONDS = 60
M.EXPIRES_SECONDS = 24 * 3600       -- a batch that has not ended by then expires
M.RESULTS_SECONDS = 29 * 24 * 3600  -- results stay available this long after the end
M.CANCEL_SECONDS = 1                -- a canceled batch ends this long after the cancel
M.MAX_REQUESTS = 100000

local function bad(message) return errors.response(400, message) end

-- The batches' clock: the emulator clock plus what `speed` added since it was set.
local function now(emu)
  local st = emu.batches
  return emu:now() + st.extra + (st.speed - 1) * (util.now() - st.since)
end

-- A number in [0, 1) from a custom_id (FNV-1a): the same ids fail at a given rate every run.
local function share(id)
  local h = 2166136261
  for i = 1, #id do h = ((h ~ id:byte(i)) * 16777619) % 4294967296 end
  return h / 4294967296
end

-- Whether the failures rule (POST /_emulator/batches {failures = ...}) makes this request fail.
local function fails(rule, id)
  if not rule then return false end
  return (rule.custom_ids and rule.custom_ids[id]) or (rule.pattern and id:find(rule.pattern) ~= nil)
    or (rule.rate and share(id) < rule.rate) or false
end

local function not_found(id)
  return errors.response(404, "message_batch_id: no batch with id " .. tostring(id))
end

-- The time request i (of n) finishes processing when nothing stops it.
local function finish_time(b, i)
  return b.created + (b.ends - b.created) * i / #b.requests
end

-- The result of one request: the Messages reply, or the error the Messages API would give.
local function outcome(emu, params, version, failure)
  local err
  if failure then
    err = errors.response(500, failure.message or "Internal server error", failure.type or "api_error")
  elseif type(params) ~= "table" then
    err = bad("params: Input should be a valid dictionary")
  elseif params.stream ~= nil then
    err = bad("stream: streaming is not supported in a batch")
  else
    err = messages.validate(emu, params, false, version)
  end
  if err then
    local body = err.body
    body.request_id = util.random_id("req_011C", 20)
    return { type = "errored", error = body }
  end
  local msg = messages.reply(params, messages.input_tokens(params))
  msg.usage.service_tier = "batch" -- (the Usage of a batch's answer says so)
  return { type = "succeeded", message = msg }
end

-- Bring the batch up to the emulator clock: end it (results and counts) when its time has come.
local function refresh(emu, b)
  if b.ended_at then return end
  local t = now(emu)
  local stop = b.cancel_at and math.min(b.ends, b.cancel_at + M.CANCEL_SECONDS) or b.ends
  local expires = b.created + M.EXPIRES_SECONDS
  if t < stop and t < expires then return end
  local ended = math.min(stop, expires)
  local counts = { processing = 0, succeeded = 0, errored = 0, canceled = 0, expired = 0 }
  local results = {}
  for i, r in ipairs(b.requests) do
    local res
    if finish_time(b, i) <= ended then
      res = outcome(emu, r.params, b.api_version, fails(b.failures, r.custom_id) and b.failures)
    elseif ended == expires and expires < stop then
      res = { type = "expired" }
    else
      res = { type = "canceled" }
    end
    counts[res.type] = counts[res.type] + 1
    results[i] = json.encode { custom_id = r.custom_id, result = res }
  end
  b.ended_at, b.counts, b.requests = ended, counts, nil
  b.results = results -- one JSON line each
end

local function time_or_null(t)
  return t and util.rfc3339(t) or json.null
end

local function info(emu, b, host)
  refresh(emu, b)
  local status = b.ended_at and "ended" or (b.cancel_at and "canceling" or "in_progress")
  local counts = b.counts or { processing = b.n, succeeded = 0, errored = 0, canceled = 0, expired = 0 }
  return {
    id = b.id, type = "message_batch", processing_status = status, request_counts = counts,
    created_at = util.rfc3339(b.created), expires_at = util.rfc3339(b.created + M.EXPIRES_SECONDS),
    ended_at = time_or_null(b.ended_at), cancel_initiated_at = time_or_null(b.cancel_at),
    archived_at = json.null,
    results_url = b.ended_at and ((emu.url or "http:"):match("^%a+") .. "://" .. (host or "127.0.0.1")
      .. "/v1/messages/batches/" .. b.id .. "/results")
      or json.null,
  }
end

-- The batch named by the path, or nil and a 404.
local function find(emu, req)
  local id = req.captures[1]
  local b = emu.batches.by_id[id]
  if not b then return nil, not_found(id) end
  return b
end

local function create(emu, req)
  local body, err = emu:json_body(req)
  if not body then return err end
  for k in pairs(body) do
    if k ~= "requests" then return bad(tostring(k) .. ": Extra inputs are not permitted") end
  end
  local list = body.requests
  if list == nil then return bad("requests: Field required") end
  if not common.is_list(list) then return bad("requests: Input should be a valid list") end
  if #list == 0 then return bad("requests: List should have at least 1 item after validation, not 0") end
  if #list > M.MAX_REQUESTS then
    return bad(string.format("requests: List should have at most %d items after validation, not %d",
      M.MAX_REQUESTS, #list))
  end
  local seen, requests = {}, {}
  for i, r in ipairs(list) do
    local at = "requests." .. (i - 1)
    if not common.is_object(r) then return bad(at .. ": Input should be a valid dictionary") end
    local id = r.custom_id
    if id == nil then return bad(at .. ".custom_id: Field required") end
    if type(id) ~= "string" or #id < 1 or #id > 64 or not id:match("^[%w_%-]+$") then
      return bad(at .. ".custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'")
    end
    if seen[id] then return bad(at .. ".custom_id: duplicate custom_id " .. id .. "; each must be unique") end
    seen[id] = true
    if r.params == nil then return bad(at .. ".params: Field required") end
    if not common.is_object(r.params) then return bad(at .. ".params: Input should be a valid dictionary") end
    for k in pairs(r) do
      if k ~= "custom_id" and k ~= "params" then
        return bad(at .. "." .. tostring(k) .. ": Extra inputs are not permitted")
      end
    end
    requests[i] = { custom_id = id, params = r.params }
  end
  local store = emu.batches
  local t = now(emu)
  local b = { id = util.random_id("msgbatch_01", 22), created = t, ends = t + store.processing_seconds,
              requests = requests, n = #requests, api_version = req.api_version, failures = store.failures }
  store.by_id[b.id] = b
  table.insert(store.order, 1, b)
  return { status = 200, body = info(emu, b, req.headers.host) }
end

local function list(emu, req)
  local page, err = common.page(emu.batches.order, req.params, function(b) return info(emu, b, req.headers.host) end)
  if not page then return err end
  return { status = 200, body = page }
end

local function get(emu, req)
  local b, err = find(emu, req)
  if not b then return err end
  return { status = 200, body = info(emu, b, req.headers.host) }
end

local function cancel(emu, req)
  local b, err = find(emu, req)
  if not b then return err end
  refresh(emu, b)
  if not b.ended_at and not b.cancel_at then
    b.cancel_at = now(emu)
  end
  return { status = 200, body = info(emu, b, req.headers.host) }
end

local function delete(emu, req)
  local b, err = find(emu, req)
  if not b then return err end
  refresh(emu, b)
  if not b.ended_at then
    return bad(string.format("Batch %s cannot be deleted while it is processing (processing_status %s); "
      .. "cancel it first and wait for processing to end", b.id, b.cancel_at and "canceling" or "in_progress"))
  end
  local store = emu.batches
  store.by_id[b.id] = nil
  for i, x in ipairs(store.order) do
    if x == b then table.remove(store.order, i) break end
  end
  return { status = 200, body = { id = b.id, type = "message_batch_deleted" } }
end

local function results(emu, req)
  local b, err = find(emu, req)
  if not b then return err end
  refresh(emu, b)
  if not b.ended_at then
    return bad(string.format("Batch %s has not ended (processing_status %s); results are available once it ends",
      b.id, b.cancel_at and "canceling" or "in_progress"))
  end
  if now(emu) >= b.ended_at + M.RESULTS_SECONDS then
    return errors.response(404, "The results of batch " .. b.id .. " are no longer available (kept 29 days)")
  end
  return { status = 200, lines = b.results, content_type = "application/x-jsonl" }
end

function M.register(emu, opts)
  local seconds = opts and opts.batch_seconds or M.PROCESSING_SECONDS
  if type(seconds) ~= "number" or seconds < 0 then return nil, "batch_seconds: must be a number >= 0" end
  local function reset()
    emu.batches = { by_id = {}, order = {}, processing_seconds = seconds, speed = 1, extra = 0, since = util.now() }
  end
  reset()
  emu:on_reset(reset)
  local ID = "^/v1/messages/batches/([^/]+)"
  emu:route("POST", "^/v1/messages/batches$", create, { auth = "api" })
  emu:route("GET", "^/v1/messages/batches$", list, { auth = "api" })
  emu:route("GET", ID .. "$", get, { auth = "api" })
  emu:route("DELETE", ID .. "$", delete, { auth = "api" })
  emu:route("POST", ID .. "/cancel$", cancel, { auth = "api" })
  emu:route("GET", ID .. "/results$", results, { auth = "api", line_body = true })
  control.add("POST /_emulator/batches", function(e, _, body)
    local store = e.batches
    local changes, err = M.check_settings(body)
    if not changes then return bad(err) end
    if changes.speed then -- what the old speed added so far stays; the new one counts from now
      store.extra = now(e) - e:now()
      store.since, store.speed = util.now(), changes.speed
    end
    if changes.processing_seconds then store.processing_seconds = changes.processing_seconds end
    if changes.failures ~= nil then store.failures = changes.failures or nil end
    return { status = 200, body = M.settings(e) }
  end)
  control.add("GET /_emulator/batches", function(e) return { status = 200, body = M.settings(e) } end)
end

-- What GET /_emulator/batches shows.
function M.settings(emu)
  local st = emu.batches
  local f = st.failures
  return { processing_seconds = st.processing_seconds, speed = st.speed, count = #st.order,
    now = util.rfc3339(now(emu)), failures = f and { rate = f.rate, pattern = f.pattern, custom_ids = f.ids,
      type = f.type, message = f.message } or json.null }
end

local ERROR_TYPES = { api_error = true, overloaded_error = true, rate_limit_error = true, timeout_error = true }

-- POST /_emulator/batches: { processing_seconds = n >= 0, speed = x >= 1 (the batches' clock runs
-- x times the emulator's), failures = { rate = 0..1, pattern = "^lua pattern on custom_id",
-- custom_ids = { ... }, type = "api_error" | "overloaded_error" | ..., message } | false (none) },
-- each optional. Failures apply to batches created after. -> the changes | nil, message
function M.check_settings(body)
  local c = {}
  local n = body.processing_seconds
  if n ~= nil then
    if type(n) ~= "number" or n < 0 or n ~= n then return nil, "processing_seconds: must be a number >= 0" end
    c.processing_seconds = n
  end
  local x = body.speed
  if x ~= nil then
    if type(x) ~= "number" or not (x >= 1 and x <= 1e9) then return nil, "speed: must be a number from 1 to 1e9" end
    c.speed = x
  end
  local f = body.failures
  if f == false or f == json.null then
    c.failures = false
  elseif f ~= nil then
    if type(f) ~= "table" then return nil, "failures: must be an object, or false for none" end
    local rule = { type = f.type, message = f.message }
    for k in pairs(f) do
      if k ~= "rate" and k ~= "pattern" and k ~= "custom_ids" and k ~= "type" and k ~= "message" then
        return nil, "failures." .. tostring(k) .. ": unknown (rate, pattern, custom_ids, type, message)"
      end
    end
    if f.rate ~= nil then
      if type(f.rate) ~= "number" or not (f.rate >= 0 and f.rate <= 1) then
        return nil, "failures.rate: must be a number from 0 to 1"
      end
      rule.rate = f.rate
    end
    if f.pattern ~= nil then
      if type(f.pattern) ~= "string" or not pcall(string.find, "", f.pattern) then
        return nil, "failures.pattern: must be a Lua pattern"
      end
      rule.pattern = f.pattern
    end
    if f.custom_ids ~= nil then
      if not common.is_list(f.custom_ids) then return nil, "failures.custom_ids: must be a list of custom_ids" end
      rule.custom_ids, rule.ids = {}, f.custom_ids
      for _, id in ipairs(f.custom_ids) do rule.custom_ids[tostring(id)] = true end
    end
    if f.type ~= nil and not ERROR_TYPES[f.type] then
      return nil, "failures.type: one of api_error, overloaded_error, rate_limit_error, timeout_error"
    end
    if f.message ~= nil and type(f.message) ~= "string" then return nil, "failures.message: must be a string" end
    c.failures = rule
  end
  if next(c) == nil then return nil, "give processing_seconds, speed or failures" end
  return c
end

return M
