-- Server-Sent Events: the event sequence for a Message, its framing, and writing it to a
-- connection with the stream options (chunk size, delay) and stream_* faults.
local json = require "anthropic.emulator.json"
local util = require "anthropic.emulator.util"

local M = {}

-- "event: NAME\ndata: JSON\n\n"
function M.frame(name, data)
  return "event: " .. name .. "\ndata: " .. json.encode(data) .. "\n\n"
end

-- Text split into deltas of three words each (with their spaces); the pieces join to text.
local function text_pieces(text)
  local words = {}
  local lead = text:match("^%s*")
  for w in text:gmatch("%S+%s*") do words[#words + 1] = w end
  if #words == 0 then return { text } end
  words[1] = lead .. words[1]
  local pieces = {}
  for i = 1, #words, 3 do
    pieces[#pieces + 1] = table.concat(words, "", i, math.min(i + 2, #words))
  end
  return pieces
end

-- JSON text split into fragments of about n bytes, never inside a UTF-8 character; the first is "".
local function json_pieces(s, n)
  local pieces = { "" }
  local i = 1
  while i <= #s do
    local j = math.min(#s, i + n - 1)
    while j < #s do
      local b = s:byte(j + 1)
      if b < 128 or b >= 192 then break end
      j = j + 1
    end
    pieces[#pieces + 1] = s:sub(i, j)
    i = j + 1
  end
  return pieces
end

-- The events for a Message, as { name =, data = } in order. Their content and usage are the
-- message's.
function M.events(msg)
  local ev = {}
  local function add(name, data)
    data.type = name
    ev[#ev + 1] = { name = name, data = data }
  end
  local start = util.copy(msg)
  start.content = json.array()
  start.stop_reason, start.stop_sequence = json.null, json.null
  start.usage = util.copy(msg.usage)
  start.usage.output_tokens = 1
  add("message_start", { message = start })
  for i, block in ipairs(msg.content) do
    local index = i - 1
    if block.type == "text" then
      add("content_block_start", { index = index, content_block = { type = "text", text = "", citations = json.null } })
      if index == 0 then add("ping", {}) end
      for _, piece in ipairs(text_pieces(block.text)) do
        add("content_block_delta", { index = index, delta = { type = "text_delta", text = piece } })
      end
    elseif block.type == "thinking" then
      -- the thinking in thinking_delta events, then its signature in one signature_delta just
      -- before the block's content_block_stop (the SDK's SignatureDelta)
      add("content_block_start", { index = index,
                                   content_block = { type = "thinking", thinking = "", signature = "" } })
      if index == 0 then add("ping", {}) end
      if block.thinking ~= "" then
        for _, piece in ipairs(text_pieces(block.thinking)) do
          add("content_block_delta", { index = index, delta = { type = "thinking_delta", thinking = piece } })
        end
      end
      add("content_block_delta", { index = index, delta = { type = "signature_delta", signature = block.signature } })
    else
      add("content_block_start", { index = index, content_block = {
        type = "tool_use", id = block.id, name = block.name, input = {}, caller = block.caller } })
      if index == 0 then add("ping", {}) end
      for _, piece in ipairs(json_pieces(json.encode(block.input), 12)) do
        add("content_block_delta", { index = index, delta = { type = "input_json_delta", partial_json = piece } })
      end
    end
    add("content_block_stop", { index = index })
  end
  if #msg.content == 0 then add("ping", {}) end
  local u = msg.usage
  add("message_delta", {
    delta = { stop_reason = msg.stop_reason, stop_sequence = msg.stop_sequence,
              stop_details = msg.stop_details, container = msg.container },
    usage = { input_tokens = u.input_tokens, output_tokens = u.output_tokens,
              cache_creation_input_tokens = u.cache_creation_input_tokens,
              cache_read_input_tokens = u.cache_read_input_tokens,
              output_tokens_details = u.output_tokens_details, server_tool_use = u.server_tool_use },
  })
  add("message_stop", {})
  return ev
end

local function write_data(conn, data, chunk_size)
  if not chunk_size or chunk_size <= 0 then return conn:write_chunk(data) end
  for i = 1, #data, chunk_size do
    if not conn:write_chunk(data:sub(i, i + chunk_size - 1)) then return nil end
  end
  return true
end

-- Writes events as a chunked body (the head is already sent).
-- opts: chunk_size (bytes per write, 0 = one write per event), event_delay (seconds between events),
-- text_repeat (each text_delta event is sent that many times: a long stream for load tests),
-- fault ({ action = "stream_error_after" | "stream_truncate_after" | "stream_reset_after" |
-- "stream_stall_after", after = K }: K events, then the fault), filter (function(frame) -> frame).
-- -> outcome, keep_alive: outcome is "complete", "canceled" (the client went away) or the action.
function M.write(conn, events, opts)
  local fault = opts.fault
  for i = 1, #events + 1 do
    if fault and i > fault.after then
      local action = fault.action
      if action == "stream_error_after" then
        local data = M.frame("error", { type = "error", error = { type = "overloaded_error", message = "Overloaded" } })
        if not (write_data(conn, data, opts.chunk_size) and conn:end_chunks()) then return "canceled", false end
        return action, true
      elseif action == "stream_truncate_after" then
        conn:end_chunks()
        return action, false
      elseif action == "stream_reset_after" then
        conn:abort()
        return action, false
      else -- stream_stall_after
        conn:wait_gone()
        return "canceled", false
      end
    end
    if i > #events then break end
    if i > 1 and (opts.event_delay or 0) > 0 and not conn:sleep(opts.event_delay) then
      return "canceled", false
    end
    local ev = events[i]
    local data = M.frame(ev.name, ev.data)
    if opts.filter then data = opts.filter(data) end
    local times = ev.data.delta and ev.data.delta.type == "text_delta" and opts.text_repeat or 1
    for _ = 1, times do
      if not write_data(conn, data, opts.chunk_size) then return "canceled", false end
    end
  end
  if not conn:end_chunks() then return "canceled", false end
  return "complete", true
end

return M
