--- Endpoints as data: one table per resource; resource.lua builds the methods from them.
-- Each entry: method, path ({name} segments are positional arguments, in order), and
--   pager = "cursor" | "token"  the method returns a pager instead of one answer
--   idempotent = false          not retried after an ambiguous failure (err.ambiguous)
--   check = function(params)    extra validation; returns nil or a "config" error message
--   params = { name = rule }    checked and converted before sending; a bad one raises (params.lua)
--   stream = true               sent with "stream": true; returns a stream (stream.lua)
-- A resource table with scope = "arg" is called with that path argument first (endpoints_admin.lua).
local M = {}

-- The SDKs' rule: a non-streaming request that may run past 10 minutes must stream instead.
local function nonstreaming_timeout(params)
  local max_tokens = type(params) == "table" and params.max_tokens
  if type(max_tokens) == "number" and not params.stream and 3600 * max_tokens / 128000 > 600 then
    return string.format("max_tokens = %d may take longer than 10 minutes without streaming; "
      .. "use client.messages:stream(params), or lower max_tokens to 21333 or less", max_tokens)
  end
end

M.messages = {
  create = { method = "POST", path = "/v1/messages", check = nonstreaming_timeout },
  count_tokens = { method = "POST", path = "/v1/messages/count_tokens" },
  stream = { method = "POST", path = "/v1/messages", stream = true },
}

M.models = {
  list = { method = "GET", path = "/v1/models", pager = "cursor" },
  get = { method = "GET", path = "/v1/models/{model_id}" },
}

return M
