-- `anthropic messages "prompt" [--model M] [--max-tokens N] [--system S]`: streams the reply to
-- standard output as it arrives and prints the stop reason and token usage to standard error.
-- The key comes from the environment (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN), never from the
-- command line; ANTHROPIC_BASE_URL points it elsewhere (the emulator). Exit code 0, or 1 with a
-- message on standard error.
local USAGE = [[
usage: anthropic messages "prompt" [--model M] [--max-tokens N] [--system S]

  --model M         the model (default claude-opus-4-6)
  --max-tokens N    the most tokens to generate (default 1024)
  --system S        a system prompt
  "-" as the prompt reads it from standard input.

Streams the reply to standard output as it arrives; the stop reason and token usage go to
standard error, and so do warnings (a deprecated model). The key comes from ANTHROPIC_API_KEY
(or ANTHROPIC_AUTH_TOKEN).
]]

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
    elseif name then
      if not FLAGS[name] then return nil, "unknown option " .. a end
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then return nil, "--" .. name .. " needs a value" end
      end
      o[FLAGS[name]] = value
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option " .. a
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
  local opts = require("anthropic.cli.common").client_options()
  -- warnings (a deprecated model, a retried attempt) on standard error, never on standard output
  opts.log = function(level, line)
    if level == "warn" then io.stderr:write("anthropic: warning: ", line, "\n") end
  end
  local made, client = pcall(anthropic.new, opts)
  if not made then return fail(tostring(type(client) == "table" and client.message or client)) end
  local s, err = client.messages:stream {
    model = o.model, max_tokens = o.max_tokens, system = o.system,
    messages = { { role = "user", content = o.prompt } },
  }
  if not s then return fail(tostring(err)) end
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
  s:close()
  client:close()
  if not ok then return fail(tostring(e)) end
  local m = assert(s:final()) -- complete: the loop ended without an error
  local u = m.usage or {}
  io.stderr:write(string.format("[%s, %s, %d input tokens, %d output tokens]\n", tostring(m.model),
    tostring(m.stop_reason), u.input_tokens or 0, u.output_tokens or 0))
  return 0
end
