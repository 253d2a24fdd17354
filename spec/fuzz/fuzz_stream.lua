-- The checks of spec/fuzz/fuzz_stream.c: the stream accumulator (lua/anthropic/stream.lua) over
-- a scripted transfer built from the fuzzer's bytes. Returns check(data), which raises a string
-- naming the broken rule. The input is read as a little program: byte 0 picks how the transfer
-- ends; then each event is a kind byte and its operands (a block index from a pool that holds
-- bad ones: -1, 0.5, 99, "0", none; texts and JSON fragments from pools). The same events are
-- read in every way the library offers: events(), text(), next() and final() alone; text deltas
-- handed over as JSON, as the engine's (name, nil, text, index), or in batches (t:next_texts);
-- keeping the content or not (keep_content(false)). Rules:
--  - whatever fails is an error object with a string kind and message, never a raw Lua error;
--  - every way of reading ends the same: the same final() message (content aside without
--    keep_content), or the same error (kind and message); final() again gives the same;
--  - text() hands out exactly the text deltas events() does, in order; each delta events()
--    hands out is for a block whose content_block_start it handed out and whose stop it has not;
--    nothing comes before message_start, no second message_start, nothing after message_stop;
--  - when final() returns the message, each block's text is its deltas' texts joined; once
--    message_stop was handed out, final() returns the message (whatever follows it).
local stream = require "anthropic.stream"
local errors = require "anthropic.error"
local json = require "anthropic.json"

local INDEXES = { 0, 1, 2, 0, 1, 0, -1, 0.5, 99, "0", false }
local TEXTS = { "", "a", "h\195\169 ", "two words ", "\n", '"q"', "\\", "x" }
local FRAGMENTS = { "", '{"a":', "1}", '{"b": [1, 2]}', "[", "}", '"s"', "{}" }
local JUNK = {
  { "", '{"type": 5}' }, { "message_delta", '{"type": {"a": 1}}' }, { "", '{"index": 0}' },
  { "content_block_delta", "not json" }, { "rumour", "not json" }, { "message_start", "[]" },
  { "content_block_delta", '{"type":"content_block_delta","index":0,"delta":[]}' },
  { "content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":7}}' },
  { "content_block_start", '{"type":"content_block_start","index":0,"content_block":"text"}' },
  { "message_delta", '{"type":"message_delta","delta":{"container":{"id":"c"},"stop_details":null}}' },
}
local ENDS = {
  { status = 200, clean = true }, { status = 200, clean = false },
  { error = { kind = "connection", message = "connection failed: reset" } },
  { error = { kind = "timeout", message = "request timed out: no data received for 1 seconds" } },
}

