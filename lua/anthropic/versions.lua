--- The API versions this library speaks (the anthropic-version header) and what a Messages
-- request may not carry under each, so that a request the API would answer with a 400 is
-- refused before it is sent, with the fix in the message (docs/getting-started.md#api-versions).
local M = {}

M.DEFAULT = "2026-10-21"
M.KNOWN = { "2026-10-21", "2023-06-01" }

local KNOWN = {}
for _, v in ipairs(M.KNOWN) do KNOWN[v] = true end

--- nil when v is a version this library speaks, else why not (naming the known ones).
function M.check(v)
  if KNOWN[v] then return nil end
  return string.format("api_version %s is not an API version this library knows; use one of %s "
    .. "(or leave it out for %s)", type(v) == "string" and string.format("%q", v) or type(v),
    table.concat(M.KNOWN, ", "), M.DEFAULT)
end

local PIN = 'or pin api_version = "2023-06-01"'
local SAMPLING = { "temperature", "top_p", "top_k" }

local function non_empty(t)
  return type(t) == "table" and next(t) ~= nil
end

-- The first text block with citations in a user message's content, directly or inside a
-- search_result block. -> its path ("content[2].content[1]") | nil
local function cited_text(content, path)
  if type(content) ~= "table" then return nil end
  for i, b in ipairs(content) do
    if type(b) == "table" then
      local at = string.format("%s[%d]", path, i)
      if b.type == "text" and non_empty(b.citations) then return at end
      if b.type == "search_result" then
        local inner = cited_text(b.content, at .. ".content")
        if inner then return inner end
      end
    end
  end
end

--- What 2026-10-21 refuses in a Messages or count_tokens request. -> nil | message with the fix
function M.refusal(version, params)
  if version ~= "2026-10-21" or type(params) ~= "table" then return nil end
  for _, name in ipairs(SAMPLING) do
    if params[name] ~= nil then
      return string.format("%s is not accepted under API version 2026-10-21 (the API answers 400 even "
        .. "at its default value); remove it, %s", name, PIN)
    end
  end
  local messages = type(params.messages) == "table" and params.messages or {}
  for i, m in ipairs(messages) do
    if type(m) == "table" and type(m.content) == "table" then
      if m.role == "assistant" then
        for j, b in ipairs(m.content) do
          if type(b) == "table" and b.type == "document" then
            return string.format("messages[%d].content[%d]: a document block in an assistant message is not "
              .. "accepted under API version 2026-10-21; move the document into a user message, %s", i, j, PIN)
          end
        end
      elseif m.role == "user" then
        local at = cited_text(m.content, string.format("messages[%d].content", i))
        if at then
          return string.format("%s: a text block with citations in a user message is not accepted under "
            .. "API version 2026-10-21; remove its citations, %s", at, PIN)
        end
      end
    end
  end
end

return M
