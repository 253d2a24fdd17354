--- Message Batches: the parts that are not one request (the others are data in endpoints.lua).
--   client.batches:results(id)      iterator over the decoded JSONL result lines (raises err)
--   client.batches:wait(id, opts)   polls get(id) until processing_status == "ended"
-- See docs/batches.md.
local errors = require "anthropic.error"
local lines = require "anthropic.lines"
local query = require "anthropic.query"
local tasks = require "anthropic.tasks"
local options = require "anthropic.options"

local M = {}

-- batches:wait's options (options.lua; the table in docs/getting-started.md). A batch ends
-- within 24 hours; a timeout of up to a week leaves room for a slow one.
M.WAIT_OPTS = { type = "table", fields = {
  interval = { type = "number", unit = "seconds", min = 0, max = 86400, default = 5 },
  timeout = { type = "number", unit = "seconds", min = 0, max = 604800 },
} }

local function check_id(label, id)
  if type(id) ~= "string" or id == "" or id == "." or id == ".." then
    error(string.format("batches:%s: argument #1 (message_batch_id) must be a non-empty batch id (got %s)",
      label, type(id) == "string" and string.format("%q", id) or type(id)), 3)
  end
end

-- The path to fetch the results from: the batch's results_url when it is on this client's
-- base_url (the key never goes to another host), else the documented path.
local function results_path(transport, id, batch)
  local url = type(batch) == "table" and batch.results_url
  local base = transport.base_url
  if type(url) == "string" and url:sub(1, #base + 1) == base .. "/" then return url:sub(#base + 1) end
  return "/v1/messages/batches/" .. query.escape(id) .. "/results"
end

-- The client's headers with accept: application/binary, as the Python SDK sends for results.
local function binary_headers(transport)
  if not transport._binary_headers then
    local h = {}
    for i, line in ipairs(transport.headers) do
      h[i] = line:lower():match("^accept:") and "accept: application/binary" or line
    end
    transport._binary_headers = h
  end
  return transport._binary_headers
end

--- Extra methods of client.batches for a transport.
function M.extras(transport)
  local extras = {}

  --- Iterator over the batch's results: { custom_id, result = { type = "succeeded", message } |
  -- { type = "errored", error } | { type = "canceled" } | { type = "expired" } }, in any order.
  -- The batch must have ended (the server refuses otherwise). Raises the error object on
  -- failure (unknown id, not ended, a body cut short, a line that is not JSON, ...). The body is
  -- read as it arrives, a line at a time (lines.lua): memory stays flat for any batch size.
  -- Fourth value: the reader, which a Lua 5.4 for loop closes when it ends (break too), canceling
  -- the transfer; r:close() does it by hand.
  function extras.results(self, id)
    check_id("results", id)
    local batch, err = self:get(id)
    if not batch then errors.raise(err) end
    local r
    r, err = lines.open(transport, { method = "GET", path = results_path(transport, id, batch),
                                     headers = binary_headers(transport) }, { what = "results line" })
    if not r then errors.raise(err) end
    return function()
      local value, rerr = r:next()
      if rerr then errors.raise(rerr) end
      return value
    end, nil, nil, r
  end

  --- Poll get(id) every opts.interval seconds (default 5) until processing_status is "ended"
  -- -> batch | nil, err (kind "timeout" after opts.timeout seconds, default none). Inside a task
  -- it yields between polls (tasks.sleep); outside one it blocks like every call.
  function extras.wait(self, id, opts)
    check_id("wait", id)
    opts = opts or {}
    options.assert(M.WAIT_OPTS, opts, { "batches:wait: ", "opts", "" }, 2)
    local interval, timeout = opts.interval or 5, opts.timeout
    local deadline = timeout and tasks.now() + timeout
    while true do
      local batch, err = self:get(id)
      if not batch then return nil, err end
      if batch.processing_status == "ended" then return batch end
      local left = deadline and deadline - tasks.now()
      if left and left <= 0 then
        return nil, errors.new { kind = "timeout", retryable = false, details = { batch = batch },
          message = string.format("batch %s has not ended after %gs (processing_status %s)", id, timeout,
            tostring(batch.processing_status)) }
      end
      tasks.sleep(left and math.min(left, interval) or interval)
    end
  end

  return extras
end

return M
