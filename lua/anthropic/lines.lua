--- A JSONL answer read as it arrives: the engine's line mode (transport spec.lines) queues each
-- line in C, in a bounded queue that pauses the transfer while the reader is behind, and this
-- file decodes one line at a time. Memory stays flat however long the body is: a 100,000-line
-- batch result costs what a 100-line one does (docs/performance.md).
--   local r, err = lines.open(tr, spec)   -- waits for the answer's headers (retried before that)
--   local value, err = r:next()           -- the next line's value | nil at the end | nil, err
--   r:close()                             -- cancels the transfer; idempotent; also __close, __gc
-- Inside a task (anthropic.spawn) waiting yields; outside one it blocks, as every call does.
local errors = require "anthropic.error"
local json = require "anthropic.json"
local transport = require "anthropic.transport"
local compat = require "anthropic.compat"

local M = {}

local Reader = {}
Reader.__index = Reader
Reader.__name = "anthropic.lines"

--- Submit spec (a GET) in line mode and wait for its headers. -> reader | nil, err (the usual
-- error object: an API error answer, a failed connection after the retries, ...).
-- opts.what: how an error names a line ("results line 3"; default "line").
function M.open(tr, spec, opts)
  spec.lines, spec.raw = true, true
  local t, err = tr:request(spec)
  if not t then return nil, err end
  transport.await(function() return t:started() or t:done() end)
  if not t:started() then -- an error answer, or no answer at all
    local res = t:result()
    t:close()
    local _
    _, err = tr:outcome(res, spec)
    return nil, err or errors.new { kind = "connection", message = "the answer ended before its body",
      method = spec.method, path = spec.path }
  end
  local r = setmetatable({ _t = t, _tr = tr, _spec = spec, _what = opts and opts.what or "line",
    line = 0, count = 0, request_id = t:header("request-id") }, Reader)
  return compat.on_collect(r, Reader.close) -- (5.1 and LuaJIT: no __gc on tables)
end

function Reader:__tostring()
  return string.format("anthropic.lines (%d lines, %s)", self.line, self.closed and "closed" or "open")
end

--- Cancel the transfer (the server sees the connection close) and free what is queued.
-- Idempotent; a for loop over batches:results closes it when the loop ends (Lua 5.4: by break
-- too; on 5.1 and LuaJIT a loop left by break leaves it to close() or the collector).
function Reader:close()
  if self.closed then return end
  self.closed = true
  self._t:close()
end
Reader.__close = Reader.close
Reader.__gc = Reader.close

function Reader:_error(kind, message)
  local spec = self._spec
  self:close()
  return self._tr:scrub_error(errors.new {
    kind = kind, message = message, method = spec.method, path = spec.path, request_id = self.request_id,
    retryable = false, -- lines reached the caller: reading again is the caller's decision
    details = { lines = self.line },
  })
end

-- The body has ended: nil, or the error that ended it early.
function Reader:_finish()
  local res = self._t:result()
  self:close()
  if res.error then
    return self:_error(res.error.kind, string.format("the answer %s after %d line%s: %s",
      res.error.kind == "canceled" and "was canceled" or res.error.kind == "timeout" and "stalled" or "broke",
      self.line, self.line == 1 and "" or "s", res.error.message))
  end
  return nil
end

--- The next non-blank line, decoded. -> value | nil at the end | nil, err (a line that is not a
-- JSON object is a "decode" error naming its number; the transfer is closed then).
function Reader:next()
  while not self.closed do
    local t = self._t
    local name, line = t:next_event()
    if name == nil then
      if t:done() then return nil, self:_finish() end
      -- (another task may close the reader meanwhile: its transfer is then gone)
      transport.await(function() return self.closed or t:queued() > 0 or t:done() end)
    else
      self.line = self.line + 1
      if line:find("%S") then
        local value, msg = json.decode(line)
        if type(value) ~= "table" then
          return nil, self:_error("decode", string.format("%s %d is not a JSON object (%s)", self._what, self.line,
            msg or "a " .. type(value)))
        end
        self.count = self.count + 1
        return value
      end
    end
  end
  return nil
end

return M