local function pick(pool, b) return pool[b % #pool + 1] end

-- The events the input describes: { name, data = table | string, text =, index = } (text and
-- index for a text delta the engine could have read itself).
local function script(data)
  local pos = 1
  local function byte()
    local b = data:byte(pos) or 0
    pos = pos + 1
    return b
  end
  local ending = pick(ENDS, byte())
  local events = {}
  local function add(name, t)
    t.type = name
    events[#events + 1] = { name, data = t }
  end
  local function index()
    local v = pick(INDEXES, byte())
    if v == false then return nil end
    return v
  end
  while pos <= #data and #events < 200 do
    local kind = byte() % 16
    if kind == 0 then
      add("message_start", { message = { id = "msg_1", type = "message", role = "assistant", model = "m",
        content = {}, usage = { input_tokens = byte(), output_tokens = 1 } } })
    elseif kind == 1 then
      add("content_block_start", { index = index(), content_block = { type = "text", text = "" } })
    elseif kind == 2 then
      add("content_block_start", { index = index(),
        content_block = { type = "tool_use", id = "t", name = "f", input = {} } })
    elseif kind == 3 then
      add("content_block_start", { index = index(), content_block = { type = "thinking", thinking = "" } })
    elseif kind <= 6 then -- text deltas, the most common event
      local i, text = index(), pick(TEXTS, byte())
      add("content_block_delta", { index = i, delta = { type = "text_delta", text = text } })
      if math.type(i) == "integer" and i >= 0 then events[#events].text, events[#events].index = text, i end
    elseif kind == 7 then
      add("content_block_delta", { index = index(),
        delta = { type = "input_json_delta", partial_json = pick(FRAGMENTS, byte()) } })
    elseif kind == 8 then
      local b = byte()
      local delta = b % 3 == 0 and { type = "thinking_delta", thinking = pick(TEXTS, b) }
        or b % 3 == 1 and { type = "signature_delta", signature = "sig" }
        or { type = "citations_delta", citation = { type = "char_location", cited_text = pick(TEXTS, b) } }
      add("content_block_delta", { index = index(), delta = delta })
    elseif kind == 9 then
      add("content_block_stop", { index = index() })
    elseif kind == 10 then
      add("message_delta", { delta = { stop_reason = "end_turn", stop_details = { type = "refusal" },
        container = { id = "container_1" } }, usage = { output_tokens = byte() } })
    elseif kind == 11 then
      add("message_stop", {})
    elseif kind == 12 then
      add("ping", {})
    elseif kind == 13 then
      add("error", { error = { type = "overloaded_error", message = "Overloaded" } })
    elseif kind == 14 then
      add("content_block_flash", { index = index() }) -- a kind of event this library does not know
    else
      local j = pick(JUNK, byte())
      events[#events + 1] = { j[1], data = j[2] }
    end
  end
  for _, e in ipairs(events) do
    if type(e.data) == "table" then e.data = assert(json.encode(e.data)) end
  end
  return events, ending
end

-- A transfer handing out events, as the engine's do: with fast, t:next_event(true) gives a
-- text delta as name, nil, text, index; with batch, t:next_texts gives the text deltas at the
-- head that share a block.
local function transfer(events, ending, fast, batch)
  local i = 0
  return {
    headers = function() return { ["request-id"] = "req_fuzz" } end,
    next_event = function(_, want_text)
      i = i + 1
      local e = events[i]
      if not e then return nil end
      if fast and want_text and e.text then return e[1], nil, e.text, e.index end
      return e[1], e.data
    end,
    next_texts = function(_, buf, max)
      local n, first = 0, -1
      while batch and n < max do
        local e = events[i + 1]
        if not (e and e.text) or (first >= 0 and e.index ~= first) then break end
        i, n, first = i + 1, n + 1, e.index
        buf[n] = e.text
      end
      return n, first
    end,
    queued = function() return math.max(0, #events - i) end,
    done = function() return true end,
    result = function() return ending end,
    close = function() end,
  }
end

local tr = { emit = function() end }
local spec = { method = "POST", path = "/v1/messages" }

local function fail(fmt, ...) error("fuzz_stream: " .. string.format(fmt, ...), 0) end

local function is_error(e, how)
  if not errors.is_error(e) or type(e.kind) ~= "string" or type(e.message) ~= "string" then
    fail("%s raised %s, not an error object", how, tostring(e))
  end
  return e
end

-- Read the events one way. -> { texts = {...}, events = {...}, msg =, err = }
local function read(events, ending, how, fast, batch, keep)
  local s = stream.wrap(tr, transfer(events, ending, fast, batch), spec)
  if not keep then s:keep_content(false) end
  local out = { texts = {}, events = {} }
  local ok, e = pcall(function()
    if how == "events" then
      for ev in s:events() do out.events[#out.events + 1] = ev end
    elseif how == "text" then
      for t in s:text() do out.texts[#out.texts + 1] = t end
    elseif how == "next" then
      while true do
        local ev, err = s:next()
        if err then return errors.raise(err) end
        if ev == nil then break end
        out.events[#out.events + 1] = ev
      end
    end
  end)
  if not ok then out.raised = is_error(e, how) end
  local okf, msg, err = pcall(s.final, s)
  if not okf then fail("final() after %s raised %s", how, tostring(msg)) end
  if msg == nil then
    is_error(err, "final() after " .. how)
    if out.raised and out.raised ~= err then fail("%s raised one error, final() returned another", how) end
  elseif out.raised then
    fail("%s raised %s, but final() returned the message", how, out.raised.message)
  end
  local msg2, err2 = s:final()
  if msg2 ~= msg or err2 ~= err then fail("final() again after %s gave another answer", how) end
  out.msg, out.err = msg, err
  if how == "events" or how == "next" then
    for _, ev in ipairs(out.events) do
      if ev.type == "content_block_delta" and type(ev.delta) == "table" and ev.delta.type == "text_delta" then
        out.texts[#out.texts + 1] = ev.delta.text
      end
    end
  end
  s:close()
  return out
end

local function outcome(o, keep)
  if o.err then return "error " .. o.err.kind .. ": " .. o.err.message end
  local m = {}
  for k, v in pairs(o.msg) do m[k] = v end
  if not keep then
    if #m.content ~= 0 then fail("keep_content(false), and final() has %d blocks", #m.content) end
    m.content = nil
  end
  local text, why = json.encode(m)
  return text or ("unencodable: " .. why)
end

-- The protocol, as events() handed it out.
local function check_order(evs)
  local started, stopped, open = false, false, {}
  for n, ev in ipairs(evs) do
    local t = ev.type
    if type(t) ~= "string" then fail("event %d handed out with a %s type", n, type(t)) end
    if stopped then fail("event %d (%s) handed out after message_stop", n, t) end
    if t == "message_start" then
      if started then fail("a second message_start handed out (event %d)", n) end
      started = true
    elseif t == "content_block_start" or t == "content_block_delta" or t == "content_block_stop"
        or t == "message_delta" or t == "message_stop" then
      if not started then fail("%s handed out before message_start (event %d)", t, n) end
      local i = ev.index
      if t == "content_block_start" then
        if open[i] ~= nil then fail("content block %s started twice", tostring(i)) end
        open[i] = true
      elseif t ~= "message_delta" and t ~= "message_stop" then
        if open[i] ~= true then fail("%s for block %s, which is not open, handed out", t, tostring(i)) end
        if t == "content_block_stop" then open[i] = false end
      end
      if t == "message_stop" then stopped = true end
    end
  end
end

return function(data)
  local events, ending = script(data)
  for _, keep in ipairs { true, false } do
    local want, first
    local function compare(o, label)
      local got = outcome(o, keep)
      if not want then
        want, first = got, label
      elseif got ~= want then
        fail("%s ends with\n  %s\nbut %s with\n  %s", label, got, first, want)
      end
    end
    local plain = read(events, ending, "events", false, false, keep)
    check_order(plain.events)
    compare(plain, "events()")
    local last = plain.events[#plain.events]
    if last and last.type == "message_stop" and not plain.msg then
      fail("message_stop was handed out, but final() failed: %s", plain.err.message)
    end
    local per_block = {}
    for _, ev in ipairs(plain.events) do
      if ev.type == "content_block_delta" and ev.delta.type == "text_delta" then
        per_block[ev.index] = (per_block[ev.index] or "") .. ev.delta.text
      end
    end
    if plain.msg and keep then
      for i, block in pairs(plain.msg.content) do
        local joined = per_block[i - 1] or ""
        if (block.text or "") ~= joined then
          fail("block %d's text in final() is %q, its deltas gave %q", i - 1, tostring(block.text), joined)
        end
      end
      for i in pairs(per_block) do
        if not plain.msg.content[i + 1] then
          fail("deltas for block %d were handed out, final() has no such block", i)
        end
      end
    end
    for _, way in ipairs {
      { "events", true, false }, { "next", false, false }, { "next", true, false },
      { "text", false, false }, { "text", true, false }, { "text", true, true }, { "final", true, true },
    } do
      local o = read(events, ending, way[1], way[2], way[3], keep)
      local label = string.format("%s (fast %s, batch %s)", way[1], tostring(way[2]), tostring(way[3]))
      compare(o, label)
      if way[1] ~= "final" then
        if #o.texts ~= #plain.texts then
          fail("%s handed out %d texts, events() %d", label, #o.texts, #plain.texts)
        end
        for i, t in ipairs(o.texts) do
          if t ~= plain.texts[i] then
            fail("%s handed out text %d as %q, events() as %q", label, i, t, plain.texts[i])
          end
        end
      end
      if way[1] == "next" then check_order(o.events) end
    end
  end
end
