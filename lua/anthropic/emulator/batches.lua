-- Message Batches: POST/GET /v1/messages/batches, GET/DELETE /v1/messages/batches/{id},
-- POST .../{id}/cancel, GET .../{id}/results (JSONL). Batches process on the emulator clock:
-- a batch ends processing_seconds after it was created (default 60; 0 ends it at once), so
-- POST /_emulator/clock {advance = s} moves it along; POST /_emulator/batches
-- {processing_seconds = n} sets the time for new batches. Each request's result is what
-- POST /v1/messages would answer (same validation, same content and usage). See docs/emulator.md.
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

local function not_found(id)
  return errors.response(404, "message_batch_id: no batch with id " .. tostring(id))
end

-- The time request i (of n) finishes processing when nothing stops it.
local function finish_time(b, i)
  return b.created + (b.ends - b.created) * i / #b.requests
end

-- The result of one request: the Messages reply, or the error the Messages API would give.
local function outcome(emu, params, version)
  local err
  if type(params) ~= "table" then
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
  local now = emu:now()
  local stop = b.cancel_at and math.min(b.ends, b.cancel_at + M.CANCEL_SECONDS) or b.ends
  local expires = b.created + M.EXPIRES_SECONDS
  if now < stop and now < expires then return end
  local ended = math.min(stop, expires)
  local counts = { processing = 0, succeeded = 0, errored = 0, canceled = 0, expired = 0 }
  local results = {}
  for i, r in ipairs(b.requests) do
    local res
    if finish_time(b, i) <= ended then
      res = outcome(emu, r.params, b.api_version)
    elseif ended == expires and expires < stop then
      res = { type = "expired" }
    else
      res = { type = "canceled" }
    end
    counts[res.type] = counts[res.type] + 1
    results[i] = json.encode { custom_id = r.custom_id, result = res }
  end
  b.ended_at, b.counts, b.requests = ended, counts, nil
  b.results = table.concat(results, "\n") .. "\n"
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
  local now = emu:now()
  local b = { id = util.random_id("msgbatch_01", 22), created = now, ends = now + store.processing_seconds,
              requests = requests, n = #requests, api_version = req.api_version }
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
    b.cancel_at = emu:now()
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
  if emu:now() >= b.ended_at + M.RESULTS_SECONDS then
    return errors.response(404, "The results of batch " .. b.id .. " are no longer available (kept 29 days)")
  end
  return { status = 200, body = b.results, content_type = "application/x-jsonl" }
end

function M.register(emu, opts)
  local seconds = opts and opts.batch_seconds or M.PROCESSING_SECONDS
  if type(seconds) ~= "number" or seconds < 0 then return nil, "batch_seconds: must be a number >= 0" end
  local function reset()
    emu.batches = { by_id = {}, order = {}, processing_seconds = seconds }
  end
  reset()
  emu:on_reset(reset)
  local ID = "^/v1/messages/batches/([^/]+)"
  emu:route("POST", "^/v1/messages/batches$", create, { auth = "api" })
  emu:route("GET", "^/v1/messages/batches$", list, { auth = "api" })
  emu:route("GET", ID .. "$", get, { auth = "api" })
  emu:route("DELETE", ID .. "$", delete, { auth = "api" })
  emu:route("POST", ID .. "/cancel$", cancel, { auth = "api" })
  emu:route("GET", ID .. "/results$", results, { auth = "api" })
  -- { processing_seconds = n }: how long new batches take on the emulator clock (0: they end at once).
  control.add("POST /_emulator/batches", function(e, _, body)
    local n = body.processing_seconds
    if type(n) ~= "number" or n < 0 or n ~= n then return bad("processing_seconds: must be a number >= 0") end
    e.batches.processing_seconds = n
    return { status = 200, body = { processing_seconds = n } }
  end)
  control.add("GET /_emulator/batches", function(e)
    return { status = 200, body = { processing_seconds = e.batches.processing_seconds, count = #e.batches.order } }
  end)
end

return M
