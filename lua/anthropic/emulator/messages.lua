-- POST /v1/messages and POST /v1/messages/count_tokens: validation like the real API, a reply
-- derived only from the request, and token estimates.
--
-- Tokens (documented in docs/emulator.md): input_tokens = max(1, ceil(C / 4)) where C counts the
-- UTF-8 characters of the system text, every message's text (tool_use: name + JSON input;
-- tool_result: its text; other blocks: their JSON) and every tool definition's JSON (keys sorted).
-- output_tokens = max(1, ceil(characters of the reply text, plus tool name + JSON input, / 4)).
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"
local sse = require "anthropic.emulator.sse"
local util = require "anthropic.emulator.util"
local models = require "anthropic.emulator.models"

local M = {}

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- The body fields of the SDK's MessageCreateParams and MessageCountTokensParams (1.16.0; its
-- user_profile_id and workspace_id are headers, not body fields), plus the sampling parameters
-- (2023-06-01 only) and the beta fields the emulator lets through.
local CREATE_FIELDS = set {
  "model", "messages", "max_tokens", "system", "stream", "temperature", "top_p", "top_k",
  "stop_sequences", "tools", "tool_choice", "thinking", "metadata", "service_tier", "output_config",
  "output_format", "cache_control", "container", "context_management", "mcp_servers", "inference_geo",
  "speed", "diagnostics",
}
local COUNT_FIELDS = set {
  "model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control", "output_config",
  "output_format", "context_management", "mcp_servers", "speed",
}

local function is_list(t)
  return type(t) == "table" and (next(t) == nil or t[1] ~= nil)
end

local function is_object(t)
  return type(t) == "table" and t[1] == nil
end

local function is_int(v)
  return type(v) == "number" and v == math.floor(v) and v > -2^53 and v < 2^53
end

local function bad(message)
  return errors.response(400, message)
end

local function present(v)
  return v ~= nil and v ~= json.null
end

local function validate_blocks(blocks, where)
  for j, b in ipairs(blocks) do
    local at = where .. "." .. (j - 1)
    if not is_object(b) or type(b.type) ~= "string" then return bad(at .. ".type: Field required") end
    if b.type == "text" then
      if type(b.text) ~= "string" then return bad(at .. ".text: Input should be a valid string") end
      if b.text == "" then return bad("messages: text content blocks must be non-empty") end
    elseif b.type == "tool_use" then
      if type(b.id) ~= "string" or type(b.name) ~= "string" or not is_object(b.input) then
        return bad(at .. ": tool_use blocks need id, name and input")
      end
    elseif b.type == "tool_result" then
      if type(b.tool_use_id) ~= "string" then return bad(at .. ".tool_use_id: Field required") end
    end
  end
end

local function validate_tools(tools)
  if not is_list(tools) then return bad("tools: Input should be a valid list") end
  for i, t in ipairs(tools) do
    local at = "tools." .. (i - 1)
    if not is_object(t) then return bad(at .. ": Input should be a valid dictionary") end
    if t.type == nil or t.type == "custom" then
      if type(t.name) ~= "string" or not t.name:match("^[%w_%-]+$") or #t.name > 128 then
        return bad(at .. ".name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'")
      end
      if not is_object(t.input_schema) then return bad(at .. ".input_schema: Field required") end
    end
  end
end

