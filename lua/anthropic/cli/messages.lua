-- `anthropic messages "prompt" [--model M] [--max-tokens N] [--system S]`: streams the reply to
-- standard output as it arrives and prints the stop reason and token usage to standard error.
-- The key comes from the environment (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN), never from the
-- command line; ANTHROPIC_BASE_URL points it elsewhere (the emulator). Exit code 0, or 1 with a
-- message on standard error.
local USAGE = [[
usage: anthropic messages "prompt" [--model M] [--max-tokens N] [--system S] [--json]

  --model M         the model (default claude-opus-4-6)
  --max-tokens N    the most tokens to generate (default 1024)
  --system S        a system prompt
  --json            print the whole Message as JSON when it is complete (no streamed text)
  "-" as the prompt reads it from standard input.

Streams the reply to standard output as it arrives; the stop reason and token usage go to
standard error, and so do warnings (a deprecated model). The key comes from ANTHROPIC_API_KEY
(or ANTHROPIC_AUTH_TOKEN). Ctrl-C cancels the stream: exit code 130.
]]

local common = require "anthropic.cli.common"

local FLAGS = { model = "model", ["max-tokens"] = "max_tokens", system = "system" }

local function fail(msg, usage)
  io.stderr:write("anthropic messages: ", msg, "\n", usage and USAGE or "")
  return usage and 2 or 1 -- as every command: 2 for a usage error
end

-- -> options table | nil, message
local function parse(args)
  local o = { model = "claude-opus-4-6", max_tokens = 1024 }
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    if a == "--help" or a == "-h" then
      o.help = true
    elseif a == "--json" then
      o.json = true
    elseif name then
      if not FLAGS[name] then return nil, common.unknown_option(a, { json = true, model = 1, ["max-tokens"] = 1,
        system = 1 }) end
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then return nil, "--" .. name .. " needs a value" end
      end
      o[FLAGS[name]] = value
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, common.unknown_option(a, { json = true, model = 1, ["max-tokens"] = 1, system = 1 })
    elseif o.prompt then
      return nil, "give the prompt as one argument (quote it)"
    else
      o.prompt = a
    end
    i = i + 1
  end
  if o.help then return o end
  local n = tonumber(o.max_tokens)
  if not n or n ~= math.floor(n) or n < 1 then return nil, "--max-tokens needs a whole number >= 1" end
  o.max_tokens = math.floor(n)
  if not o.prompt then return nil, "give a prompt" end
  if o.prompt == "-" then o.prompt = io.stdin:read("*a") or "" end
  if o.prompt == "" then return nil, "the prompt is empty" end
  return o
end

return function(args)
  local o, msg = parse(args)
  if not o then return fail(msg, true) end
  if o.help then
    io.stdout:write(USAGE)
    return 0
  end
  local anthropic = require "anthropic"
  local opts = common.client_options()
  -- warnings (a deprecated model, a retried attempt) on standard error, never on standard output;
  -- with ANTHROPIC_LOG set, every line it asks for (as anthropic.new does without a log function)
  local env_log = require("anthropic.transport").env_log()
  opts.log = function(level, line)
    if env_log then return env_log(level, line) end
    if level == "warn" then io.stderr:write("anthropic: warning: ", line, "\n") end
  end
  local made, client = pcall(anthropic.new, opts)
  if not made then return fail(common.shell_message(client)) end
  local params = {
    model = o.model, max_tokens = o.max_tokens, system = o.system,
    messages = { { role = "user", content = o.prompt } },
  }
  if o.json then
    local ok, m, err = pcall(client.messages.create, client.messages, params)
    client:close()
    if not ok and common.is_interrupt(m) then return common.interrupted("messages") end
    if not ok then error(m, 0) end
    if not m then return fail(common.shell_message(err)) end
    io.stdout:write(common.encode(m), "\n")
    return 0
  end
  local ok0, s, err = pcall(client.messages.stream, client.messages, params)
  if not ok0 and common.is_interrupt(s) then
    client:close()
    return common.interrupted("messages")
  end
  if not ok0 then error(s, 0) end
  if not s then return fail(common.shell_message(err)) end
  local last = "\n"
  local ok, e = pcall(function()
    for text in s:text() do
      io.stdout:write(text)
      io.stdout:flush()
      if text ~= "" then last = text:sub(-1) end
    end
  end)
  if last ~= "\n" then io.stdout:write("\n") end
  io.stdout:flush()
  s:close() -- an interrupted stream is cancelled here: its transfer ends, the connection is dropped
  client:close()
  if not ok and common.is_interrupt(e) then return common.interrupted("messages", "the stream was cancelled") end
  if not ok then return fail(common.shell_message(e)) end
  local m = assert(s:final()) -- complete: the loop ended without an error
  local u = m.usage or {}
  io.stderr:write(string.format("[%s, %s, %s input tokens, %s output tokens]\n", tostring(m.model),
    tostring(m.stop_reason), common.group(u.input_tokens or 0), common.group(u.output_tokens or 0)))
  return 0
end
