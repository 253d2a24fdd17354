--- The table of `make bench`: medians, ratios to the baseline, the targets, and the
-- "Latest results" block of docs/performance.md.
--   lua5.4 bench/report.lua RESULTS META MACHINE [DOCS=1] [STRICT=0]
-- RESULTS lines (from run.sh):
--   ID run=R n= wall= cpu= rss_kb= grow_kb= text=     one timed run
--   ID run=R failed=1                                  a run that failed
--   ID callgrind a= b= ir_a= ir_b=                     instructions of two request counts
--   ID object a|b NAME IR                              instructions by object file
local results_file, meta_file, machine_file, docs, strict = arg[1], arg[2], arg[3], arg[4] ~= "0", arg[5] == "1"
local meta = assert(dofile(meta_file))

local function fields(s)
  local t = {}
  for k, v in s:gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

-- ---- read ----
local runs, cg, objects, failed = {}, {}, {}, {}
for line in io.lines(results_file) do
  local id, rest = line:match("^(%S+) (.*)$")
  if rest:match("^run=") then
    local f = fields(rest)
    if f.failed then failed[id] = true
    else
      runs[id] = runs[id] or {}
      table.insert(runs[id], f)
    end
  elseif rest:match("^callgrind ") then
    cg[id] = fields(rest)
  elseif rest:match("^object ") then
    local which, name, ir = rest:match("^object (%a) (%S+) (%d+)")
    objects[id] = objects[id] or { a = {}, b = {} }
    objects[id][which][name] = (objects[id][which][name] or 0) + tonumber(ir)
  end
