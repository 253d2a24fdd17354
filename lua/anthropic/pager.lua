--- Pagers for the two pagination models of the API.
--   cursor: limit, after_id, before_id -> {data, has_more, first_id, last_id}; a query with
--           before_id walks backwards (before_id = first_id).
--   token:  page -> {data, has_more, next_page}; walk until next_page is null.
-- A walk ends at has_more = false. A page with has_more = true and no cursor, or with a cursor the
-- walk already had, is a "decode" error: never the last page, never an endless loop.
-- pager:page() fetches one raw page, pager:pages() iterates pages, pager:each() iterates items
-- across pages lazily, pager:all([max]) -> array | nil, err. Iterators raise the error object.
local compat = require "anthropic.compat"
local errors = require "anthropic.error"
local options = require "anthropic.options"

local Pager = {}
Pager.__index = Pager
Pager.__name = "anthropic.pager"

local M = {}

-- pager:all's max (options.lua; the table in docs/getting-started.md)
M.ARGS = { all = { type = "number", int = true, min = 0, max = 1e9 } }

local function check_self(self, name)
  if getmetatable(self) ~= Pager then
    error("pager:" .. name .. " must be called with a colon: pager:" .. name .. "(...)", 3)
  end
end

--- fetch(query) -> page | nil, err; kind is "cursor" or "token".
function M.new(kind, query, fetch)
  return setmetatable({ kind = kind, query = query or {}, fetch = fetch }, Pager)
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- A page that breaks the pagination contract. It is JSON, but not a page the API promises, so it
-- is a decode error, never taken for the last page (a list cut short reads as objects missing).
local function contract_error(message)
  return errors.new { kind = "decode", retryable = false, message = message }
end

-- Which field of a page holds the cursor, and which query parameter takes it.
local function cursor_fields(kind, query)
  if kind == "token" then return "next_page", "page" end
  if query.before_id then return "first_id", "before_id" end
  return "last_id", "after_id"
end

-- The query for the page after `page` -> query | nil at the end | false, err when the page says
-- there is more but gives no cursor, or a cursor this walk has had (`seen`: cursor -> true).
function Pager:next_query(query, page, seen)
  local field, param = cursor_fields(self.kind, query)
  local cursor = page[field]
  if type(cursor) ~= "string" or cursor == "" then cursor = nil end
  if page.has_more == true then
    if not cursor then
      return false, contract_error(string.format("the server said has_more = true but sent no %s (the cursor "
        .. "of the next page): the list cannot be read to its end", field))
    end
  elseif page.has_more == false or not cursor or type(page.data) ~= "table" or #page.data == 0 then
    return nil
  end
  seen = seen or {}
  if cursor == query[param] or seen[cursor] then
    return false, contract_error(string.format("the server sent the same %s twice (%s): the pages do not "
      .. "advance, so the list cannot be read to its end", field, cursor:sub(1, 60)))
  end
  seen[cursor] = true
  local q = copy(query)
  q[param] = cursor
  return q
end

--- One raw page; with no argument, the first page of the pager's query.
function Pager:page(query)
  check_self(self, "page")
  if query ~= nil and type(query) ~= "table" then
    error("pager:page: argument #1 (query) must be a table (got " .. type(query) .. ")", 2)
  end
  return self.fetch(query or self.query)
end

--- Iterate raw pages lazily; raises the error object on failure.
function Pager:pages()
  check_self(self, "pages")
  local query, seen, failure = self.query, {}, nil
  return function()
    if failure then errors.raise(failure) end
    if not query then return nil end
    local page, err = self.fetch(query)
    if not page then errors.raise(err) end
    query, failure = self:next_query(query, page, seen)
    return page
  end
end

--- Iterate items across pages lazily; raises the error object on failure.
function Pager:each()
  check_self(self, "each")
  local pages = self:pages()
  local data, i = {}, 0
  return function()
    i = i + 1
    while data[i] == nil do
      local page = pages()
      if not page then return nil end
      data, i = page.data or {}, 1
    end
    return data[i]
  end
end

--- Every item of every page (the first `max` items, when given) -> array | nil, err.
function Pager:all(max)
  check_self(self, "all")
  if max ~= nil then options.assert(M.ARGS.all, max, "pager:all: argument #1 (max)", 2) end
  local out = {}
  -- (compat.pcall and the iterator called by hand: a task waits in here, which PUC 5.1 cannot
  -- yield across in pcall or a for loop's iterator)
  local ok, err = compat.pcall(function()
    local next_item = self:each()
    while not (max and #out >= max) do
      local item = next_item()
      if item == nil then break end
      out[#out + 1] = item
    end
  end)
  if not ok then
    if errors.is_error(err) then return nil, err end
    error(err, 0)
  end
  return out
end

return M
