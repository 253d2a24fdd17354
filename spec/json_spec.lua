-- core.json_decode (src/ljson.c) through anthropic.json: JSON answers as the library hands them out.
local json = require "anthropic.json"
local cjson = require "cjson"

-- A random document: integers, floats, strings of any bytes, booleans, nested arrays and objects,
-- and lua-cjson's null when nulls is set.
local function random_document(depth, nulls)
  local r = math.random(depth > 3 and 6 or 8)
  if r == 1 then return math.floor((math.random() * 2 - 1) * 1e15) end -- (5.1's math.random(m, n) takes 32-bit ints)
  if r == 2 then return (math.random() - 0.5) * 10 ^ math.random(-20, 20) end
  if r == 3 then
    local b = {}
    for i = 1, math.random(0, 30) do b[i] = string.char(math.random(0, 255)) end
    return table.concat(b)
  end
  if r == 4 then return math.random(2) == 1 end
  if r == 5 and nulls then return cjson.null end
  if r <= 6 then return "text \"quoted\" \\ / \n é" end
  local t = {}
  if r == 7 then
    for i = 1, math.random(0, 8) do t[i] = random_document(depth + 1, nulls) end
  else
    for _ = 1, math.random(0, 20) do t["k" .. math.random(50)] = random_document(depth + 1, nulls) end
  end
  return t
end

describe("json.decode", function()
  it("reads null members as absent, nulls in arrays as holes, and whole numbers as integers", function()
    local v = assert(json.decode('{"a":1,"b":[1,null,3],"c":null,"d":2.0,"e":1.5,"f":-0,"g":1e2,"h":true,"i":false}'))
    assert.same({ a = 1, b = { 1, nil, 3 }, d = 2, e = 1.5, f = 0, g = 100, h = true, i = false }, v)
    assert.is_nil(rawget(v, "c"))
    if math.type then assert.equal("integer", math.type(v.a)) end -- (5.3+: integers and floats apart)
    if math.type then assert.equal("integer", math.type(v.d)) end -- (5.3+: integers and floats apart)
    if math.type then assert.equal("float", math.type(v.e)) end -- (5.3+: integers and floats apart)
    assert.equal(3, v.b[3])
  end)

  it("has its own json.null, equal to lua-cjson's, without loading lua-cjson", function()
    local saved_json, saved_cjson, saved_preload = package.loaded["anthropic.json"], package.loaded.cjson,
      package.preload.cjson
    package.loaded["anthropic.json"], package.loaded.cjson = nil, nil
    package.preload.cjson = function() error("anthropic.json loaded lua-cjson") end
    local ok, mine = pcall(require, "anthropic.json")
    package.loaded["anthropic.json"], package.loaded.cjson, package.preload.cjson = saved_json, saved_cjson,
      saved_preload
    assert(ok, mine)
    assert.equal(cjson.null, mine.null)
    assert.equal('{"a":null,"b":[1,null]}', mine.encode { a = mine.null, b = { 1, mine.null } })
  end)

  it("reads nulls as a given value when asked (the emulator's way: core.json_decode(text, null))", function()
    local core = require "anthropic.core"
    local v = assert(core.json_decode('{"a":null,"b":[1,null,3],"c":{"d":null},"n":529,"r":2.0}', cjson.null))
    assert.equal(cjson.null, v.a)
    assert.same({ 1, cjson.null, 3 }, v.b)
    assert.equal(cjson.null, v.c.d)
    assert.equal(cjson.null, core.json_decode("null", cjson.null))
    -- a fault's status stays 529, never 529.0 (5.3+: integers and floats apart)
    if math.type then assert.equal("integer", math.type(v.n)) end
    if math.type then assert.equal("integer", math.type(v.r)) end -- (5.3+: integers and floats apart)
    assert.same({ b = { 1, nil, 3 } }, core.json_decode('{"a":null,"b":[1,null,3]}', nil)) -- nil: the default
    local nothing, err = core.json_decode('{"a":nul}', cjson.null)
    assert.is_nil(nothing)
    assert.matches("at byte 6", err)
  end)

  -- #int64: needs 64-bit integers (5.3+); on 5.1 and LuaJIT numbers are doubles (docs/embedding.md)
  it("keeps integers exact to the 64-bit limits and reads larger ones as floats #int64", function()
    local v = assert(json.decode("[9223372036854775807,-9223372036854775808,1234567890123456789,"
      .. "9223372036854775808,1e400,123456789012345678901234567890]"))
    assert.equal(math.maxinteger, v[1])
    assert.equal(math.mininteger, v[2])
    assert.equal(1234567890123456789, v[3])
    assert.equal("float", math.type(v[4]))
    assert.equal(math.huge, v[5])
    assert.equal("float", math.type(v[6]))
  end)

  -- #int64: needs 64-bit integers (5.3+); on 5.1 and LuaJIT numbers are doubles (docs/embedding.md)
  it("decides integer or float on the written digits, not on a rounded double #int64", function()
    local function read(text)
      local v = json.decode(text)
      return math.type(v), v
    end
    -- out of the 64-bit range by one, though both round to a whole double (+-2^63): floats
    assert.same({ "float", -0x1p63 }, { read("-9223372036854775809") })
    assert.same({ "float", 0x1p63 }, { read("9223372036854775808") })
    assert.same({ "float", -0x1p63 }, { read("-92233720368547758.09e2") })
    assert.same({ "float", 1e19 }, { read("1e19") })
    -- the limits themselves, however written: exact integers
    assert.same({ "integer", math.mininteger }, { read("-92233720368547758.08e2") })
    assert.same({ "integer", math.maxinteger }, { read("9223372036854775807.000") })
    assert.same({ "integer", math.mininteger }, { read("-9223372036854775808e0") })
    -- whole through an exponent, every digit kept (a double would give ...768)
    assert.same({ "integer", 1234567890123456789 }, { read("12345678901234567890e-1") })
    assert.same({ "integer", 10 }, { read("0.00000000000000000000000000001e30") })
    assert.same({ "integer", 1 }, { read("100e-2") })
    -- not whole, though the double is: floats
    assert.same({ "float", 1.0 }, { read("1.0000000000000000001") })
    assert.same({ "float", 0.0 }, { read("1e-400") })
    assert.same({ "float", 1234567890123456789.1 }, { read("12345678901234567891e-1") })
    -- zero with a sign is the integer 0; an exponent as long as the text is no trouble
    assert.same({ "integer", 0 }, { read("-0") })
    assert.same({ "integer", 0 }, { read("-0.0e-99999999999999999999") })
    assert.same({ "float", math.huge }, { read("1e99999999999999999999") })
    assert.same({ "float", 0.0 }, { read("1e-99999999999999999999") })
    assert.same({ "float", -math.huge }, { read("-1" .. string.rep("0", 400)) })
  end)

  it("decodes top-level scalars, empty containers and null", function()
    assert.equal(12, json.decode(" 12 "))
    assert.equal("s", json.decode('"s"'))
    assert.same({}, json.decode("[]"))
    assert.same({}, json.decode(" { } "))
    local v, msg = json.decode("null")
    assert.is_nil(v)
    assert.is_nil(msg)
  end)

  it("unescapes strings (surrogate pairs joined) and copies other bytes as they are", function()
    assert.equal('q"\\/\b\f\n\r\t\0é😀', json.decode('"q\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\ud83d\\ude00"'))
    assert.equal("äöü \255", json.decode('"äöü \255"'))
  end)

  it("unescapes in texts of every size around its stack buffer (4096 bytes), and fails alike", function()
    for _, size in ipairs { 4094, 4095, 4096, 4097, 4098, 9000 } do
      local pad = ("y"):rep(size - #'{"a":"\\n","b":""}')
      local text = '{"a":"\\n","b":"' .. pad .. '"}'
      assert.equal(size, #text)
      assert.same({ a = "\n", b = pad }, json.decode(text))
      local v, msg = json.decode(text:sub(1, -3) .. '\\q"}')
      assert.is_nil(v)
      assert.equal("unexpected '\\' at byte " .. (size - 1)
        .. " (expected a valid escape, and no control character, in a string)", msg)
    end
  end)

  it("lets the last of repeated member names win, a null one included", function()
    assert.same({ a = 2 }, json.decode('{"a":1,"a":2}'))
    assert.same({}, json.decode('{"a":1,"a":null}'))
    assert.same({ a = 1 }, json.decode('{"a":null,"a":1}'))
  end)

  it("fills large arrays and objects (sized in chunks) completely", function()
    local items, members = {}, {}
    for i = 1, 2000 do
      items[i] = i % 7 == 0 and "null" or tostring(i)
      members[i] = string.format('"k%d":%s', i, i % 7 == 0 and "null" or tostring(i))
    end
    local a = assert(json.decode("[" .. table.concat(items, ",") .. "]"))
    local o = assert(json.decode("{" .. table.concat(members, ",") .. "}"))
    local n = 0
    for _ in pairs(o) do n = n + 1 end
    assert.equal(2000 - 285, n)
    for i = 1, 2000 do
      local want = i % 7 ~= 0 and i or nil
      assert.equal(want, a[i])
      assert.equal(want, o["k" .. i])
    end
  end)

  it("refuses what is not strict JSON, saying what it expected and where", function()
    local cases = {
      { "", "unexpected end of the text at byte 1 (expected a value)" },
      { "[1,]", "unexpected ']' at byte 4 (expected a value)" },
      { '{"a" 1}', "unexpected '1' at byte 6 (expected ':' after the member name)" },
      { "{a:1}", "unexpected 'a' at byte 2 (expected a member name in double quotes)" },
      { "01", "unexpected '1' at byte 2 (expected the end of the text after the value)" },
      { "1.", "unexpected end of the text at byte 3 (expected a digit after the decimal point)" },
      { "1e+", "unexpected end of the text at byte 4 (expected a digit in the exponent)" },
      { "0x10", "unexpected 'x' at byte 2 (expected the end of the text after the value)" },
      { "NaN", "unexpected 'N' at byte 1 (expected a value)" },
      { '"abc', "unexpected end of the text at byte 5 (expected a closing quote)" },
      { '"a\\x"', "unexpected '\\' at byte 3 (expected a valid escape, and no control character, in a string)" },
      { '"\\ud800"', "unexpected '\\' at byte 2 (expected a valid escape, and no control character, in a string)" },
      { '"a\tb"', "unexpected byte 0x09 at byte 3 (expected a valid escape, and no control character, in a string)" },
      { "[1 2]", "unexpected '2' at byte 4 (expected ',' or ']' in an array)" },
      { '{"a":1 "b":2}', "unexpected '\"' at byte 8 (expected ',' or '}' in an object)" },
      { "tru", "unexpected 't' at byte 1 (expected a value)" },
      { "<html>", "unexpected '<' at byte 1 (expected a value)" },
      { string.rep("[", 201) .. string.rep("]", 201), "more than 200 nested arrays and objects at byte 201" },
    }
    for _, c in ipairs(cases) do
      local v, msg = json.decode(c[1])
      assert.is_nil(v, c[1])
      assert.equal(c[2], msg)
    end
    assert.same({ { { {} } } }, json.decode(string.rep("[", 4) .. string.rep("]", 4)))
    assert.is_table(json.decode(string.rep("[", 200) .. string.rep("]", 200)))
  end)

  it("raises only on a non-string argument", function()
    assert.has_error(function() json.decode({}) end)
  end)

  -- #int64: needs 64-bit integers (5.3+); on 5.1 and LuaJIT numbers are doubles (docs/embedding.md)
  it("agrees with lua-cjson (nulls removed, whole numbers integers) on random documents #int64", function()
    math.randomseed(6)
    local function normalize(v)
      if v == cjson.null then return nil end
      if type(v) == "number" and v % 1 == 0 and v >= -0x1p63 and v < 0x1p63 then
        return require("anthropic.compat").tointeger(v)
      end
      if type(v) ~= "table" then return v end
      for k, x in next, v do v[k] = normalize(x) end
      return v
    end
    -- Past 2^53 an integer here holds every written digit, where lua-cjson rounds the text to a
    -- double first (-8.8190147926215e+16 is ...5000 here, ...5008 there): alike as doubles.
    local function exact(mine, theirs) -- theirs, with such integers taken from mine
      if math.type(mine) == "integer" and math.type(theirs) == "integer" and math.abs(mine) > 2 ^ 53 then
        assert.equal(theirs + 0.0, mine + 0.0)
        return mine
      end
      if type(mine) == "table" and type(theirs) == "table" then
        for k, x in pairs(mine) do theirs[k] = exact(x, theirs[k]) end
      end
      return theirs
    end
    for _ = 1, 500 do
      local text = cjson.encode(random_document(0, true))
      local mine = json.decode(text)
      assert.same(exact(mine, normalize(cjson.decode(text))), mine)
    end
  end)
end)

-- core.json_encode (src/ljsonenc.c) through anthropic.json: request bodies, CLI output, plans.
describe("json.encode", function()
  it("writes members sorted by name, so equal tables give equal text however they were built", function()
    assert.equal('{"a":[1,2,3],"b":1,"c":{"x":true,"y":false}}',
      json.encode { b = 1, c = { y = false, x = true }, a = { 1, 2, 3 } })
    local one, other = {}, {}
    for i = 1, 40 do one["k" .. i] = i end
    for i = 40, 1, -1 do other["k" .. i] = i end
    assert.equal(json.encode(one), json.encode(other))
    -- bytewise order, longer names after their prefixes; more members than the insertion sort takes
    local text = json.encode(one)
    assert.truthy(text:find('^{"k1":1,"k10":10,"k11":11,'))
    local names = {}
    for name in text:gmatch('"(k%d+)"') do names[#names + 1] = name end
    assert.equal(40, #names)
    for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
  end)

  -- #int64: needs 64-bit integers (5.3+); on 5.1 and LuaJIT numbers are doubles (docs/embedding.md)
  it("writes integers and whole floats exactly, and other floats so they read back the same #int64", function()
    assert.equal("[9223372036854775807,-9223372036854775808,9007199254740993,1024,0,-3]",
      json.encode { math.maxinteger, math.mininteger, 9007199254740993, 1024.0, -0.0, -3.0 })
    assert.equal("[0.1,1.5,1e+300,-0.33333333333333331]", json.encode { 0.1, 1.5, 1e300, -1 / 3 })
    math.randomseed(11)
    for _ = 1, 2000 do
      local x = (math.random() - 0.5) * 10 ^ math.random(-300, 300)
      assert.equal(x, json.decode(json.encode { x })[1])
    end
  end)

  it("escapes quotes, backslashes and control characters, and copies every other byte", function()
    assert.equal('"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/é\127"', json.encode("a\"b\\c\n\r\t\b\f\1\31/é\127"))
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    local s = table.concat(all):rep(40) -- past the 2 KB the text starts in
    assert.equal(s, cjson.decode(json.encode(s)))
    assert.equal(s, json.decode(json.encode { s })[1])
  end)

  it("writes nil and json.null as null, arrays with holes as nulls, and an empty table as {}", function()
    assert.equal("null", json.encode(nil))
    assert.equal('{"a":null,"b":[1,null,3]}', json.encode { a = json.null, b = { 1, nil, 3 } })
    assert.equal("{}", json.encode {})
    assert.equal('{"stop_sequences":[],"tools":["t"]}',
      json.encode { stop_sequences = json.array(), tools = json.array { "t" } })
    assert.equal("[]", json.encode(setmetatable({}, { __json = "array" })))
    assert.equal("{}", json.encode(setmetatable({}, { __json = "object" })))
    assert.has_error(function() json.array("x") end, "json.array expects a table or nothing")
    -- what decode reads as an empty array encodes back as one
    assert.equal('{"a":[],"b":{},"c":[[]]}', json.encode(json.decode('{"a":[],"b":{},"c":[[]]}')))
    assert.equal('[{},"x"]', json.encode { {}, "x" })
    assert.equal('{"1":"a","2.5":"b","z":1}', json.encode { [1] = "a", [2.5] = "b", z = 1 })
    assert.equal('["a","b"]', json.encode { [1.0] = "a", [2] = "b" })
  end)

  it("refuses what JSON cannot hold with nil and a message naming the place and the fix", function()
    local cases = {
      { { messages = { { content = { { type = "text", ["odd key"] = print } } } } },
        'cannot encode a function at messages[1].content[1]["odd key"]: JSON holds only strings, numbers, '
        .. "booleans, tables and null" },
      { { temperature = 0 / 0 }, "cannot encode NaN or infinity at temperature: JSON numbers are finite" },
      { { top_k = math.huge }, "cannot encode NaN or infinity at top_k: JSON numbers are finite" },
      { { x = { [true] = 1 } }, "cannot encode a boolean as a member name at x: member names are strings (or "
        .. "numbers, written as text)" },
      { { list = { [1] = "a", [30] = "b" } }, "cannot encode a sparse array (2 values, the largest index 30) "
        .. "at list: fill the gaps with json.null, or use string keys" },
      { { f = io.stdout }, "cannot encode a userdata at f: JSON holds only strings, numbers, booleans, "
        .. "tables and null" },
      { coroutine.create(function() end), -- (5.1: a Lua function only)
       "cannot encode a thread: JSON holds only strings, numbers, booleans, tables "
        .. "and null" },
      { { [math.huge] = 1 }, "cannot encode an infinite number as a member name" },
    }
    for _, c in ipairs(cases) do
      local v, msg = json.encode(c[1])
      assert.is_nil(v)
      assert.equal(c[2], msg)
    end
    local t = {}
    t.self = t
    local v, msg = json.encode { outer = t }
    assert.is_nil(v)
    assert.truthy(msg:find("^cannot encode more than 200 nested tables at %.%.%.self%.self"), msg)
    assert.truthy(msg:find(": does a table contain itself%?$"), msg)
    local deep = {}
    for _ = 1, 199 do deep = { deep } end
    assert.is_string(json.encode(deep)) -- 200 levels are fine
    assert.has_error(function() json.encode() end) -- no argument at all is a programming error
  end)

  it("round-trips random documents through both decoders, and large ones through the growing buffer", function()
    math.randomseed(7)
    for _ = 1, 300 do
      local v = random_document(0)
      local text = assert(json.encode(v))
      assert.same(v, json.decode(text))
      assert.same(v, cjson.decode(text))
    end
    local big = {}
    for i = 1, 3000 do big[i] = { index = i, text = ("word "):rep(i % 50), nested = { i, { i } } } end
    local text = assert(json.encode { items = big })
    assert.is_true(#text > 200000)
    assert.same({ items = big }, json.decode(text))
  end)
end)
