-- Canned, realistic Anthropic responses for the benchmark server (written at bench time).
--   lua5.4 bench/gen.lua DIR
-- DIR/message.json  a Messages answer (~1.3 KB, as POST /v1/messages returns it)
-- DIR/request.json  the request every client sends (model, max_tokens, a user message)
-- DIR/small.sse     a short event stream (one text block, ~60 deltas, ~12 KB)
-- DIR/mid.sse       the same mix, ~2 MB (for instruction counts under callgrind)
-- DIR/big.sse       the same mix, ~20 MB
-- DIR/meta.lua      event and byte counts of each stream
-- Deterministic: the same files every run.
local cjson = require "cjson"

local dir = assert(arg[1], "usage: gen.lua DIR")

local seed = 12345
local function rand(n) -- small LCG, so the files do not depend on the Lua version's math.random
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end

local WORDS = {
  "the", "of", "a", "stream", "event", "request", "latency", "model", "token", "cache", "server",
  "client", "response", "connection", "header", "JSON", "delta", "text", "message", "usage",
  "retry", "budget", "engine", "loop", "buffer", "parser", "error", "status", "and", "to", "in",
  "is", "that", "for", "with", "on", "as", "are", "this", "be", "it", "by", "from", "can", "we",
  "naïve", "café", "—", "“quoted”", "x²", "über", "résumé", "日本語", "👍",
}
local PUNCT = { ".", ",", ";", ":", "!", "?" }

-- A piece of text of 1 to 5 words, as a text_delta carries (a few tokens); now and then a
-- newline, punctuation or a code-ish fragment with characters JSON must escape.
local function piece()
  local n = rand(5)
  local t = {}
  for i = 1, n do t[i] = WORDS[rand(#WORDS)] end
  local s = " " .. table.concat(t, " ")
  local r = rand(20)
  if r == 1 then s = s .. ".\n\n"
  elseif r == 2 then s = s .. PUNCT[rand(#PUNCT)]
  elseif r == 3 then s = s .. ' `x = "a\\tb"` '
  elseif r == 4 then s = s .. "\n- "
  end
  return s
end

local MODEL = "claude-sonnet-4-6" -- (the TS SDK warns on every request for a deprecated model)

local function write(name, s)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(s)
  f:close()
end

-- The request.
write("request.json", cjson.encode {
  model = MODEL, max_tokens = 1024,
  messages = { { role = "user", content =
    "Explain in a few paragraphs how an HTTP client library can keep its per-request CPU cost " ..
    "low when it runs inside a Lua host, and what to measure to be sure." } },
})

-- The non-streamed answer: one text block of ~1 KB of text.
local message_meta
do
  local t = {}
  local len = 0
  while len < 1000 do
    local p = piece()
    t[#t + 1] = p
    len = len + #p
  end
  local text = table.concat(t):gsub("^ ", "")
  -- cjson writes objects in hash order; write the fields in the API's order by hand.
  local msg = string.format(
    '{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"%s",' ..
    '"content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,' ..
    '"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,' ..
    '"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},' ..
    '"output_tokens":%d,"service_tier":"standard"}}', MODEL, cjson.encode(text), #t * 2)
  assert(cjson.decode(msg))
  write("message.json", msg)
  message_meta = string.format("  message = { bytes = %d, text_bytes = %d },", #msg, #text)
end

-- An event stream of about `target` bytes: message_start, content_block_start, ping, text
-- deltas, content_block_stop, message_delta, message_stop, framed as the API frames them.
local function sse(target)
  local out = {}
  local bytes, events, text_bytes, deltas = 0, 0, 0, 0
  local function ev(name, data)
    local s = "event: " .. name .. "\ndata: " .. data .. "\n\n"
    out[#out + 1] = s
    bytes = bytes + #s
    events = events + 1
  end
  ev("message_start", '{"type":"message_start","message":{"id":"msg_01Hr6X4ZQxw4yDtJCe2CBNaa",' ..
    '"type":"message","role":"assistant","model":"' .. MODEL .. '","content":[],"stop_reason":null,' ..
    '"stop_sequence":null,"usage":{"input_tokens":42,"cache_creation_input_tokens":0,' ..
    '"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,' ..
    '"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}')
  ev("content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}')
  ev("ping", '{"type": "ping"}')
  local tail = 400
  while bytes < target - tail do
    local p = piece()
    ev("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":' ..
      cjson.encode(p) .. '}}')
    text_bytes = text_bytes + #p
    deltas = deltas + 1
  end
  ev("content_block_stop", '{"type":"content_block_stop","index":0}')
  ev("message_delta", '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},' ..
    '"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,' ..
    '"output_tokens":' .. deltas * 2 .. '}}')
  ev("message_stop", '{"type":"message_stop"}')
  return table.concat(out), { bytes = bytes, events = events, deltas = deltas, text_bytes = text_bytes }
end

local meta = { message_meta }
for _, spec in ipairs { { "small", 12 * 1024 }, { "mid", 2 * 1000 * 1000 }, { "big", 20 * 1000 * 1000 } } do
  local s, m = sse(spec[2])
  write(spec[1] .. ".sse", s)
  meta[#meta + 1] = string.format("  %s = { bytes = %d, events = %d, deltas = %d, text_bytes = %d },",
    spec[1], m.bytes, m.events, m.deltas, m.text_bytes)
end
write("meta.lua", "return {\n" .. table.concat(meta, "\n") .. "\n}\n")
