--- Names people read: workspace and key names, tags. A name that shows as something it is not
-- (a trailing space, a right-to-left override that makes "Prod\u{202E}noitcudorP" read as
-- "ProdProduction", a NUL or another control character) is refused where names are declared or
-- given (organization files, the Admin CLI), and shown with escapes where names are displayed
-- (plans, export, the CLI's tables). Lengths are counted in characters (UTF-8), not bytes.
--   check(s) -> nil | message      what is wrong with s as a name, and how to fix it
--   length(s) -> n | nil, message  characters in s (nil for invalid UTF-8)
--   display(s) -> text             s with what could mislead escaped (\u{202E}, \n, \0, ...)
--   misleads(s) -> bool            display(s) differs from s
--   quote(s) -> text               "s" quoted for messages and plans (display escapes; %q otherwise)
--   cut(s, w[, ascii]) -> text     s cut to w characters, the last an ellipsis ("~" with ascii)
local utf8 = require("anthropic.compat").utf8

local M = {}

-- (no method calls on strings: an organization file's own string table is the strings' __index
-- while it runs, and these run then, for its error messages)
local byte, find, format, gsub, sub = string.byte, string.find, string.format, string.gsub, string.sub

-- Characters that change how the text around them is shown (bidirectional controls) and
-- characters that show as nothing: refused in names.
local BIDI = {
  [0x061C] = "ARABIC LETTER MARK", [0x200E] = "LEFT-TO-RIGHT MARK", [0x200F] = "RIGHT-TO-LEFT MARK",
  [0x202A] = "LEFT-TO-RIGHT EMBEDDING", [0x202B] = "RIGHT-TO-LEFT EMBEDDING",
  [0x202C] = "POP DIRECTIONAL FORMATTING", [0x202D] = "LEFT-TO-RIGHT OVERRIDE",
  [0x202E] = "RIGHT-TO-LEFT OVERRIDE", [0x2066] = "LEFT-TO-RIGHT ISOLATE", [0x2067] = "RIGHT-TO-LEFT ISOLATE",
  [0x2068] = "FIRST STRONG ISOLATE", [0x2069] = "POP DIRECTIONAL ISOLATE",
}
local INVISIBLE = {
  [0x00AD] = "SOFT HYPHEN", [0x180E] = "MONGOLIAN VOWEL SEPARATOR", [0x200B] = "ZERO WIDTH SPACE",
  [0x2028] = "LINE SEPARATOR", [0x2029] = "PARAGRAPH SEPARATOR", [0x2060] = "WORD JOINER",
  [0x2061] = "FUNCTION APPLICATION", [0x2062] = "INVISIBLE TIMES", [0x2063] = "INVISIBLE SEPARATOR",
  [0x2064] = "INVISIBLE PLUS", [0xFEFF] = "ZERO WIDTH NO-BREAK SPACE (BOM)",
}
-- Allowed in names (Persian and Indic scripts and emoji sequences need them), escaped on display.
local JOINERS = { [0x200C] = "ZERO WIDTH NON-JOINER", [0x200D] = "ZERO WIDTH JOINER" }
-- Spaces (a name must not start or end with one, nor be only spaces).
local SPACES = { [0x20] = true, [0xA0] = true, [0x1680] = true, [0x202F] = true, [0x205F] = true,
                 [0x3000] = true }
for c = 0x2000, 0x200A do SPACES[c] = true end

local function is_control(c)
  return c < 0x20 or (c >= 0x7F and c <= 0x9F)
end

--- s cut to w characters (w >= 1; UTF-8 characters, not bytes), the last one an ellipsis ("~"
-- with ascii); s itself when it fits. For the CLI's table cells and the charts' lines.
function M.cut(s, w, ascii)
  local _, n = s:gsub("[^\128-\191]", "")
  if n <= w then return s end
  local out = {}
  n = 0
  for _, c in utf8.codes(s) do
    if n == w - 1 then break end
    out[#out + 1] = utf8.char(c)
    n = n + 1
  end
  return table.concat(out) .. (ascii and "~" or "…")
end

--- The number of characters in s. -> n | nil, message (invalid UTF-8, naming the byte)
function M.length(s)
  local n, bad = utf8.len(s)
  if n then return n end
  return nil, "is not valid UTF-8 (at byte " .. bad .. "): write the name as UTF-8 text"
end

local SHORT = { [0] = "\\0", [7] = "\\a", [8] = "\\b", [9] = "\\t", [10] = "\\n", [11] = "\\v", [12] = "\\f",
                [13] = "\\r" }

local function escaped(c)
  return SHORT[c] or format("\\u{%X}", c)
end

local function needs_escape(c)
  return is_control(c) or BIDI[c] or INVISIBLE[c] or JOINERS[c] or (SPACES[c] and c ~= 0x20)
end

--- s for display: control characters, bidirectional controls and invisible characters as Lua
-- escapes (\0, \n, \u{202E}), invalid UTF-8 bytes as \xNN, backslashes doubled when anything is
-- escaped (so that the text reads back as the name in an organization file); spaces other than
-- U+0020 (no-break, ideographic, ...) as \u{...} too. Other text as is.
function M.display(s)
  s = tostring(s)
  if not M.misleads(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local ok, c = pcall(utf8.codepoint, s, i)
    local len = ok and #utf8.char(c) or 1
    if ok then
      if c == 0 and find(s, "^%d", i + 1) then
        out[#out + 1] = "\\x00" -- (\0 and a digit would read back as another escape)
      elseif needs_escape(c) then
        out[#out + 1] = escaped(c)
      elseif c == 92 then
        out[#out + 1] = "\\\\"
      else
        out[#out + 1] = sub(s, i, i + len - 1)
      end
    else
      out[#out + 1] = format("\\x%02X", byte(s, i))
      len = 1
    end
    i = i + len
  end
  return table.concat(out)
end

--- true when s holds anything display() escapes.
function M.misleads(s)
  if not utf8.len(s) then return true end
  for _, c in utf8.codes(s) do
    if needs_escape(c) then return true end
  end
  return false
end

--- s in double quotes, as a Lua string: format("%q", s) when nothing in s misleads, else
-- display(s) with its quotes escaped (one line, whatever s holds). With max, a longer s shows
-- its first max characters: "abc"... (5000 characters).
function M.quote(s, max)
  s = tostring(s)
  local tail = ""
  if max and #s > max then
    local n = utf8.len(s)
    local cut = n and n > max and utf8.offset(s, max + 1) or (not n and max + 1)
    if cut then
      tail = "... (" .. (n and (n .. " characters") or (#s .. " bytes")) .. ")"
      s = sub(s, 1, cut - 1)
    end
  end
  if not M.misleads(s) then return format("%q", s) .. tail end
  return '"' .. gsub(M.display(s), '"', '\\"') .. '"' .. tail
end

local function describe(c)
  local name = BIDI[c] or INVISIBLE[c]
  return format("\\u{%X}%s", c, name and (" " .. name) or "")
end

--- What is wrong with s as a name (a workspace or key name, a tag), or nil. The message says
-- what to do: "has a trailing space: write \"Production\"".
function M.check(s)
  local n, err = M.length(s)
  if not n then return err end
  local pos = 0
  for _, c in utf8.codes(s) do
    pos = pos + 1
    if c == 0 then
      return "contains a NUL byte (\\0, character " .. pos .. "): remove it"
    elseif is_control(c) then
      return "contains a control character (" .. escaped(c) .. ", character " .. pos .. "): remove it"
    elseif BIDI[c] then
      return "contains a bidirectional control (" .. describe(c) .. ", character " .. pos
        .. "), which makes the name display as something else: remove it"
    elseif INVISIBLE[c] then
      return "contains an invisible character (" .. describe(c) .. ", character " .. pos .. "): remove it"
    end
  end
  if n == 0 then return nil end
  local first, last, only = nil, nil, true
  for _, c in utf8.codes(s) do
    first = first or c
    last = c
    if not SPACES[c] then only = false end
  end
  if only then return "is only spaces: give a name that can be read" end
  if SPACES[first] or SPACES[last] then
    local trimmed = s
    while true do
      local c = utf8.codepoint(trimmed, 1)
      if not SPACES[c] then break end
      trimmed = sub(trimmed, #utf8.char(c) + 1)
    end
    while true do
      local at = utf8.offset(trimmed, -1)
      if not SPACES[utf8.codepoint(trimmed, at)] then break end
      trimmed = sub(trimmed, 1, at - 1)
    end
    local where = SPACES[first] and SPACES[last] and "a leading and a trailing space"
      or SPACES[first] and "a leading space" or "a trailing space"
    return "has " .. where .. ": write " .. format("%q", trimmed)
  end
  return nil
end

return M
