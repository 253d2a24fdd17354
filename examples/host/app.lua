-- examples/host/app.lua: the Lua side of examples/host/host.c, a game-style C host. The host calls
-- load() while it starts up (the client reads its key and options there, outside any frame),
-- start() in its first frame, then frame() (or timeout() and frame() in its pollfd mode) once per
-- frame, and result() at the end. Everything here runs inside a task (anthropic.spawn) driven by poll(0):
-- nothing blocks the frame loop.
local anthropic = require "anthropic"

local M = {}

local state, client, opts

-- o: words (prompt length), requests (one after the other), fresh (a new connection for each
-- request: "Connection: close"), echo (check the reply is the emulator's echo), model, max_tokens.
function M.load(o)
  opts = o
  client = anthropic.new { headers = opts.fresh and { connection = "close" } or nil }
end

function M.start()
  local words = {}
  for i = 1, opts.words do words[i] = "word" .. (i % 97) end
  local prompt = table.concat(words, " ")
  state = { requests = 0, bytes = 0, events = 0, ok = true, problem = nil, expect = "You said: " .. prompt }
  state.task = anthropic.spawn(function()
    for _ = 1, opts.requests do
      local s = assert(client.messages:stream {
        model = opts.model or "claude-opus-4-6", max_tokens = opts.max_tokens or 64000,
        messages = { { role = "user", content = prompt } },
      })
      -- the reply's text, joined as it comes: 256 pieces at a time into chunks, so no frame joins
      -- tens of thousands of pieces at once (table.concat of 30,000 takes 1.5 ms)
      local pieces, chunks = {}, {}
      for piece in s:text() do
        pieces[#pieces + 1] = piece
        state.events = state.events + 1
        if #pieces == 256 then
          chunks[#chunks + 1] = table.concat(pieces)
          pieces = {}
        end
      end
      chunks[#chunks + 1] = table.concat(pieces)
      local text = table.concat(chunks)
      local msg = assert(s:final())
      local whole = msg.content[1] and msg.content[1].text
      if whole ~= text then
        state.ok, state.problem = false, "the deltas and final() disagree"
      elseif opts.echo and text ~= state.expect then
        state.ok, state.problem = false, "the reply is not the emulator's echo of the prompt"
      end
      state.bytes = state.bytes + #text
      state.requests = state.requests + 1
    end
    client:close()
  end)
end

-- One frame's call: advance every task and transfer, never block. -> true while work is left
function M.frame()
  anthropic.poll(0)
  return not state.task.done
end

-- For the pollfd mode: the descriptor, and the seconds until poll(0) has work without socket
-- activity (-1: none pending).
function M.pollfd()
  return assert(anthropic.pollfd())
end

function M.timeout()
  return anthropic.timeout() or -1
end

-- -> requests, bytes, events, ok, problem
function M.result()
  if state.task.done then -- (wait() on a task that is not done would drive it to the end)
    local _, err = state.task:wait()
    if err then state.ok, state.problem = false, tostring(err) end
  end
  return state.requests, state.bytes, state.events, state.ok, state.problem or ""
end

return M
