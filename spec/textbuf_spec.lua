-- core.textbuf (src/ltextbuf.c): the text a stream keeps for final(), outside the Lua heap.
local core = require "anthropic.core"

describe("core.textbuf", function()
  it("keeps what is added, in order, across many chunks, and hands it over once", function()
    local tb = core.textbuf()
    assert.is_nil(tb:take()) -- nothing added
    local pieces = {}
    for i = 1, 5000 do
      local s = ("%d:%s|"):format(i, ("é"):rep(i % 7))
      pieces[#pieces + 1] = s
      tb:add(s)
    end
    tb:add("")
    tb:add(("z"):rep(600000)) -- larger than a chunk: one of its own
    pieces[#pieces + 1] = ("z"):rep(600000)
    local want = table.concat(pieces)
    assert.equal(#want, tb:size())
    assert.equal(want, tb:take())
    assert.equal(0, tb:size())
    assert.is_nil(tb:take())
    tb:add("again")
    assert.equal("again", tb:take()) -- one chunk: handed over as is
  end)

  it("adds list[1] .. list[n] at once, and refuses what is not a string", function()
    local tb = core.textbuf()
    tb:add_batch({ "a", "b", "c", "d" }, 3)
    tb:add_batch({}, 0)
    assert.equal("abc", tb:take())
    assert.has_error(function() tb:add_batch({ "a", {} }, 2) end, "textbuf:add_batch: item 2 is a table, not a string")
    assert.has_error(function() tb:add_batch({ "a" }, 2) end, "textbuf:add_batch: item 2 is a nil, not a string")
    assert.equal("aa", tb:take()) -- the items before a bad one were added
    assert.has_error(function() tb:add({}) end)
  end)

  it("frees on close, idempotently, and through __close and __gc; stays usable after", function()
    local tb = core.textbuf()
    tb:add(("x"):rep(100000))
    assert.matches("anthropic.textbuf %(100000 bytes%)", tostring(tb))
    tb:close()
    tb:close()
    assert.equal(0, tb:size())
    assert.is_nil(tb:take())
    if _VERSION == "Lua 5.4" then -- (5.4 syntax, compiled from text: this file parses on 5.1 and LuaJIT)
      local scope = "local core = ... local scoped <close> = core.textbuf() scoped:add('y') return scoped"
      local scoped = assert(load(scope))(core)
      assert.equal(0, scoped:size(), "closed when its scope ended")
    end
    for _ = 1, 50 do core.textbuf():add(("w"):rep(10000)) end
    collectgarbage()
    collectgarbage()
  end)
end)
