-- Message Batches: send three requests as one batch, wait for it to end, print each result.
-- The key comes from ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL may point at the local emulator. The
-- emulator ends a batch 60 s after creation on its clock; to make it instant first run
--   curl -s -X POST "$ANTHROPIC_BASE_URL/_emulator/batches" -d '{"processing_seconds": 0}'
-- A real batch usually ends within an hour (at most 24 h). See docs/batches.md.
local anthropic = require "anthropic"

local client = anthropic.new()
local function ask(text, max_tokens)
  return { model = "claude-opus-4-6", max_tokens = max_tokens or 128,
           messages = { { role = "user", content = text } } }
end

local batch, err = client.batches:create { requests = {
  { custom_id = "lua", params = ask("In one sentence: what is Lua?") },
  { custom_id = "curl", params = ask("In one sentence: what is libcurl?") },
  { custom_id = "broken", params = ask("This one is refused: max_tokens must be >= 1", 0) },
} }
if not batch then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print(string.format("created %s (%s)", batch.id, batch.processing_status))

batch, err = client.batches:wait(batch.id, { interval = 5, timeout = 24 * 3600 })
if not batch then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
local c = batch.request_counts
print(string.format("ended: %d succeeded, %d errored, %d canceled, %d expired",
  c.succeeded, c.errored, c.canceled, c.expired))

-- results() raises the error object (a for loop cannot return it): pcall to handle it.
local ok, e = pcall(function()
  for line in client.batches:results(batch.id) do
    local r = line.result
    if r.type == "succeeded" then
      print(line.custom_id .. ": " .. r.message.content[1].text)
    elseif r.type == "errored" then
      print(line.custom_id .. ": errored: " .. r.error.error.type .. ": " .. r.error.error.message)
    else
      print(line.custom_id .. ": " .. r.type)
    end
  end
end)
if not ok then
  io.stderr:write(tostring(e), "\n")
  os.exit(1)
end

-- Results stay for 29 days; delete the batch (only possible once it has ended) when done.
assert(client.batches:delete(batch.id))
client:close()
