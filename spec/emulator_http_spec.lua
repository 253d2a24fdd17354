-- The emulator's HTTP request parser at its limits, over raw connections (spec/fuzz/fuzz_http.c
-- fuzzes the same parser; these are the cases it found).
local helper = require "helpers.emulator"

describe("emulator HTTP parser", function()
  local server
  setup(function() server = helper.start {} end)
  teardown(function() server:stop() end)

  local function send_raw(bytes)
    local conn = server:connect(5)
    assert.is_true(conn.sock:send(bytes) ~= nil)
    local res = assert(conn:receive())
    conn:close()
    return res
  end

  it("refuses a request line over 64 KiB with 414, however much of it arrives at once", function()
    -- 70,000 bytes: more than one read of the server's, the newline in the second
    local res = send_raw("GET /" .. ("a"):rep(70000) .. " HTTP/1.1\r\nhost: x\r\n\r\n")
    assert.equal(414, res.status)
    assert.matches("request line too long", res.body)
  end)

  it("refuses a header line over 64 KiB with 431", function()
    local res = send_raw("GET /v1/models HTTP/1.1\r\nx-big: " .. ("b"):rep(70000) .. "\r\n\r\n")
    assert.equal(431, res.status)
  end)

  it("answers an HTTP version other than 1.0 and 1.1 with 505", function()
    local res = send_raw("GET /v1/models HTTP/2.1\r\nhost: x\r\n\r\n")
    assert.equal(505, res.status)
    assert.matches("HTTP version not supported", res.body)
    res = send_raw("GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n")
    assert.equal(401, res.status) -- 1.1 is read (and this request has no key)
  end)

  it("answers a chunk not followed by its CRLF with 400, also when over a line's worth follows", function()
    local res = send_raw("POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello"
      .. ("z"):rep(40)) -- and nothing more: the answer must not wait for a line end
    assert.equal(400, res.status)
    assert.matches("malformed chunk", res.body)
  end)
end)
