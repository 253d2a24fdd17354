-- Query strings and path arguments: the cases the fuzzer (spec/fuzz/fuzz_query.c) found, kept as
-- regressions; their inputs are in spec/fuzz/query/ too.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local query = require "anthropic.query"

local function message(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return (tostring(err):gsub("^[^:]*%.lua:%d+: ", ""))
end

describe("query.build", function()
  it("keeps the documented forms", function()
    assert.equal("a=1&b[]=x&b[]=y&c=true&d=20&e=2.5&k%20%3D=v%26",
      query.build { a = 1, b = { "x", "y" }, c = true, d = 20.0, e = 2.5, ["k ="] = "v&" })
    assert.is_nil(query.build {})
    assert.is_nil(query.build { a = {} })
  end)

  it("writes floats so they read back as the same number (fuzz: lossy_float)", function()
    -- was "0.21311950683594": tostring keeps only 14 digits
    assert.equal("a=0.2131195068359375", query.build { a = 0.2131195068359375 })
    assert.equal("a=0.30000000000000004", query.build { a = 0.1 + 0.2 })
    assert.equal("a=0.1", query.build { a = 0.1 })
    assert.equal("a=123456789012345.6", query.build { a = 123456789012345.6 })
  end)

  -- #int64: needs string.pack and 64-bit integers (5.3+)
  it("writes big integral floats without failing (fuzz: float_no_integer_rep) #int64", function()
    -- was: bad argument #2 to 'format' (number has no integer representation)
    local huge = string.unpack("<d", string.pack("<i8", 0x6400000000000000))
    local q = query.build { a = { huge } }
    assert.equal(huge, tonumber((q:gsub("^a%[%]=", ""):gsub("%%2B", "+"))))
    assert.equal("a=9.223372036854776e%2B18", query.build { a = 2^63 })
    assert.equal("a=1e%2B300", query.build { a = 1e300 })
    assert.equal("a=-9223372036854775808", query.build { a = -2^63 })
    assert.equal("a=1000000000000000", query.build { a = 1e15 })
  end)

  -- #int64: needs string.pack and 64-bit integers (5.3+)
  it("writes integers exactly (fuzz: big_integer) #int64", function()
    assert.equal("=288230376151711744", query.build { [""] = 288230376151711744 })
    assert.equal("a=-9223372036854775808", query.build { a = math.mininteger })
  end)

  it("refuses NaN and infinities with an argument error", function()
    assert.equal("query parameter 'a' must be a finite number (got inf)", message(query.build, { a = math.huge }))
    assert.equal("query parameter 'a' must be a finite number (got -inf)",
      message(query.build, { a = { 1, -math.huge } }))
    assert.equal("query parameter 'a' must be a finite number (got nan)", message(query.build, { a = 0 / 0 }))
    assert.equal("query parameter 'a' must be a finite number (got nan)", message(query.build, { a = -(0 / 0) }))
  end)

  it("names the key, NUL bytes and all, in the argument error", function()
    assert.equal("query parameter '\0' must be a string, number or boolean (got function)",
      message(query.build, { ["\0"] = print, [""] = "" }))
  end)
end)

describe("path arguments", function()
  local client, admin
  setup(function()
    client = anthropic.new { api_key = emulator.make_key("api03"), base_url = "http://127.0.0.1:9" }
    admin = anthropic.admin { api_key = emulator.make_key("admin01"), base_url = "http://127.0.0.1:9" }
  end)
  teardown(function()
    client:close()
    admin:close()
  end)

  -- libcurl resolves dot segments: ".../members/.." would address the workspace itself.
  it("refuses the dot segments '.' and '..'", function()
    assert.equal("models:get: argument #1 (model_id) must not be '..' (a dot segment would change the URL's path)",
      message(client.models.get, client.models, ".."))
    assert.equal("models:get: argument #1 (model_id) must not be '.' (a dot segment would change the URL's path)",
      message(client.models.get, client.models, "."))
    assert.equal("members(workspace_id): workspace_id must not be '..' (a dot segment would change the URL's path)",
      message(admin.members, ".."))
  end)
end)
