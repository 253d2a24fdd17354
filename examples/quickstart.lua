-- Quick start: one Messages round trip, printing the reply and the token usage.
-- The key comes from ANTHROPIC_API_KEY (or pass api_key/key_file/key_command to anthropic.new);
-- ANTHROPIC_BASE_URL points it at the local emulator in `make demo`.
local anthropic = require "anthropic"

local client = anthropic.new()
local msg, err = client.messages:create {
  model = "claude-opus-4-6",
  max_tokens = 256,
  system = "You are a concise assistant.",
  messages = { { role = "user", content = "In one sentence: why do Lua programmers love coroutines?" } },
}
if not msg then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

for _, block in ipairs(msg.content) do
  if block.type == "text" then print(block.text) end
end
print(string.format("\n[%s, stop_reason %s, %d input + %d output tokens]", msg.model, msg.stop_reason,
  msg.usage.input_tokens, msg.usage.output_tokens))

local count = assert(client.messages:count_tokens {
  model = "claude-opus-4-6",
  messages = { { role = "user", content = "How many tokens is this?" } },
})
print(string.format("[count_tokens: %d input tokens]", count.input_tokens))
client:close()