end
local machine, notes = {}, {}
for line in io.lines(machine_file) do
  local k, v = line:match("^(%w+)=(.*)$")
  if k == "note" then notes[#notes + 1] = v elseif k then machine[k] = v end
end

-- ---- rows ----
local WORKLOADS = {
  { key = "create", label = "create, sequential", stream = nil },
  { key = "small", label = string.format("stream %.0f KB (%d events)", meta.small.bytes / 1024, meta.small.events),
    stream = "small" },
  { key = "big", label = string.format("stream %.0f MB (%d events)", meta.big.bytes / 1e6, meta.big.events),
    stream = "big" },
  { key = "in8", label = "create, 8 in flight" },
  { key = "in64", label = "create, 64 in flight" },
}
local CLIENTS = {
  { key = "baseline", label = "libcurl + cJSON (C), the baseline" },
  { key = "raw", label = "libcurl, no JSON work (C)" },
  { key = "luasocket", label = "luasocket + lua-cjson" },
  { key = "sdk", label = "TypeScript SDK " .. (machine.sdk or "") .. " (node " .. (machine.node or "") .. ")" },
  { key = "ours", label = "**lua-anthropic**" },
  { key = "ours-flat", label = "**lua-anthropic**, keep_content(false)" },
}

-- On the stream rows, say what ours does with the text: stream:text() as is keeps every delta's
-- text for final() (so memory grows with the text); keep_content(false) keeps none.
local function client_label(c, w)
  if w.stream and c.key == "ours" then return c.label .. ", stream:text(), text kept for final()" end
  if w.stream and c.key == "ours-flat" then return "**lua-anthropic**, stream:text() after keep_content(false)" end
  return c.label
end

local function median(list)
  table.sort(list)
  local n = #list
  if n == 0 then return nil end
  if n % 2 == 1 then return list[(n + 1) / 2] end
  return (list[n / 2] + list[n / 2 + 1]) / 2
end

local wrong = {}
-- expected bytes of text per request (raw: bytes of the body)
local function expected(w, client)
  local m = w.stream and meta[w.stream] or meta.message
  return client == "raw" and m.bytes or m.text_bytes
end

local stats = {}
for _, w in ipairs(WORKLOADS) do
  for _, c in ipairs(CLIENTS) do
    local id = w.key .. "/" .. c.key
    local rs = runs[id]
    if rs or failed[id] then
      local s = { id = id, w = w, c = c, failed = failed[id] }
      if rs then
        local rate, cpu, rss, grow = {}, {}, {}, {}
        s.cpu_by_run = {}
        for _, r in ipairs(rs) do
          rate[#rate + 1] = r.n / r.wall
          cpu[#cpu + 1] = r.cpu / r.n
          s.cpu_by_run[r.run] = r.cpu / r.n
          rss[#rss + 1] = r.rss_kb
          grow[#grow + 1] = r.grow_kb
          if r.text ~= r.n * expected(w, c.key) then
            wrong[#wrong + 1] = string.format("%s run %d read %d bytes of text, expected %d", id, r.run, r.text,
              r.n * expected(w, c.key))
          end
        end
        s.runs = #rs
        s.rate = median(rate)
        s.events = w.stream and s.rate * meta[w.stream].events
        s.cpu = median(cpu)
        s.rss = median(rss) / 1024
        s.grow = median(grow) / 1024
      end
      local g = cg[id]
      if g and g.b > g.a then
        s.ir = (g.ir_b - g.ir_a) / (g.b - g.a)
        if w.key == "big" then s.ir = s.ir * meta.big.events / meta.mid.events end
      end
      local o = objects[id]
      if o and g and g.b > g.a then
        s.objects = {}
        for name, ir_b in pairs(o.b) do
          local per = (ir_b - (o.a[name] or 0)) / (g.b - g.a)
          if w.key == "big" then per = per * meta.big.events / meta.mid.events end
          s.objects[name] = per
        end
      end
      stats[id] = s
    end
  end
end

-- ---- format ----
local function si(x)
  if not x then return "-" end
  local a = math.abs(x)
  if a >= 1e9 then return string.format("%.2f G", x / 1e9) end
  if a >= 1e6 then return string.format("%.2f M", x / 1e6) end
  if a >= 1e4 then return string.format("%.0f k", x / 1e3) end
  if a >= 1e3 then return string.format("%.1f k", x / 1e3) end
  return string.format("%.0f", x)
end
local function cpu_str(s) -- seconds per request -> µs or ms
  if not s then return "-" end
  if s >= 0.01 then return string.format("%.1f ms", s * 1e3) end
  if s >= 1e-3 then return string.format("%.2f ms", s * 1e3) end
  return string.format("%.1f µs", s * 1e6)
end
local function ratio(x, y)
  if not x or not y or y == 0 then return "-" end
  return string.format("%.2f×", x / y)
end

-- CPU of row s against row b: the median of the two rows' ratio within each run (the rows of a
-- workload run back to back, so a run's ratio is measured under one machine state, while the
-- machine's speed drifts between runs); the ratio of the medians when no run has both.
local function cpu_ratio(s, b)
  if not s or not b or not s.cpu or not b.cpu then return nil end
  local r = {}
  for run, c in pairs(s.cpu_by_run) do
    local bc = b.cpu_by_run[run]
    if bc and bc > 0 then r[#r + 1] = c / bc end
  end
  return median(r) or s.cpu / b.cpu
end
local function times(x) return x and string.format("%.2f×", x) or "-" end

local out = {}
local function put(s) out[#out + 1] = s or "" end

put(string.format("Run %s (UTC) on %s CPUs (%s), %s, %s; libcurl %s, Lua %s, %s, luasocket %s, " ..
  "nginx %s, node %s, @anthropic-ai/sdk %s, %s. Commit %s. Medians of %s runs; `make bench` took %s s.",
  machine.date, machine.nproc, machine.cpu, machine.os, machine.kernel, machine.libcurl, machine.lua,
  machine.cjson, machine.luasocket, machine.nginx, machine.node, machine.sdk, machine.valgrind,
  machine.commit, machine.runs, machine.seconds))
if machine.scale ~= "1" then
  put("")
  put("**BENCH_SCALE=" .. machine.scale .. "**: fewer requests than the standard run.")
end
put("")
put("| workload | client | req/s | events/s | CPU per req | × base | instr per req | × base | peak RSS | RSS growth |")
put("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for _, w in ipairs(WORKLOADS) do
  local base = stats[w.key .. "/baseline"]
  for _, c in ipairs(CLIENTS) do
    local s = stats[w.key .. "/" .. c.key]
    if s and s.failed and not s.runs then
      put(string.format("| %s | %s | failed | | | | | | | |", w.label, client_label(c, w)))
    elseif s then
      put(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %.1f MB | %+.1f MB |", w.label, client_label(c, w),
        si(s.rate), si(s.events), cpu_str(s.cpu), times(cpu_ratio(s, base)), si(s.ir),
        ratio(s.ir, base and base.ir), s.rss, s.grow))
    end
  end
end
put("")
put("req/s counts streams for the stream workloads. CPU is user+sys of the client process alone over " ..
  "the measured requests (after a warm-up on the same connections); its × base is the median of the " ..
  "ratios within each run, where the rows ran back to back" ..
  (machine.pinned ~= "" and " (" .. machine.pinned .. ")" or "") .. "; instructions are callgrind's " ..
  "count (all threads), per request, from the difference of two runs of different lengths, so start-up " ..
  "cancels out; the 20 MB stream's are counted on a 2 MB stream of the same mix and scaled by events. " ..
  "Peak RSS is VmHWM during the measured requests; growth is that peak minus VmRSS before them.")

-- ---- targets ----
local verdicts = {}
local function verdict(ok) return ok and "PASS" or "FAIL" end
local target_lines = {}
local function target(text, ok, extra)
  if ok == nil then
    target_lines[#target_lines + 1] = "| " .. text .. " | n/a | " .. (extra or "") .. " |"
    return
  end
  verdicts[#verdicts + 1] = ok
  target_lines[#target_lines + 1] = "| " .. text .. " | " .. verdict(ok) .. " | " .. (extra or "") .. " |"
end

for _, w in ipairs(WORKLOADS) do
  local ours, base = stats[w.key .. "/ours"], stats[w.key .. "/baseline"]
  local r = cpu_ratio(ours, base)
  if r then
    target(string.format("%s: CPU per request ≤ 1.3× baseline", w.label), r <= 1.3,
      string.format("%.2f× (%s vs %s); instructions %s", r, cpu_str(ours.cpu), cpu_str(base.cpu),
        ratio(ours.ir, base.ir)))
  end
end
for _, w in ipairs(WORKLOADS) do
  local ours, sdk = stats[w.key .. "/ours"], stats[w.key .. "/sdk"]
  local r = cpu_ratio(ours, sdk)
  if r then
    target(string.format("%s: CPU per request ≤ ⅓ of the TypeScript SDK's", w.label), r <= 1 / 3,
      string.format("%.2f× (%s vs %s); instructions %s", r, cpu_str(ours.cpu), cpu_str(sdk.cpu),
        ratio(ours.ir, sdk.ir)))
  end
end
for _, w in ipairs(WORKLOADS) do
  local ours, base = stats[w.key .. "/ours"], stats[w.key .. "/baseline"]
  if w.stream and ours and base and ours.events and base.events then
    local r = ours.events / base.events
    target(string.format("%s: event rate ≥ ½ baseline's", w.label), r >= 0.5,
      string.format("%.2f× (%s vs %s events/s)", r, si(ours.events), si(base.events)))
  end
end
-- Flat memory is for keep_content(false). With the text kept for final(), memory may grow by
-- twice the text (meta.big.text_bytes) and no more than the same tenth of the stream beyond: at
-- the block's end the kept text becomes one Lua string, and for that moment it is held twice (a
-- Lua 5.4 string is always a copy of the bytes it is made from).
local limit = meta.big.bytes / 10 / 1024 / 1024
local text_mb = (meta.big.text_bytes or 0) / 1024 / 1024
for _, key in ipairs { "ours-flat", "ours" } do
  local s = stats["big/" .. key]
  if s and s.grow then
    if key == "ours-flat" then
      target(string.format("%s: flat memory (RSS growth < %.0f MB, a tenth of the stream), stream:text() after "
        .. "keep_content(false)", WORKLOADS[3].label, limit), s.grow < limit, string.format("%+.1f MB", s.grow))
    else
      target(string.format("%s: stream:text() keeping the text for final(): RSS growth < twice the %.1f MB of "
        .. "text + %.0f MB", WORKLOADS[3].label, text_mb, limit), s.grow < 2 * text_mb + limit,
        string.format("%+.1f MB", s.grow))
    end
  end
end
put("")
put("| target | result | measured |")
put("|---|---|---|")
for _, l in ipairs(target_lines) do put(l) end

-- ---- where the instructions go ----
local GROUPS = {
  { "^lua5%.4$", "Lua VM" }, { "^liblua5%.4%.so", "Lua VM" }, { "^libcjson", "cJSON" }, { "cjson", "lua-cjson" },
  { "^libcurl", "libcurl" }, { "^libc%.so", "libc" }, { "^anthropic/core%.so$", "core.so (our C)" },
  { "^ld%-linux", "ld.so" }, { "^baseline$", "baseline" }, { "socket", "luasocket" },
}
local function group(name)
  if name:match("^liblua5%.4%-cjson") then return "lua-cjson" end
  for _, g in ipairs(GROUPS) do if name:match(g[1]) then return g[2] end end
  return "other"
end
local breakdown = {}
for _, w in ipairs { WORKLOADS[1], WORKLOADS[2], WORKLOADS[3] } do
  for _, ck in ipairs { "baseline", "luasocket", "ours" } do
    local s = stats[w.key .. "/" .. ck]
    if s and s.objects then
      local by = {}
      for name, ir in pairs(s.objects) do
        local g = group(name)
        by[g] = (by[g] or 0) + ir
      end
      local list = {}
      for g, ir in pairs(by) do if ir >= 0.5 and ir > (s.ir or 0) * 0.01 then list[#list + 1] = { g, ir } end end
      table.sort(list, function(a, b) return a[2] > b[2] end)
      local parts = {}
      for _, e in ipairs(list) do parts[#parts + 1] = string.format("%s %s", e[1], si(e[2])) end
      breakdown[#breakdown + 1] = string.format("| %s | %s | %s | %s |", w.label, client_label(s.c, w), si(s.ir),
        table.concat(parts, ", "))
    end
  end
end
if #breakdown > 0 then
  put("")
  put("Instructions per request by object file (callgrind; the system calls themselves are not counted):")
  put("")
  put("| workload | client | instr per req | by object |")
  put("|---|---|--:|---|")
  for _, l in ipairs(breakdown) do put(l) end
end

if #notes > 0 then
  put("")
  for _, n in ipairs(notes) do put("- " .. n) end
end
if #wrong > 0 then
  put("")
  put("**Wrong measurements** (a client did not read all of the text):")
  for _, s in ipairs(wrong) do put("- " .. s) end
end
for id in pairs(failed) do
  wrong[#wrong + 1] = id .. " failed"
end

local block = table.concat(out, "\n")
io.write("\n", block, "\n\n")
local passed, failed_n = 0, 0
for _, ok in ipairs(verdicts) do if ok then passed = passed + 1 else failed_n = failed_n + 1 end end
io.write(string.format("targets: %d passed, %d failed\n", passed, failed_n))

-- ---- docs/performance.md: replace the block between the markers ----
if docs and #wrong == 0 then
  local path = "docs/performance.md"
  local f = io.open(path, "rb")
  local doc = f and f:read("a")
  if f then f:close() end
  local BEGIN, END = "<!-- bench:begin (written by make bench) -->", "<!-- bench:end -->"
  if not doc or not doc:find(BEGIN, 1, true) then
    doc = "# Performance\n\n## Latest results\n\n" .. BEGIN .. "\n" .. END .. "\n"
  end
  local i = doc:find(BEGIN, 1, true)
  local j = doc:find(END, i, true)
  doc = doc:sub(1, i - 1) .. BEGIN .. "\n" .. block .. "\n" .. doc:sub(j)
  f = assert(io.open(path, "wb"))
  f:write(doc)
  f:close()
  io.write("wrote the table into ", path, "\n")
end

if #wrong > 0 then
  io.stderr:write("bench: wrong or failed measurements:\n  ", table.concat(wrong, "\n  "), "\n")
  os.exit(1)
end
if strict and failed_n > 0 then os.exit(1) end
