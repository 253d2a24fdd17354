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

  describe("over a connection that hands out one byte at a time", function()
    local http = require "anthropic.emulator.http"

    local function conn_over(text)
      local sock, pos = {}, 1
      function sock.receive()
        if pos > #text then return nil, "closed", "" end
        pos = pos + 1
        return text:sub(pos - 1, pos - 1)
      end
      function sock.send(_, data) return #data end
      return setmetatable({ sock = sock, id = 1, buf = "" }, http.Conn)
    end

    -- (the limit is on the request line and header lines together: 64 KiB)
    it("reads a request whose head arrives a byte at a time, the head exactly at the limit", function()
      local value = ("v"):rep(65536 - #"POST /v1/messages HTTP/1.1" - #"x-long: " - #"content-length: 2")
      local conn = conn_over("POST /v1/messages HTTP/1.1\r\nx-long: " .. value
        .. "\r\ncontent-length: 2\r\n\r\n{}GET /next HTTP/1.1\r\n\r\n")
      local req = assert(conn:read_request {})
      assert.equal("/v1/messages", req.path)
      assert.equal(value, req.headers["x-long"])
      assert.equal("{}", req.body)
      assert.equal("/next", assert(conn:read_request {}).path) -- nothing of the next request lost
    end)

    it("still refuses a head one byte over the limit with 431", function()
      local conn = conn_over("GET / HTTP/1.1\r\nx-long: " .. ("v"):rep(65537 - #"GET / HTTP/1.1" - #"x-long: ")
        .. "\r\n\r\n")
      local req, err, why = conn:read_request {}
      assert.is_nil(req)
      assert.equal("bad", err)
      assert.equal(431, why.status)
    end)

    it("reports a connection closed in the middle of a line as closed", function()
      local req, err = conn_over("GET /v1/mod"):read_request {}
      assert.is_nil(req)
      assert.equal("closed", err)
    end)
  end)
end)
