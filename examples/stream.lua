-- Streaming: print the reply as it arrives, then the token usage.
-- The key comes from ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL points it at the local emulator.
local anthropic = require "anthropic"

local client = anthropic.new()
local stream, err = client.messages:stream {
  model = "claude-opus-4-6",
  max_tokens = 512,
  messages = { { role = "user", content = "Write a haiku about a stream of events." } },
}
if not stream then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

-- text() yields each text delta as it arrives; it raises the error object if the stream fails.
local ok, failure = pcall(function()
  for text in stream:text() do
    io.write(text)
    io.stdout:flush()
  end
end)
io.write("\n")
if not ok then
  io.stderr:write(tostring(failure), "\n")
  os.exit(1)
end

-- final() is the whole message, as client.messages:create would have returned it.
local msg = assert(stream:final())
print(string.format("[%s, stop_reason %s, %d input + %d output tokens]", msg.model, msg.stop_reason,
  msg.usage.input_tokens, msg.usage.output_tokens))
client:close()
