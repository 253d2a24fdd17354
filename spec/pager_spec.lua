-- The pager's end of a walk: has_more = false ends it; a page that says has_more = true without a
-- cursor, or a cursor the walk already had, is a "decode" error (each() and pages() raise, all()
-- returns nil, err), never the last page and never an endless loop. Pages come from a scripted
-- fetch, and once through the emulator's admin lists.
local anthropic = require "anthropic"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local errors = require "anthropic.error"
local pager = require "anthropic.pager"

-- A pager over scripted pages: the first request gets pages[1], and so on; asking for more pages
-- than scripted fails the test (the guard must stop first). -> pager, the queries it sent
local function scripted(kind, pages, query)
  local sent = {}
  local p = pager.new(kind, query or { limit = 2 }, function(q)
    sent[#sent + 1] = q
    assert(#sent <= #pages, "fetched page " .. #sent .. " of " .. #pages .. ": the walk did not stop")
    return pages[#sent]
  end)
  return p, sent
end

local function ids(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.id end
  return out
end

local function caught(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_true(errors.is_error(err), tostring(err))
  return err
end

describe("pager", function()
  it("walks an id cursor to has_more = false, and a page token to the end", function()
    local p, sent = scripted("cursor", {
      { data = { { id = "a" }, { id = "b" } }, has_more = true, first_id = "a", last_id = "b" },
      { data = { { id = "c" } }, has_more = false, first_id = "c", last_id = "c" },
    })
    assert.same({ "a", "b", "c" }, ids(assert(p:all())))
    assert.equal("b", sent[2].after_id)
    p, sent = scripted("token", {
      { data = { { id = "a" } }, has_more = true, next_page = "t1" },
      { data = { { id = "b" } }, has_more = false },
    })
    assert.same({ "a", "b" }, ids(assert(p:all())))
    assert.equal("t1", sent[2].page)
  end)

  local missing = {
    { "cursor", "last_id", { data = { { id = "a" } }, has_more = true, first_id = "a" } },
    { "cursor", "last_id", { data = {}, has_more = true } },
    { "token", "next_page", { data = { { id = "a" } }, has_more = true } },
  }
  for i, case in ipairs(missing) do
    local kind, field, page = case[1], case[2], case[3]
    it(kind .. " page " .. i .. ": has_more = true without " .. field .. " (" .. #page.data .. " items) is a "
      .. "decode error, not the last page", function()
      local msg = "the server said has_more = true but sent no " .. field
      local p = scripted(kind, { page })
      local list, err = p:all()
      assert.is_nil(list)
      assert.equal("decode", err.kind)
      assert.is_false(err.retryable)
      assert.matches(msg, err.message, 1, true)
      -- each() gives the page's items, then raises
      local got = {}
      err = caught(function()
        for x in scripted(kind, { page }):each() do got[#got + 1] = x.id end
      end)
      assert.matches(msg, err.message, 1, true)
      assert.same(ids(page.data), got)
      -- pages() gives the page, then raises
      local pages = scripted(kind, { page }):pages()
      assert.equal(page, pages())
      assert.matches(msg, caught(pages).message, 1, true)
    end)
  end

  it("walking backwards, has_more = true needs first_id", function()
    local p = scripted("cursor", { { data = { { id = "b" } }, has_more = true, last_id = "b" } },
      { limit = 1, before_id = "z" })
    local _, err = p:all()
    assert.matches("sent no first_id", err.message)
  end)

  it("a cursor that does not advance stops the walk with an error", function()
    -- the same last_id twice
    local page = { data = { { id = "a" } }, has_more = true, first_id = "a", last_id = "a" }
    local p = scripted("cursor", { page, page })
    local list, err = p:all()
    assert.is_nil(list)
    assert.equal("decode", err.kind)
    assert.equal("the server sent the same last_id twice (a): the pages do not advance, so the list cannot "
      .. "be read to its end", err.message)
    -- the cursor the query started from
    p = scripted("cursor", { page }, { limit = 1, after_id = "a" })
    assert.matches("same last_id twice", select(2, p:all()).message)
    -- a cycle of page tokens: t1, t2, t1
    p = scripted("token", {
      { data = { { id = "a" } }, has_more = true, next_page = "t1" },
      { data = { { id = "b" } }, has_more = true, next_page = "t2" },
      { data = { { id = "c" } }, has_more = true, next_page = "t1" },
    })
    list, err = p:all()
    assert.is_nil(list)
    assert.equal("the server sent the same next_page twice (t1): the pages do not advance, so the list "
      .. "cannot be read to its end", err.message)
    -- each() raises it
    assert.matches("same last_id twice", caught(function()
      for _ in scripted("cursor", { page, page }):each() do end
    end).message)
  end)

  describe("through the Admin API", function()
    local emu, admin_key, admin
    lazy_setup(function()
      admin_key = emulator.make_key("admin01")
      emu = emulator.start { keys = { admin_key } }
    end)
    lazy_teardown(function() emu:stop() end)
    before_each(function()
      emu:reset()
      admin = anthropic.admin { api_key = admin_key, base_url = emu.url }
    end)
    after_each(function() admin:close() end)

    it("a users page with has_more and a null last_id fails the list instead of ending it", function()
      local first = assert(admin.users:list({ limit = 2 }):page())
      assert.is_true(first.has_more)
      emu:faults { { path = "/v1/organizations/users", method = "GET", status = 200,
        body = { data = first.data, has_more = true, first_id = first.first_id, last_id = cjson.null } } }
      local list, err = admin.users:list({ limit = 2 }):all()
      assert.is_nil(list)
      assert.equal("decode", err.kind)
      assert.matches("has_more = true but sent no last_id", err.message)
    end)
  end)
end)
