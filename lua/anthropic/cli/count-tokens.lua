-- `anthropic count-tokens "prompt" [--model M] [--system S] [--json]`: how many input tokens a
-- prompt takes (POST /v1/messages/count_tokens; free, and not billed as a request).
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic count-tokens "prompt" [--model M] [--system S] [--json]

  --model M         the model (default claude-opus-4-6)
  --system S        a system prompt
  --json            print the API's answer as JSON ({"input_tokens": N})
  "-" as the prompt reads it from standard input.

Prints the number of input tokens the prompt (and system prompt) takes. The key comes from
ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN).
]]

local FLAGS = { model = "string", system = "string", json = "boolean" }

local function fail(code, msg)
  io.stderr:write("anthropic count-tokens: ", msg, "\n")
  if code == common.USAGE then io.stderr:write("Run `anthropic count-tokens --help` for usage.\n") end
  return code
end

return function(args)
  local opts, pos = common.parse(args, FLAGS)
  if not opts then return fail(common.USAGE, pos) end
  if opts.help then
    io.stdout:write(USAGE)
    return common.OK
  end
  if #pos ~= 1 then return fail(common.USAGE, "give the prompt as one argument (quote it)") end
  local prompt = pos[1] == "-" and (io.stdin:read("*a") or "") or pos[1]
  if prompt == "" then return fail(common.USAGE, "the prompt is empty") end
  local made, client = pcall(common.api)
  if not made then return fail(common.ERROR, common.shell_message(client)) end
  local ok, res, err = pcall(client.messages.count_tokens, client.messages, {
    model = opts.model or "claude-opus-4-6", system = opts.system,
    messages = { { role = "user", content = prompt } },
  })
  client:close()
  if not ok and common.is_interrupt(res) then return common.interrupted("count-tokens") end
  if not ok then return fail(common.USAGE, tostring(res)) end
  if not res then return fail(common.ERROR, common.shell_message(err)) end
  if opts.json then
    io.stdout:write(common.encode(res), "\n")
  else
    io.stdout:write(common.group(res.input_tokens), "\n")
  end
  return common.OK
end
