--- Endpoints as data: one table per resource; resource.lua builds the methods from them.
-- Each entry: method, path ({name} segments are positional arguments, in order), and
--   pager = "cursor" | "token"  the method returns a pager instead of one answer
--   idempotent = false          not retried after an ambiguous failure (err.ambiguous)
--   check = function(params, transport)  extra validation; returns nil or a "config" error
--                               message (transport.api_version: the version requests are sent with)
--   params = { name = rule }    checked and converted before sending; a bad one raises (params.lua)
--   stream = true               sent with "stream": true; returns a stream (stream.lua)
--   metered = true              billed generation: the spend guard and pacing see it (guard.lua)
--   paced = "token_count"       limits of its own (requests per minute): pacing counts it in that
--                               group (rate_limit, limiter.lua); "batch" for batch creation
--   body = false                a POST that sends no body: it takes no params (any other POST
--                               requires a params table; a GET or DELETE takes one optionally)
--   beta = "name"               sent in the anthropic-beta header (with the client's own betas)
--   header_params = { name = header }  params sent as headers, not in the body (the SDK's
--                               workspace_id and user_profile_id); an id, else a "config" error
-- A resource table with scope = "arg" is called with that path argument first (endpoints_admin.lua).
local versions = require "anthropic.versions"
local deprecations = require "anthropic.deprecations"
local fields = require "anthropic.fields"

local M = {}

-- The SDKs' rule: a non-streaming request that may run past 10 minutes must stream instead.
local function nonstreaming_timeout(params)
  local max_tokens = type(params) == "table" and params.max_tokens
  if type(max_tokens) == "number" and not params.stream and 3600 * max_tokens / 128000 > 600 then
    return string.format("max_tokens = %d may take longer than 10 minutes without streaming; "
      .. "use client.messages:stream(params), or lower max_tokens to 21333 or less", max_tokens)
  end
end

-- A deprecated or retired model: a warning through the client's log, once per model.
local function warn_model(params, transport)
  local function emit(level, msg) transport:emit(level, msg) end
  deprecations.warn(params.model, transport.log ~= nil, emit)
  deprecations.warn_thinking(params, transport.log ~= nil, emit)
end

-- What the API version of the client refuses (versions.lua) and what the API answers with a 400
-- whatever the version (fields.lua), before anything is sent.
local function refusals(params, transport, for_count)
  if type(params) ~= "table" then return nil end
  warn_model(params, transport)
  return versions.refusal(transport.api_version, params) or fields.refusal(params, for_count)
end

local function message_checks(params, transport)
  return refusals(params, transport) or nonstreaming_timeout(params)
end

local function count_checks(params, transport)
  return refusals(params, transport, true)
end

-- max_tokens is read here (the 10-minute rule): a whole number, or the rule's arithmetic would
-- run on NaN or infinity; 0 pre-warms the prompt cache (no content). The model's own limit is
-- the API's to check.
local MESSAGE = { max_tokens = { int = { 0, 2147483647 } } }

-- The SDK's header params: sent as these headers, not in the body (resource.lua).
local HEADER_PARAMS = { workspace_id = "anthropic-workspace-id", user_profile_id = "anthropic-user-profile-id" }

M.messages = {
  create = { method = "POST", path = "/v1/messages", check = message_checks, metered = true, params = MESSAGE,
    header_params = HEADER_PARAMS },
  count_tokens = { method = "POST", path = "/v1/messages/count_tokens", check = count_checks, paced = "token_count",
    header_params = HEADER_PARAMS },
  stream = { method = "POST", path = "/v1/messages", stream = true, metered = true, params = MESSAGE,
    check = refusals, header_params = HEADER_PARAMS },
}

-- Message Batches (docs/batches.md). results and wait are in batches.lua: they are not one request.
local CUSTOM_ID = "^[%w_%-]+$"

local function batch_requests(params, transport)
  local reqs = type(params) == "table" and params.requests
  if type(reqs) ~= "table" or reqs[1] == nil then
    return "requests must be a non-empty list of { custom_id = ..., params = { ... } }"
  end
  local seen = {}
  for i, r in ipairs(reqs) do
    if type(r) ~= "table" then return string.format("requests[%d] must be a table (got %s)", i, type(r)) end
    local id = r.custom_id
    if type(id) ~= "string" or #id > 64 or not id:match(CUSTOM_ID) then
      return string.format("requests[%d].custom_id must match ^[a-zA-Z0-9_-]{1,64}$ (got %s)", i,
        type(id) == "string" and string.format("%q", id) or type(id))
    end
    if seen[id] then return string.format("requests[%d].custom_id %q is used twice (they must be unique)", i, id) end
    seen[id] = true
    if type(r.params) ~= "table" then
      return string.format("requests[%d].params must be a Messages request table (got %s)", i, type(r.params))
    end
    if r.params.stream ~= nil then return string.format("requests[%d].params.stream is not allowed in a batch", i) end
    warn_model(r.params, transport)
    local refused = versions.refusal(transport.api_version, r.params) or fields.refusal(r.params)
    if refused then return string.format("requests[%d].params: %s", i, refused) end
  end
  if #reqs > 100000 then return "a batch holds at most 100000 requests (got " .. #reqs .. ")" end
end

M.batches = {
  create = { method = "POST", path = "/v1/messages/batches", check = batch_requests, idempotent = false,
    paced = "batch" },
  get = { method = "GET", path = "/v1/messages/batches/{message_batch_id}" },
  list = { method = "GET", path = "/v1/messages/batches", pager = "cursor" },
  cancel = { method = "POST", path = "/v1/messages/batches/{message_batch_id}/cancel", body = false },
  delete = { method = "DELETE", path = "/v1/messages/batches/{message_batch_id}" },
}

M.models = {
  list = { method = "GET", path = "/v1/models", pager = "cursor" },
  get = { method = "GET", path = "/v1/models/{model_id}" },
}

return M
