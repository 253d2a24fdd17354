--- A streamed Message: what client.messages:stream(params) returns. See docs/streaming.md.
--   local s = assert(client.messages:stream { model = ..., max_tokens = ..., messages = ... })
--   for text in s:text() do io.write(text) end   -- or s:events(), or s:next()
--   local msg = assert(s:final())                 -- the message, as messages:create returns it
--   s:close()                                     -- cancels the transfer; idempotent
-- The C engine parses the event stream into a bounded queue; this file pulls events from it,
-- decodes them, and accumulates the message. Iterators raise the error object; next() and
-- final() return nil, err. Nothing is retried once an event has reached the caller.
local core = require "anthropic.core"
local errors = require "anthropic.error"
local json = require "anthropic.json"
local transport = require "anthropic.transport"
local compat = require "anthropic.compat"

local M = {}

local Stream = {}
Stream.__index = Stream
Stream.__name = "anthropic.stream"

-- Event types this file understands; a non-JSON payload in one of them is a decode error.
local KNOWN = {
  message_start = true, content_block_start = true, content_block_delta = true,
  content_block_stop = true, message_delta = true, message_stop = true, ping = true, error = true,
}

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- A block's text (or thinking, signature, tool input) arrives in thousands of small pieces. While
-- the block is open each kind is kept in a core.textbuf (src/ltextbuf.c), made at its first
-- piece: outside the Lua heap, so it costs about its size and the collector, not pacing itself by
-- it, keeps up with the pieces the caller reads and drops. At the block's end it becomes one
-- string in the block (for that moment the text is held twice: a Lua string is always a copy).
local FIELDS = { "text", "thinking", "signature", "json" }
local TEXTS = { "text", "thinking", "signature" }

-- The block's buffer for field, made at its first piece.
local function acc(st, field)
  local a = st[field]
  if not a then
    a = core.textbuf()
    st[field] = a
  end
  return a
end

local function acc_add(st, field, s)
  if type(s) == "string" then acc(st, field):add(s) end -- (else a malformed delta: nothing to keep)
end

-- nil when nothing was added, else the pieces joined (the buffer is emptied)
local function acc_join(st, field)
  local a = st[field]
  return a and a:take()
end

-- Frees what an open block kept (content no longer wanted).
local function acc_free(st)
  for _, field in ipairs(FIELDS) do
    if st[field] then st[field]:close() end
  end
end

local function plural(n, word)
  return n .. " " .. word .. (n == 1 and "" or "s")
end

--- Open a stream: submit the request (spec.body has stream = true) and wait for the response
-- headers, so that a refused or failed request returns nil, err after the usual retries.
function M.open(tr, spec)
  spec.stream = true
  local t, err = tr:request(spec)
  if not t then return nil, err end
  transport.await(function() return t:started() or t:done() end)
  if tr.guard then tr.guard:observe(function(name) return t:header(name) end) end -- pace (guard.lua)
  local lim, reservation = tr.limiter, spec._reservation -- rate_limit (limiter.lua)
  if lim and reservation then
    if t:started() then
      lim:headers(function(name) return t:header(name) end, reservation)
    else
      local status = t:status()
      lim:settle(reservation, nil, status, transport.ratelimit_headers(t))
    end
  end
  if not t:started() then -- an error answer, no answer at all, or an answer that is no stream
    local res = t:result()
    t:close()
    if res.error or res.status < 200 or res.status > 299 then
      local _
      _, err = tr:outcome(res, spec)
      return nil, err
    end
    return nil, M.not_a_stream(tr, res, spec)
  end
  for i, h in ipairs(t:history()) do
    tr:emit("warn", string.format("%s %s: attempt %d failed (%s); retrying in %.2fs", spec.method, spec.path,
      i, h.status and ("HTTP " .. h.status) or h.kind, h.delay))
  end
  local s = M.wrap(tr, t, spec)
  tr:emit("debug", string.format("%s %s -> stream (%s)", spec.method, spec.path, s.request_id or "no request-id"))
  return s
end

