-- Scans files for the test run's canary (ANTHROPIC_TEST_CANARY): raw, URL-encoded, and base64 at
-- each of the three byte alignments. Prints "ok"/"not ok" TAP lines, one per file.
local canary = assert(os.getenv("ANTHROPIC_TEST_CANARY"), "ANTHROPIC_TEST_CANARY is not set")

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    for k = 3, 0, -1 do
      local idx = math.floor(n / 64 ^ k) % 64
      out[#out + 1] = B64:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

-- The part of base64(prefix .. canary .. suffix) that depends on the canary alone.
local needles = { canary, (canary:gsub("[^%w]", function(ch) return ("%%%02X"):format(ch:byte()) end)) }
for align = 0, 2 do
  local enc = base64(("x"):rep(align) .. canary)
  needles[#needles + 1] = enc:sub(align > 0 and 5 or 1, -5)
end

local failed = 0
for i, path in ipairs(arg) do
  local f = io.open(path, "rb")
  local text = f and f:read("*a") or ""
  if f then f:close() end
  local found
  for _, needle in ipairs(needles) do
    if text:find(needle, 1, true) then found = needle end
  end
  if found then
    failed = failed + 1
    print(("not ok %d - the run's canary key appears in %s"):format(i, path))
  else
    print(("ok %d - no trace of the run's keys in %s (%d bytes)"):format(i, path, #text))
  end
end
os.exit(failed == 0)
