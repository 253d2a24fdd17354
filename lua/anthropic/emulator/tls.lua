-- HTTPS for the emulator: throwaway certificates made with openssl, and the lua-sec server
-- context. Nothing here sees an API key; the certificates are made for one run and are worth
-- nothing after it.
--
--   local tls = require "anthropic.emulator.tls"
--   local dir = assert(tls.tmpdir())
--   assert(tls.make(dir))                  -- dir/ca.pem, dir/cert.pem, dir/key.pem (127.0.0.1, localhost)
--   local ctx = assert(tls.context(dir))   -- for http.listen{ tls = ctx }
--
-- make(dir, { names = { "other.example" } }) makes a certificate for other names (a host-name
-- mismatch).
local M = {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local ok = os.execute("(" .. cmd .. ") >/dev/null 2>&1")
  return ok == true or ok == 0
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end
M.exists = exists

-- -> true | nil, message (lua-sec is the Debian package lua-sec; openssl the package openssl)
function M.available()
  local ok = pcall(require, "ssl")
  if not ok then return nil, "HTTPS needs lua-sec (Debian: apt-get install lua-sec)" end
  if not run("command -v openssl") then return nil, "HTTPS needs openssl (Debian: apt-get install openssl)" end
  return true
end

-- A new private directory (mode 700). -> path | nil, message
function M.tmpdir()
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/anthropic-tls.XXXXXX\"")
  local dir = p and p:read("*l")
  if p then p:close() end
  if not dir or dir == "" then return nil, "mktemp -d failed" end
  return dir
end

-- Removes a directory made by tmpdir() and what make() put in it.
function M.rmdir(dir)
  if dir and dir:match("/anthropic%-tls%.[%w]+$") then run("rm -rf " .. q(dir)) end
end

-- subjectAltName entries for names: IP addresses as IP:, the others as DNS:.
local function san(names)
  local parts = {}
  for _, n in ipairs(names) do
    parts[#parts + 1] = (n:match("^[%d.]+$") or n:find(":", 1, true)) and ("IP:" .. n) or ("DNS:" .. n)
  end
  return table.concat(parts, ",")
end

local EC = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

-- Makes dir/ca.pem (a CA of its own), dir/cert.pem and dir/key.pem (the server's, signed by that
-- CA, for opts.names or 127.0.0.1 and localhost). The CA's key is removed once it has signed.
-- -> true | nil, message
function M.make(dir, opts)
  opts = opts or {}
  local ok, err = M.available()
  if not ok then return nil, err end
  local names = opts.names or { "127.0.0.1", "localhost" }
  local old = "umask 077; cd " .. q(dir) .. " && "
  if not run(old .. "openssl req -x509 " .. EC .. " -keyout ca.key -out ca.pem -days 2"
      .. " -subj '/CN=anthropic emulator throwaway CA'"
      .. " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign") then
    return nil, "openssl could not make a CA in " .. dir
  end
  local ext = io.open(dir .. "/ext.cnf", "w")
  if not ext then return nil, "cannot write in " .. dir end
  ext:write("subjectAltName=", san(names), "\nbasicConstraints=critical,CA:FALSE\n",
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
  ext:close()
  ok = run(old .. "openssl req " .. EC .. " -keyout key.pem -out cert.csr -subj " .. q("/CN=" .. names[1])
    .. " && openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key"
    .. " -set_serial 0x" .. string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
    .. " -days 2 -extfile ext.cnf -out cert.pem")
  os.remove(dir .. "/cert.csr")
  os.remove(dir .. "/ext.cnf")
  os.remove(dir .. "/ca.key")
  if not ok then return nil, "openssl could not make a certificate in " .. dir end
  return true
end

-- The lua-sec server context for dir/cert.pem and dir/key.pem (TLS 1.2 and 1.3).
-- -> context | nil, message
function M.context(dir)
  local ok, ssl = pcall(require, "ssl")
  if not ok then return nil, "HTTPS needs lua-sec (Debian: apt-get install lua-sec)" end
  local ctx, err = ssl.newcontext {
    mode = "server", protocol = "any", key = dir .. "/key.pem", certificate = dir .. "/cert.pem",
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" },
  }
  if not ctx then return nil, "cannot load the certificate in " .. dir .. ": " .. tostring(err) end
  return ctx
end

-- A client context trusting cafile (the test helper's own requests). -> context | nil, message
function M.client_context(cafile)
  local ssl = require "ssl"
  return ssl.newcontext { mode = "client", protocol = "any", verify = "peer", cafile = cafile,
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" } }
end

return M