--- The error for a 2xx answer to a stream request whose Content-Type is not text/event-stream
-- (the engine then reads it whole, as a plain answer): a JSON error body is the API error it
-- says; anything else is a decode error naming the content type and quoting the body's start.
function M.not_a_stream(tr, res, spec)
  local body = res.body or ""
  local decoded = json.decode(body)
  local clean = function(text) return core.scrub(text, tr._key) end
  if type(decoded) == "table" and decoded.type == "error" and type(decoded.error) == "table" then
    local err = transport.api_error(res, spec, clean)
    err.retryable = false
    return tr:scrub_error(err)
  end
  local ctype = res.headers["content-type"]
  local quote = #body == 0 and "an empty body" or string.format("%d bytes: %s", #body,
    string.format("%q", transport.text_excerpt(body, clean)):gsub("\\\n", "\\n"))
  return tr:scrub_error(errors.new {
    kind = "decode", status = res.status, request_id = res.headers["request-id"], attempts = res.attempts,
    workspace_id = res.headers["anthropic-workspace-id"], retryable = false, method = spec.method, path = spec.path,
    message = string.format("a stream was asked for, but the answer is %s, not text/event-stream (%s)",
      ctype and string.format("%q", ctype:sub(1, 100)) or "without a Content-Type", quote),
  })
end