-- role "system" messages (mid-conversation system messages): text only, never first, right after
-- a user message (or an assistant one that ends in a server tool use), last or followed by an
-- assistant message, never next to another one. Which models take them: validate_for_model.
local function ends_in_server_tool(m)
  local c = m.content
  return type(c) == "table" and is_object(c[#c]) and c[#c].type == "server_tool_use"
end

local function validate_system_messages(msgs)
  for i, m in ipairs(msgs) do
    if m.role == "system" then
      local at = "messages." .. (i - 1)
      if type(m.content) == "table" then
        for j, b in ipairs(m.content) do
          if b.type ~= "text" then
            return bad(string.format("%s.content.%d: system messages may contain only text blocks", at, j - 1))
          end
          if type(b.citations) == "table" and next(b.citations) then
            return bad(string.format("%s.content.%d.citations: citations are not permitted in system messages",
              at, j - 1))
          end
        end
      end
      local prev, nxt = msgs[i - 1], msgs[i + 1]
      if prev.role == "system" or (nxt and nxt.role == "system") then
        return bad(at .. ": consecutive system messages are not permitted")
      end
      if not (prev.role == "user" or (prev.role == "assistant" and ends_in_server_tool(prev))) then
        return bad(at .. ": a system message must follow a user message or an assistant message that ends "
          .. "in a server tool use")
      end
      if nxt and nxt.role ~= "assistant" then
        return bad(at .. ": a system message must be the last message or be followed by an assistant message")
      end
    end
  end
end

local SERVICE_TIERS = set { "auto", "standard_only" }
local SPEEDS = set { "standard", "fast" }
local GEOS = set { "global", "us" }
local DISPLAYS = set { "summarized", "omitted" }
local THINKING_FIELDS = {
  enabled = set { "type", "budget_tokens", "display" }, adaptive = set { "type", "display" },
  disabled = set { "type" }, between_tools = set { "type" },
}
M.MIN_BUDGET = 1024

local function extra_member(t, allowed, where)
  local names = {}
  for k in pairs(t) do
    if not allowed[k] then names[#names + 1] = tostring(k) end
  end
  table.sort(names)
  if names[1] then return bad(where .. "." .. names[1] .. ": Extra inputs are not permitted") end
end

local function validate_thinking(body, for_count)
  local th = body.thinking
  if not is_object(th) then return bad("thinking: Input should be a valid dictionary") end
  local allowed = THINKING_FIELDS[th.type]
  if not allowed then
    return bad("thinking.type: Input should be 'enabled', 'disabled', 'between_tools' or 'adaptive'")
  end
  local where = "thinking." .. th.type
  local err = extra_member(th, allowed, where)
  if err then return err end
  if present(th.display) and not DISPLAYS[th.display] then
    return bad(where .. ".display: Input should be 'summarized' or 'omitted'")
  end
  if th.type == "enabled" then
    local b = th.budget_tokens
    if not present(b) then return bad(where .. ".budget_tokens: Field required") end
    if not is_int(b) then return bad(where .. ".budget_tokens: Input should be a valid integer") end
    if b < M.MIN_BUDGET then
      return bad(where .. ".budget_tokens: Input should be greater than or equal to " .. M.MIN_BUDGET)
    end
    if not for_count and body.max_tokens <= b then
      return bad("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
        .. "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
    end
  end
end

-- What thinking does not go with (the extended thinking guide): a tool_choice that forces a
-- tool, and (2023-06-01 only, where they exist) temperature other than 1, top_k, top_p below 0.95.
local THINKING_DOC = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
local function thinking_conflicts(body)
  local choice = body.tool_choice
  if is_object(choice) and (choice.type == "any" or choice.type == "tool") then
    return bad("Thinking may not be enabled when tool_choice forces tool use.")
  end
  if present(body.temperature) and body.temperature ~= 1 then
    return bad("`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
      .. THINKING_DOC .. "#feature-compatibility")
  end
  if present(body.top_k) then
    return bad("`top_k` must be unset when thinking is enabled. Please consult our documentation at "
      .. THINKING_DOC .. "#feature-compatibility")
  end
  if present(body.top_p) and type(body.top_p) == "number" and body.top_p < 0.95 then
    return bad("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult "
      .. "our documentation at " .. THINKING_DOC .. "#feature-compatibility")
  end
end

-- The fields of today's API that take a closed set of values or a shape (the SDK's types).
local function validate_options(body, for_count)
  if present(body.service_tier) and not SERVICE_TIERS[body.service_tier] then
    return bad("service_tier: Input should be 'auto' or 'standard_only'")
  end
  if present(body.speed) and not SPEEDS[body.speed] then
    return bad("speed: Input should be 'standard' or 'fast'")
  end
  if present(body.inference_geo) then
    if type(body.inference_geo) ~= "string" then return bad("inference_geo: Input should be a valid string") end
    if not GEOS[body.inference_geo] then
      return bad(string.format("inference_geo: %q is not a supported inference geo; use 'global' or 'us'",
        body.inference_geo))
    end
  end
  local d = body.diagnostics
  if present(d) then
    if not is_object(d) then return bad("diagnostics: Input should be a valid dictionary") end
    local err = extra_member(d, set { "previous_message_id" }, "diagnostics")
    if err then return err end
    if present(d.previous_message_id) and type(d.previous_message_id) ~= "string" then
      return bad("diagnostics.previous_message_id: Input should be a valid string")
    end
  end
  if present(body.thinking) then
    local err = validate_thinking(body, for_count)
    if err then return err end
    if body.thinking.type ~= "disabled" then
      err = thinking_conflicts(body)
      if err then return err end
    end
  end
end

-- Models that take role "system" messages (Opus 4.8 and the Opus, Fable and Mythos models after it).
local SYSTEM_MESSAGE_LINES = set { "opus", "fable", "mythos" }
function M.takes_system_messages(model)
  return SYSTEM_MESSAGE_LINES[model.line or ""] == true and model.created_at >= "2026-05-01"
end

-- What depends on the model: thinking types (its capabilities), inference_geo (Claude 4.6 and
-- later), system messages.
local function validate_for_model(body, model)
  local th = body.thinking
  if present(th) then
    local types = models.capabilities(model).thinking.types
    if not (types[th.type] and types[th.type].supported) then
      return bad(string.format("thinking.type: '%s' is not supported on %s", th.type, model.id))
    end
  end
  if present(body.inference_geo) and model.created_at < "2026-02" then
    return bad("inference_geo: is not supported on " .. model.id .. "; it requires Claude 4.6 or later")
  end
  for i, m in ipairs(body.messages) do
    if m.role == "system" and not M.takes_system_messages(model) then
      return bad(string.format("messages.%d.role: system messages are not supported on %s", i - 1, model.id))
    end
  end
end

-- What API version 2026-10-21 refuses that 2023-06-01 accepts (the migration guide): the
-- sampling parameters, a document block directly in an assistant message, and a user text
-- block with citations (directly or inside a search_result block).
local SAMPLING = { "temperature", "top_k", "top_p" }

local function cited_block(blocks, where)
  for j, b in ipairs(blocks) do
    local at = where .. "." .. (j - 1)
    if is_object(b) and b.type == "text" and type(b.citations) == "table" and next(b.citations) then
      return at
    end
    if is_object(b) and b.type == "search_result" and is_list(b.content) then
      local inner = cited_block(b.content, at .. ".content")
      if inner then return inner end
    end
  end
end

local function refused_in_2026(body)
  for i, m in ipairs(body.messages) do
    local at = "messages." .. (i - 1) .. ".content"
    if type(m.content) == "table" then
      if m.role == "assistant" then
        for j, b in ipairs(m.content) do
          if b.type == "document" then
            return bad(at .. "." .. (j - 1) .. ": document blocks are not permitted in assistant messages")
          end
        end
      else
        local cited = cited_block(m.content, at)
        if cited then return bad(cited .. ".citations: citations are not permitted in user messages") end
      end
    end
  end
end

-- -> nil when valid, else an error response (400, or 404 for an unknown model). version: the
-- request's anthropic-version (the batch's, for a batch request).
function M.validate(emu, body, for_count, version)
  if not is_object(body) then return bad("Request body must be a JSON object") end
  local known = for_count and COUNT_FIELDS or CREATE_FIELDS
  local extra = {}
  for k in pairs(body) do
    if not known[k] then extra[#extra + 1] = tostring(k) end
  end
  if version == "2026-10-21" then
    for _, name in ipairs(SAMPLING) do
      if body[name] ~= nil then extra[#extra + 1] = name end
    end
  end
  table.sort(extra)
  if extra[1] then return bad(extra[1] .. ": Extra inputs are not permitted") end
  if not present(body.model) then return bad("model: Field required") end
  if type(body.model) ~= "string" then return bad("model: Input should be a valid string") end
  if not for_count then
    if not present(body.max_tokens) then return bad("max_tokens: Field required") end
    if not is_int(body.max_tokens) then return bad("max_tokens: Input should be a valid integer") end
    if body.max_tokens < 0 then return bad("max_tokens: Input should be greater than or equal to 0") end
  end
  local msgs = body.messages
  if not present(msgs) then return bad("messages: Field required") end
  if not is_list(msgs) then return bad("messages: Input should be a valid list") end
  if #msgs == 0 then return bad("messages: at least one message is required") end
  for i, m in ipairs(msgs) do
    local at = "messages." .. (i - 1)
    if not is_object(m) then return bad(at .. ": Input should be a valid dictionary") end
    if m.role ~= "user" and m.role ~= "assistant" and m.role ~= "system" then
      return bad(at .. ".role: Input should be 'user', 'assistant' or 'system'")
    end
    local c = m.content
    if not present(c) then return bad(at .. ".content: Field required") end
    if type(c) ~= "string" and not is_list(c) then
      return bad(at .. ".content: Input should be a valid string or a list of content blocks")
    end
    if (c == "" or (type(c) == "table" and #c == 0)) and not (i == #msgs and m.role == "assistant") then
      return bad(at .. ": all messages must have non-empty content except for the optional final assistant message")
    end
    if type(c) == "table" then
      local err = validate_blocks(c, at .. ".content")
      if err then return err end
    end
  end
  if msgs[1].role ~= "user" then return bad("messages: first message must use the \"user\" role") end
  local system_err = validate_system_messages(msgs)
  if system_err then return system_err end
  if version == "2026-10-21" then
    local refused = refused_in_2026(body)
    if refused then return refused end
  end
  if present(body.system) and type(body.system) ~= "string" then
    if not is_list(body.system) then return bad("system: Input should be a valid string or list") end
    local err = validate_blocks(body.system, "system")
    if err then return err end
  end
  if present(body.stop_sequences) then
    if not is_list(body.stop_sequences) then return bad("stop_sequences: Input should be a valid list") end
    for i, s in ipairs(body.stop_sequences) do
      if type(s) ~= "string" or s == "" then
        return bad("stop_sequences." .. (i - 1) .. ": Input should be a non-empty string")
      end
    end
  end
  if present(body.stream) and type(body.stream) ~= "boolean" then
    return bad("stream: Input should be a valid boolean")
  end
  if present(body.temperature) and (type(body.temperature) ~= "number" or body.temperature < 0
      or body.temperature > 1) then
    return bad("temperature: Input should be a number between 0 and 1")
  end
  if present(body.tools) then
    local err = validate_tools(body.tools)
    if err then return err end
  end
  local choice = body.tool_choice
  if present(choice) then
    if not is_object(choice) or not set { "auto", "any", "tool", "none" }[choice.type] then
      return bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    end
    if choice.type == "tool" then
      local found = false
      for _, t in ipairs(present(body.tools) and body.tools or {}) do
        if t.name == choice.name then found = true end
      end
      if not found then return bad("tool_choice.name: no tool named " .. tostring(choice.name)) end
    end
  end
  local options_err = validate_options(body, for_count)
  if options_err then return options_err end
  local model = emu.models:usable(body.model)
  if not model then return errors.response(404, "model: " .. body.model) end
  if not for_count and body.max_tokens > model.max_tokens then
    return bad(string.format("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s",
      body.max_tokens, model.max_tokens, model.id))
  end
  return validate_for_model(body, model)
end

---------------------------------------------------------------------------------------------------
-- Token estimates

local function block_text(b)
  if b.type == "text" then return b.text end
  if b.type == "tool_use" then return b.name .. json.encode(b.input) end
  if b.type == "tool_result" then
    local c = b.content
    if type(c) == "string" then return c end
    if type(c) == "table" then
      local parts = {}
      for _, x in ipairs(c) do
        if type(x) == "table" and x.type == "text" and type(x.text) == "string" then parts[#parts + 1] = x.text end
      end
      return table.concat(parts)
    end
    return ""
  end
  return json.encode(b)
end

-- The input token estimate for a (valid) Messages or count_tokens body.
function M.input_tokens(body)
  local chars = 0
  local function add(s) chars = chars + util.chars(s) end
  local function add_content(c)
    if type(c) == "string" then add(c)
    elseif type(c) == "table" then
      for _, b in ipairs(c) do add(block_text(b)) end
    end
  end
  if present(body.system) then add_content(body.system) end
  for _, m in ipairs(body.messages) do add_content(m.content) end
  if present(body.tools) then
    for _, t in ipairs(body.tools) do add(json.encode(t)) end
  end
  return math.max(1, math.ceil(chars / 4))
end

---------------------------------------------------------------------------------------------------
-- The reply

-- The last user message's text (text blocks joined by "\n") and its tool results' text.
local function last_user(messages)
  for i = #messages, 1, -1 do
    local m = messages[i]
    if m.role == "user" then
      if type(m.content) == "string" then return m.content, nil end
      local texts, results = {}, {}
      for _, b in ipairs(m.content) do
        if b.type == "text" then texts[#texts + 1] = b.text
        elseif b.type == "tool_result" then results[#results + 1] = block_text(b)
        end
      end
      return #texts > 0 and table.concat(texts, "\n") or nil, #results > 0 and table.concat(results, "\n") or nil
    end
  end
end

-- A value for a JSON schema, the same every time.
local function sample(schema, name, depth)
  if not is_object(schema) or depth > 6 then return "example " .. name end
  if present(schema.const) then return schema.const end
  if present(schema.default) then return schema.default end
  if is_list(schema.enum) and schema.enum[1] ~= nil then return schema.enum[1] end
  local t = schema.type
  if type(t) == "table" then t = t[1] end
  if t == nil and is_object(schema.properties) then t = "object" end
  if t == "string" then return "example " .. name end
  if t == "integer" then return is_int(schema.minimum) and schema.minimum or 1 end
  if t == "number" then return type(schema.minimum) == "number" and schema.minimum or 1 end
  if t == "boolean" then return true end
  if t == "null" then return json.null end
  if t == "array" then return json.array { sample(schema.items, name, depth + 1) } end
  if t == "object" then
    local obj = {}
    local props = is_object(schema.properties) and schema.properties or {}
    for _, p in ipairs(is_list(schema.required) and schema.required or {}) do
      if type(p) == "string" then obj[p] = sample(props[p], p, depth + 1) end
    end
    return obj
  end
  return "example " .. name
end

local function pick_tool(body, text)
  local choice = present(body.tool_choice) and body.tool_choice or { type = "auto" }
  if not present(body.tools) or choice.type == "none" or not text then return nil end
  local custom = {}
  for _, t in ipairs(body.tools) do
    if t.type == nil or t.type == "custom" then custom[#custom + 1] = t end
  end
  if choice.type == "tool" then
    for _, t in ipairs(custom) do
      if t.name == choice.name then return t end
    end
  end
  for _, t in ipairs(custom) do
    if text:find(t.name, 1, true) then return t end
  end
  if choice.type == "any" then return custom[1] end
end

-- The earliest stop sequence in text. -> position, sequence | nil
local function find_stop(text, stops)
  local best, seq
  for _, s in ipairs(present(stops) and stops or {}) do
    local i = text:find(s, 1, true)
    if i and (not best or i < best) then best, seq = i, s end
  end
  return best, seq
end

-- Usage as the SDK's Usage type has it. body: the request (its speed and inference_geo are
-- echoed; service_tier auto or standard_only is served from standard capacity: the emulator has
-- no priority tier); thinking_tokens: the output tokens the thinking block took, if any.
function M.usage(input_tokens, output_tokens, body, thinking_tokens)
  body = body or {}
  return {
    input_tokens = input_tokens, output_tokens = output_tokens,
    cache_creation_input_tokens = 0, cache_read_input_tokens = 0,
    cache_creation = { ephemeral_5m_input_tokens = 0, ephemeral_1h_input_tokens = 0 },
    service_tier = "standard", speed = present(body.speed) and body.speed or "standard",
    inference_geo = present(body.inference_geo) and body.inference_geo or "global",
    -- no server tools in the emulator's answers: the SDK's types allow null
    output_tokens_details = thinking_tokens and { thinking_tokens = thinking_tokens } or json.null,
    server_tool_use = json.null,
  }
end

-- The container a request names (its id, or { id = ... }), as the API answers it: id and when it
-- expires (an hour after its last use); null when the request names none.
M.CONTAINER_SECONDS = 3600
local function container_for(body)
  local c = body.container
  local id = type(c) == "string" and c or type(c) == "table" and type(c.id) == "string" and c.id or nil
  if not id then return json.null end
  return { id = id, expires_at = util.rfc3339(util.now() + M.CONTAINER_SECONDS), skills = json.null }
end

-- The thinking block of a request with thinking enabled or adaptive (nil otherwise): a fixed
-- sentence about the last user text, with a signature derived from it (display "omitted": the
-- text is empty, the signature stays). -> block, tokens
local function thinking_for(body, text)
  local th = body.thinking
  if not (is_object(th) and (th.type == "enabled" or th.type == "adaptive")) then return nil end
  local thought = "The user wrote " .. util.chars(text or "") .. " characters. I will answer by repeating them."
  local signature = util.stable_id("Eq", thought .. json.encode(body.messages), 86) .. "=="
  local tokens = util.tokens(thought)
  if th.display == "omitted" then thought = "" end
  return { type = "thinking", thinking = thought, signature = signature }, tokens
end

-- The diagnostics of an answer: null unless the request asked for them; the emulator keeps no
-- prompt cache, so with a previous message to compare there is nothing it could reuse.
local function diagnostics_for(body)
  local d = body.diagnostics
  if not is_object(d) then return json.null end
  if present(d.previous_message_id) then return { cache_miss_reason = { type = "unavailable" } } end
  return { cache_miss_reason = json.null }
end

-- The Message for a valid request body: same body, same content and usage (the id differs).
-- max_tokens = 0 (pre-warming the prompt cache): no content, stop_reason max_tokens, the input
-- counted and no output.
function M.reply(body, input_tokens)
  local text, results = last_user(body.messages)
  local tool = pick_tool(body, text)
  local reply
  if text then
    reply = "You said: " .. text
  elseif results then
    reply = "The tool returned: " .. results
  else
    reply = "Hello! How can I help you today?"
  end
  local tool_block
  if tool then
    reply = "I'll use the " .. tool.name .. " tool."
    local input = sample(tool.input_schema, tool.name, 0)
    tool_block = { type = "tool_use", name = tool.name, input = input, caller = { type = "direct" },
                   id = util.stable_id("toolu_01", json.encode(body.messages) .. tool.name, 22) }
  end
  local stop_reason, stop_sequence = tool_block and "tool_use" or "end_turn", json.null
  local pos, seq = find_stop(reply, body.stop_sequences)
  if pos then
    reply, stop_reason, stop_sequence, tool_block = reply:sub(1, pos - 1), "stop_sequence", seq, nil
  end
  local thinking, thinking_tokens
  if body.max_tokens > 0 then thinking, thinking_tokens = thinking_for(body, text) end
  local room = body.max_tokens - (thinking_tokens or 0)
  if room < 1 and thinking then -- (adaptive with a small max_tokens: the thinking is cut short)
    thinking.thinking = util.prefix_chars(thinking.thinking, body.max_tokens * 4)
    thinking_tokens, room = body.max_tokens, 0
  end
  local tool_tokens = tool_block and util.tokens(tool_block.name .. json.encode(tool_block.input)) or 0
  local answer_tokens = math.max(1, util.tokens(reply) + tool_tokens)
  if answer_tokens > room then
    tool_block = nil
    reply = util.prefix_chars(reply, room * 4)
    stop_reason, stop_sequence, answer_tokens = "max_tokens", json.null, room
  end
  local content = json.array()
  if thinking then content[1] = thinking end
  if reply ~= "" then content[#content + 1] = { type = "text", text = reply, citations = json.null } end
  if tool_block then content[#content + 1] = tool_block end
  return {
    id = util.random_id("msg_01", 22), type = "message", role = "assistant", model = body.model,
    content = content, stop_reason = stop_reason, stop_sequence = stop_sequence, stop_details = json.null,
    container = container_for(body), diagnostics = diagnostics_for(body),
    usage = M.usage(input_tokens, answer_tokens + (thinking_tokens or 0), body, thinking_tokens),
  }
end

---------------------------------------------------------------------------------------------------
-- Handlers

local LIMIT_WORDS = { requests = "requests per minute", input = "input tokens per minute",
                      output = "output tokens per minute" }
local LIMIT_NAMES = { requests = "rpm", input = "itpm", output = "otpm" }

-- The bucket sets a request spends from (ratelimit.lua take): its model group's (token counting:
-- its own group's) organization-wide set, and the workspace's own when the workspace has limits
-- of its own, those overrides taken into account. -> { sets, caps (in force), own (the limits
-- that are the workspace's), shown (the set the headers describe) }
local function limits_of(emu, req, model, count)
  local rate_limits = require "anthropic.emulator.admin.rate_limits"
  local key = count and "token_count" or rate_limits.model_key(emu, model)
  local caps, own = rate_limits.in_force(emu, req.workspace_id, count and "token_count" or "model_group", key)
  local org = { id = "organization/" .. key, caps = rate_limits.in_force(emu, nil) }
  local l = { sets = { org }, caps = caps, own = own, shown = org }
  if next(own) then
    l.shown = { id = (req.workspace_id or "default") .. "/" .. key, caps = caps }
    l.sets[2] = l.shown
  end
  return l
end

local function rate_limited(emu, req, l, retry_after, which, requests_bucket, model, refusing)
  local n = LIMIT_NAMES[which]
  local mine = refusing ~= l.sets[1]
  local whose = mine and "your workspace's" or "your organization's"
  local where = mine and string.format(" (workspace: %s, model: %s)", req.workspace_id, tostring(model)) or ""
  local res = errors.response(429, string.format(
    "This request would exceed %s rate limit of %d %s%s. For details, refer to: "
      .. "https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. "
      .. "Please reduce the prompt length or the maximum tokens requested, or try again later.",
    whose, refusing.caps[n], LIMIT_WORDS[which], where))
  res.headers = emu.ratelimit:headers(refusing.id, requests_bucket, nil, refusing.caps)
  res.headers["retry-after"] = tostring(retry_after)
  return res
end

function M.create(emu, req)
  local body, err = emu:json_body(req)
  if not body then return err end
  err = M.validate(emu, body, false, req.api_version)
  if err then return err end
  local l = limits_of(emu, req, body.model)
  local input_tokens = M.input_tokens(body)
  local ok, retry_after, which, refusing = emu.ratelimit:take(l.sets, { input = input_tokens })
  if not ok then return rate_limited(emu, req, l, retry_after, which, "requests", body.model, refusing) end
  local msg = M.reply(body, input_tokens)
  emu.ratelimit:spend_output(l.sets, msg.usage.output_tokens)
  emu:record_usage { key = req.key_info, model = body.model, input_tokens = input_tokens,
                     output_tokens = msg.usage.output_tokens, inference_geo = msg.usage.inference_geo }
  local headers = emu.ratelimit:headers(l.shown.id, "requests", nil, l.shown.caps)
  if body.stream == true then
    return { status = 200, headers = headers, stream = sse.events(msg) }
  end
  return { status = 200, headers = headers, body = msg }
end

function M.count_tokens(emu, req)
  local body, err = emu:json_body(req)
  if not body then return err end
  err = M.validate(emu, body, true, req.api_version)
  if err then return err end
  local l = limits_of(emu, req, body.model, true)
  local ok, retry_after, which, refusing = emu.ratelimit:take(l.sets, { requests_bucket = "count_requests" })
  if not ok then return rate_limited(emu, req, l, retry_after, which, "count_requests", body.model, refusing) end
  return { status = 200, headers = emu.ratelimit:headers(l.shown.id, "count_requests", nil, l.shown.caps),
           body = { input_tokens = M.input_tokens(body) } }
end

function M.register(emu)
  emu:route("POST", "^/v1/messages$", M.create, { auth = "api", stream_faults = true })
  emu:route("POST", "^/v1/messages/count_tokens$", M.count_tokens, { auth = "api" })
end

return M
