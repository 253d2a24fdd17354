-- max_body at the boundary: an answer of exactly max_body bytes is read whole, one byte more is
-- refused (kind "connection", "larger than the limit"), with a Content-Length (refused from the
-- header, before any byte of the body) and without one (the end of the connection, or chunks).
-- A loopback server in this process answers; each round of the loop waits for the engine's
-- sockets (at most 20 ms), nothing sleeps.
local core = require "anthropic.core"
local socket = require "socket"

local MAX = 100000

-- A JSON object of exactly n bytes.
local function json_of(n)
  local head, tail = '{"text":"', '"}'
  return head .. ("x"):rep(n - #head - #tail) .. tail
end

-- The answer's bytes for a body: framing "length" (Content-Length), "close" (none: the end of the
-- connection ends it) or "chunked".
local function answer(body, framing)
  local head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
  if framing == "length" then
    return head .. "content-length: " .. #body .. "\r\n\r\n" .. body
  elseif framing == "close" then
    return head .. "connection: close\r\n\r\n" .. body
  end
  local parts, i = {}, 1
  while i <= #body do
    local piece = body:sub(i, i + 16383)
    parts[#parts + 1] = string.format("%x\r\n%s\r\n", #piece, piece)
    i = i + #piece
  end
  return head .. "transfer-encoding: chunked\r\n\r\n" .. table.concat(parts) .. "0\r\n\r\n"
end

-- Runs one GET against a server that answers `bytes`. -> the transfer (done), bytes the server sent
local function fetch(eng, bytes, max_body)
  local server = assert(socket.bind("127.0.0.1", 0))
  server:settimeout(0)
  local _, port = server:getsockname()
  local t = assert(eng:submit { method = "GET", url = "http://127.0.0.1:" .. port .. "/big", max_retries = 0,
                                timeout = 20, max_body = max_body })
  local conn, request, sent = nil, "", 0
  for _ = 1, 5000 do
    if t:done() then break end
    eng:wait(0.02)
    conn = conn or server:accept()
    if conn then
      conn:settimeout(0)
      if not request:find("\r\n\r\n") then
        local data, _, part = conn:receive(4096)
        request = request .. (data or part or "")
      end
      if request:find("\r\n\r\n") and sent < #bytes then
        local n, _, partial = conn:send(bytes, sent + 1)
        sent = n or partial or sent
        if sent >= #bytes then conn:shutdown("send") end
      end
    end
  end
  assert.is_true(t:done())
  if conn then conn:close() end
  server:close()
  return t, sent
end

describe("max_body", function()
  local eng
  before_each(function() eng = core.engine() end)
  after_each(function() eng:close() end)

  for _, framing in ipairs { "length", "close", "chunked" } do
    it("reads an answer of exactly max_body bytes whole (" .. framing .. ")", function()
      local body = json_of(MAX)
      local t = fetch(eng, answer(body, framing), MAX)
      local res = t:result()
      assert.is_nil(res.error)
      assert.equal(200, res.status)
      assert.equal(MAX, #res.body)
      assert.equal(body, res.body)
      assert.equal(MAX - 11, #assert(t:decoded()).text)
      t:close()
    end)

    it("refuses one byte over max_body with kind connection (" .. framing .. ")", function()
      local t = fetch(eng, answer(json_of(MAX + 1), framing), MAX)
      local res = t:result()
      assert.equal("connection", res.error.kind)
      assert.equal("the response is larger than the limit of " .. MAX .. " bytes", res.error.message)
      assert.equal(1, res.attempts)
      assert.is_false(res.retryable)
      assert.equal("", res.body) -- nothing of it is kept
      assert.is_nil(t:decoded())
      t:close()
    end)
  end

  it("refuses a Content-Length over max_body from the header, keeping no byte", function()
    local t = fetch(eng, answer(json_of(4 * MAX), "length"), MAX)
    local res = t:result()
    assert.equal("connection", res.error.kind)
    assert.matches("larger than the limit of " .. MAX, res.error.message)
    assert.equal("", res.body)
    t:close()
  end)

  it("decodes in place what the Lua decoder decodes, escapes and errors alike (t:decoded)", function()
    local json = require "anthropic.json"
    local texts = {
      '{"a":"x\\ny\\"z\\\\","b":["\\u00e9\\ud83d\\ude00\\/","' .. ("\\t"):rep(3000) .. '"],"c":"\\u0041"}',
      '{"a":"' .. ("ab\\n"):rep(20000) .. '","b":{"c":"\\"\\"","d":[1,2.5,"\\u2028"]}}',
      '{"a":"ok\\n","b":"bad \\q escape"}',
      '{"a":"\\ud800 lone"}',
      '{"a":"\\n' .. ("x"):rep(5000) .. '\\n',
    }
    for i, text in ipairs(texts) do
      local t = fetch(eng, answer(text, "length"), MAX)
      local want, want_err = json.decode(text)
      assert.equal(i <= 2, want ~= nil) -- two valid texts, then three that are not
      local got, got_err = t:decoded()
      assert.same(want, got)
      assert.equal(want_err and tostring(want_err):gsub("^.-: ", ""), got_err and got_err:gsub("^.-: ", ""))
      t:close()
    end
  end)
end)