--- The stream object over a started transfer t (anything with next_event, queued, done,
-- result, headers and close, as the engine's transfers have).
function M.wrap(tr, t, spec)
  local headers = t:headers()
  -- (5.1 and LuaJIT: tables have no __gc; a userdata sentinel in the stream closes it instead)
  return compat.on_collect(setmetatable({
    _t = t, _tr = tr, _spec = spec, _open = {}, _blocks = {},
    headers = headers, request_id = headers["request-id"], workspace_id = headers["anthropic-workspace-id"],
    count = 0,
  }, Stream), Stream.close)
end

function Stream:__tostring()
  local state = self.closed and "closed" or self.finished and "done" or "open"
  return string.format("anthropic.stream (%s, %s)", plural(self.count, "event"), state)
end

--- Cancel the transfer (the server sees the connection close). Idempotent; also __close and
-- __gc (a sentinel's on 5.1 and LuaJIT), and a for loop over events() or text() does it when the
-- loop ends (Lua 5.4: by break too; on older VMs a loop left by break leaves the stream open
-- until close() or the collector: docs/embedding.md).
function Stream:close()
  if self.closed then return end
  self.closed = true
  self:_charge() -- a stream closed before its end was billed for what it used
  self._t:close()
  -- blocks still open can no longer finish (final() reports the stream as canceled): what they
  -- kept outside the Lua heap goes now, not whenever the collector gets to it
  for _, st in pairs(self._open) do acc_free(st) end
  self._open = {}
end
Stream.__close = Stream.close
Stream.__gc = Stream.close

-- The error object for what ended the stream before message_stop (nil when it completed).
function Stream:_end_error()
  if self.stopped then return nil end
  local res = self._t:result() or {}
  local n = self.count
  local kind, msg
  if res.error then
    kind = res.error.kind
    msg = string.format("the stream %s after %s, before %s: %s",
      kind == "timeout" and (res.error.message:find("stream_deadline", 1, true) and "was cut at its deadline"
        or "stalled") or kind == "canceled" and "was canceled" or "broke",
      plural(n, "event"), self.message and "message_stop" or "message_start", res.error.message)
  else
    kind = "connection"
    msg = string.format("the stream ended after %s, before %s%s", plural(n, "event"),
      self.message and "message_stop" or "message_start", res.clean == false and " (in the middle of an event)" or "")
  end
  return self:_error { kind = kind, message = msg }
end

function Stream:_error(fields)
  fields.request_id = fields.request_id or self.request_id
  fields.workspace_id = fields.workspace_id or self.workspace_id
  fields.method, fields.path = self._spec.method, self._spec.path
  fields.events = self.count
  fields.retryable = false -- events reached the caller: retrying is the caller's decision
  fields.ambiguous = true
  fields.message = tostring(fields.message)
  local key = self._tr._key -- an error event is server text: the key may be echoed in any field
  errors.scrub(fields, function(s) return core.scrub(s, key) end)
  self._tr:emit("error", string.format("%s %s: %s", self._spec.method, self._spec.path, fields.message))
  return errors.new(fields)
end

-- The next raw event from the engine's queue, running the engine until one is there.
-- -> name, data | name, nil, text, index for a text delta the engine read itself (t:next_event)
-- | nil at the end of the transfer
function Stream:_pull()
  local t = self._t
  local name, data, text, index = t:next_event(true)
  if name or t:done() then return name, data, text, index end
  -- (another task may close the stream meanwhile: its transfer is then gone)
  transport.await(function() return self.closed or t:queued() > 0 or t:done() end)
  if self.closed then return nil end
  return t:next_event(true)
end

-- Finish a content block: join its fragments, decode a tool's input. -> nil | err
function Stream:_close_block(i)
  local st = self._open[i]
  if not st then return nil end
  self._open[i] = nil
  local block = st.block
  for _, field in ipairs(TEXTS) do
    local s = acc_join(st, field)
    if s then block[field] = (block[field] or "") .. s end
  end
  local input = acc_join(st, "json") or ""
  if input ~= "" then
    local value, msg = json.decode(input)
    if type(value) ~= "table" then
      return self:_error { kind = "decode", message = string.format(
        "the input of content block %d (%s) is not a JSON object: %s", i - 1, tostring(block.name),
        msg or "got " .. type(value)) }
    end
    block.input = value
  end
  return nil
end

--- Whether final() gets the content (default true). keep_content(false) stops keeping content
-- blocks from then on, so memory stays flat however long the stream is; final() then returns
-- the message with content = {} (id, model, stop_reason, stop_sequence and usage as usual).
function Stream:keep_content(keep)
  self._drop = not keep
  if self._drop then
    for _, st in pairs(self._open) do acc_free(st) end
    self._open = {}
    if self.message then self.message.content = {} end
  end
  return self
end

-- Count the message's usage in the client's spend (spend_limit, guard.lua), once.
function Stream:_charge()
  local lim, res = self._tr and self._tr.limiter, self._spec and self._spec._reservation
  if lim and res then lim:settle(res, self.message and self.message.usage, 200) end
  local g, m = self._tr and self._tr.guard, self.message
  if g and m and not self._charged and self._spec and self._spec.metered then
    self._charged = true
    g:charge(m.model, m.usage)
  end
end

-- The text each known delta type carries (a delta of another type is passed through as it is).
local DELTA_FIELDS = { text_delta = "text", input_json_delta = "partial_json", thinking_delta = "thinking",
  signature_delta = "signature" }

-- A malformed stream: the event that breaks the protocol ends it, for text(), events() and
-- final() alike (what the reader was handed and what final() returns never disagree).
function Stream:_malformed(what, name)
  return self:_error { kind = "decode", message = string.format(
    "the stream is malformed at event %d (%s): %s", self.count, tostring(name), what) }
end

-- A block index: a whole number from 0 (JSON's; the table slot is index + 1). -> slot | nil
local function slot(index)
  if type(index) == "number" and index >= 0 and index < 2 ^ 31 and index % 1 == 0 then
    return math.floor(index) + 1
  end
end

local function show_index(index)
  if type(index) == "number" then return string.format("%.14g", index) end
  return type(index) == "string" and string.format("%q", index:sub(1, 40)) or type(index)
end

-- Check that a delta (or stop) for block index may be read: the message has started and that
-- block is open (after message_stop nothing gets here: _after_stop). -> nil | err
function Stream:_check_delta(index, name)
  name = name or "content_block_delta"
  if not self.message then return self:_malformed(name .. " before message_start", name) end
  local i = slot(index)
  if not i then
    return self:_malformed("the block index " .. show_index(index) .. " is not a whole number from 0", name)
  end
  if self._blocks[i] ~= "open" then
    return self:_malformed(string.format("content block %d %s", i - 1,
      self._blocks[i] == "closed" and "was already stopped" or "was never started"), name)
  end
  return nil
end

-- Fold one decoded event into the message. -> nil | err
function Stream:_accumulate(ev)
  local typ = ev.type
  if typ == "message_start" then
    if self.message then return self:_malformed("a second message_start", typ) end
    local m = copy(type(ev.message) == "table" and ev.message or {})
    m.content = {}
    if type(m.usage) ~= "table" then m.usage = {} end
    self.message = m
    return nil
  end
  if not KNOWN[typ] or typ == "ping" then return nil end -- (a new kind of event: passed through)
  local m = self.message
  if not m then return self:_malformed(typ .. " before message_start", typ) end
  if typ == "content_block_start" then
    local i = slot(ev.index)
    if not i then
      return self:_malformed("the block index " .. show_index(ev.index) .. " is not a whole number from 0", typ)
    end
    if self._blocks[i] then return self:_malformed(string.format("content block %d started twice", i - 1), typ) end
    self._blocks[i] = "open"
    if self._drop then return nil end
    local block = copy(type(ev.content_block) == "table" and ev.content_block or {})
    m.content[i] = block
    self._open[i] = { block = block }
  elseif typ == "content_block_delta" then
    local err = self:_check_delta(ev.index, typ)
    if err then return err end
    local d = ev.delta
    if type(d) ~= "table" or type(d.type) ~= "string" then
      return self:_malformed("the delta is not an object with a type", typ)
    end
    local field = DELTA_FIELDS[d.type]
    if field and type(d[field]) ~= "string" then
      return self:_malformed(string.format("the %s's %s is a %s, not a string", d.type, field, type(d[field])), typ)
    end
    local st = self._open[ev.index + 1]
    if not st then return nil end -- (keep_content(false))
    if d.type == "text_delta" then acc_add(st, "text", d.text)
    elseif d.type == "input_json_delta" then acc_add(st, "json", d.partial_json)
    elseif d.type == "thinking_delta" then acc_add(st, "thinking", d.thinking)
    elseif d.type == "signature_delta" then acc_add(st, "signature", d.signature)
    elseif d.type == "citations_delta" then
      st.block.citations = st.block.citations or {}
      st.block.citations[#st.block.citations + 1] = copy(d.citation)
    end
  elseif typ == "content_block_stop" then
    local err = self:_check_delta(ev.index, typ)
    if err then return err end
    local i = ev.index + 1
    self._blocks[i] = "closed"
    return self:_close_block(i)
  elseif typ == "message_delta" then
    for k, v in pairs(type(ev.delta) == "table" and ev.delta or {}) do m[k] = copy(v) end
    for k, v in pairs(type(ev.usage) == "table" and ev.usage or {}) do m.usage[k] = copy(v) end -- cumulative
  elseif typ == "message_stop" then
    self.stopped = true
    self:_charge()
    for i in pairs(self._open) do
      local err = self:_close_block(i)
      if err then return err end
    end
  end
  return nil
end

-- Text deltas the engine read itself (text, or texts[1..n]) for block index: checked as any
-- delta, and kept for final() unless keep_content(false). -> nil | err
local function add_text(self, index, text, texts, n)
  local err = self:_check_delta(index)
  if err then return err end
  local st = self._open[index + 1]
  if not st then return nil end
  if texts then
    acc(st, "text"):add_batch(texts, n)
  else
    acc_add(st, "text", text)
  end
  return nil
end

-- What one pulled event gives the reader: an event table (or, with as_text, a text delta's text)
-- | nil to read on (a ping, or a non-text event for text()) | nil, err.
function Stream:_take(name, data, text, index, want_ping, as_text)
  self.count = self.count + 1
  if self.stopped then return self:_after_stop(name, data) end
  if text then -- a text delta, read by the engine: what _accumulate would do, without a table
    self.err = add_text(self, index, text)
    if self.err then return nil, self.err end
    if as_text then return text end
    return { type = "content_block_delta", index = index, delta = { type = "text_delta", text = text } }
  end
  local ev, msg = json.decode(data)
  if type(ev) ~= "table" then
    if KNOWN[name] then
      self.err = self:_error { kind = "decode", message = string.format(
        "event %d (%s) is not a JSON object: %s", self.count, name, msg or "got " .. type(ev)) }
      return nil, self.err
    end
    ev = { type = name, data = data } -- a new kind of event: passed through undecoded
  end
  if ev.type == nil and name ~= "" then ev.type = name end
  if type(ev.type) ~= "string" then
    self.err = self:_malformed(ev.type == nil and "the event has no type"
      or "its type is a " .. type(ev.type) .. ", not a string", name ~= "" and name or "no name")
    return nil, self.err
  end
  if ev.type == "error" then
    self.err = self:_api_error(ev)
    return nil, self.err
  end
  self.err = self:_accumulate(ev)
  if self.err then return nil, self.err end
  if as_text then
    local d = ev.delta
    if ev.type == "content_block_delta" and type(d) == "table" and d.type == "text_delta" then return d.text end
  elseif ev.type ~= "ping" or want_ping then
    return ev
  end
  return nil
end

-- The error object for an error event.
function Stream:_api_error(ev)
  local e = type(ev.error) == "table" and ev.error or {}
  return self:_error { kind = "api", type = type(e.type) == "string" and e.type or "api_error",
    message = type(e.message) == "string" and e.message or "the stream reported an error",
    request_id = type(ev.request_id) == "string" and ev.request_id or nil }
end

-- An event after message_stop: the message is complete, so nothing can change it now. It is
-- read off (the connection stays reusable) and not handed out; an error event is logged as a
-- warning, since the server had already said the message was done. -> nil (read on)
function Stream:_after_stop(name, data)
  local ev = data and json.decode(data)
  if name == "error" or (type(ev) == "table" and ev.type == "error") then
    local e = type(ev) == "table" and type(ev.error) == "table" and ev.error or {}
    local said = type(e.message) == "string" and e.message or "no message"
    self._tr:emit("warn", core.scrub(string.format( -- (server text: the key may be echoed)
      "%s %s: an error event after message_stop, ignored (the message was complete): %s",
      self._spec.method, self._spec.path, said), self._tr._key))
  end
  return nil
end

-- The next event, skipping pings unless want_ping. as_text: text deltas come as their text and
-- other events are skipped (stream:text()). -> event (or text) | nil at the end | nil, err
function Stream:_read(want_ping, as_text)
  while true do
    if self.err then return nil, self.err end
    if self.finished then return nil end
    if self.closed then
      if self.stopped then -- message_stop was read: the message is complete
        self.finished = true
        return nil
      end
      self.err = self:_error { kind = "canceled", message = "the stream was closed before its end" }
      return nil, self.err
    end
    local name, data, text, index = self:_pull()
    if name then
      local v, err = self:_take(name, data, text, index, want_ping, as_text)
      if v ~= nil or err then return v, err end
    elseif not self.closed then -- (closed while waiting: the next round says so)
      self.finished = true
      self.err = self:_end_error()
      if self.err then return nil, self.err end
      return nil
    end
  end
end

--- The next event (a decoded table), skipping pings unless opts.ping.
-- -> event | nil at the end | nil, err
function Stream:next(opts)
  return self:_read(type(opts) == "table" and opts.ping, false)
end

--- Iterator of decoded events (unknown types included; pings only with opts.ping = true).
-- Raises the error object. The stream is the loop's closing value (Lua 5.4): leaving the loop,
-- by break or error, closes it.
function Stream:events(opts)
  return function()
    local ev, err = self:next(opts)
    if err then errors.raise(err) end
    return ev
  end, nil, nil, self
end

--- Iterator of the text deltas, in order. Raises the error object; closes like events().
function Stream:text()
  local t, batch, i, n = self._t, {}, 0, 0
  return function()
    if i < n then -- texts of the last batch not handed out yet
      i = i + 1
      return batch[i]
    end
    -- Text deltas at the head of the queue come in one batch, kept for final() as one piece.
    if not (self.err or self.finished or self.closed) then
      local k, block = t:next_texts(batch, 256)
      if k > 0 and self.stopped then -- (after message_stop: read off, not handed out)
        self.count = self.count + k
      elseif k > 0 then
        self.count = self.count + 1 -- (an error is the first delta's: they share one block)
        self.err = add_text(self, block, nil, batch, k)
        if self.err then errors.raise(self.err) end
        self.count = self.count + k - 1
        i, n = 1, k
        return batch[1]
      end
      local name, data, text, index = t:next_event(true)
      if name then
        local v, err = self:_take(name, data, text, index, false, true)
        if err then errors.raise(err) end
        if v ~= nil then return v end
      end
    end
    local text, err = self:_read(false, true)
    if err then errors.raise(err) end
    return text
  end, nil, nil, self
end

--- Read the stream to its end and return the message, as messages:create would have returned
-- it (content blocks with text, tool input, thinking and signature, citations; stop_reason,
-- stop_sequence; usage). -> message | nil, err. May be called again; works after the
-- iterators too (they feed the same message).
function Stream:final()
  while true do
    local ev, err = self:next()
    if err then return nil, err end
    if ev == nil then break end
  end
  if not self.message then
    return nil, self:_error { kind = "decode", message = "the stream had no message_start event" }
  end
  return self.message
end

return M
