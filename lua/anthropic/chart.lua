--- A series (anthropic.series) as a text bar chart: one bar per time bucket, stacked by the
-- series' keys, with a legend, the exact total and an optional budget line.
--
--   chart.render(s, opts) -> text
--
-- opts (all optional):
--   width   columns the chart may use (default 80; at least 30)
--   ascii   true: ASCII only (#=+:%.), else Unicode blocks (█▓▒░▚·)
--   color   true: ANSI colors (for a terminal; leave it off for pipes and files)
--   stack   how many keys get their own part (default 5); the rest are one part, "other"
--   budget  { amount = n (in the series' unit: USD or tokens), period = "day" | "week" | "month" }:
--           a mark on every bar at the budget's share of that bucket (pro rata by time, a month
--           being its own length), bars past it flagged "!", and a summary under the chart
--   title   the first line (default: what the series is, its range, its unit)
--   escape  function(label) -> shown label (default anthropic.names.display: control and bidi
--           characters escaped)
-- Each bar's length is its total against the longest bar (or budget mark); the printed numbers
-- come from the series' exact strings: USD rounded to the cent per bar, and the exact total.
local decimal = require "anthropic.decimal"
local names = require "anthropic.names"
local utf8 = require("anthropic.compat").utf8

local M = {}

M.MIN_WIDTH = 30
M.GLYPHS = {
  unicode = { "█", "▓", "▒", "░", "▚", other = "·", mark = "│", over = "!" },
  ascii = { "#", "=", "+", ":", "%", other = ".", mark = "|", over = "!" },
}
M.COLORS = { "36", "33", "35", "32", "34", other = "90", mark = "1;31" }
M.PERIODS = { day = 86400, week = 7 * 86400, month = true }

local SYNTHETIC = { default = true, none = true } -- series' keys for "no value": not ids

local PER = { ["1h"] = "hour", ["1d"] = "day", ["1w"] = "week", ["1mo"] = "month" }

local function len(s)
  return utf8.len(s) or #s
end

-- s cut to w characters, the last one an ellipsis (ASCII: "~")
local function cut(s, w, ascii)
  if w <= 0 then return "" end
  return names.cut(s, w, ascii)
end

local function group(int)
  local sign, digits = int:match("^(%-?)(%d+)$")
  if not digits or #digits <= 3 then return int end
  local head = #digits % 3
  local parts = { head > 0 and digits:sub(1, head) or nil }
  for i = head + 1, #digits, 3 do parts[#parts + 1] = digits:sub(i, i + 2) end
  return sign .. table.concat(parts, ",")
end

--- An exact amount as printed: cost (cents) -> "$1,234.57" (rounded to the cent); a count ->
-- "1,234,567".
function M.amount(s, exact)
  if s.metric == "cost" then
    local dollars = decimal.tostring(decimal.shift(exact, 2), 2)
    local int, frac = dollars:match("^(%-?%d+)(%.%d+)$")
    return "$" .. group(int) .. frac
  end
  return group(decimal.tostring(exact, 0))
end

-- A number in short form: 950, 12.3k, 4.5M (cost: $0.35, $12, $1.2k).
local function compact(s, n)
  local prefix = s.metric == "cost" and "$" or ""
  local a = math.abs(n)
  if a < 1000 then
    if s.metric == "cost" and a < 100 then return prefix .. string.format("%.2f", n) end
    return prefix .. string.format("%.0f", n)
  end
  for _, u in ipairs { { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" } } do
    if a >= u[1] then return prefix .. string.format("%.1f%s", n / u[1], u[2]) end
  end
end

local function bucket_label(width, iso)
  if width == "1h" then return iso:sub(6, 10) .. " " .. iso:sub(12, 13) .. ":00" end
  if width == "1mo" then return iso:sub(1, 7) end
  return iso:sub(1, 10)
end

local function seconds(iso)
  return require("anthropic.series").time(iso)
end

-- The budget's share of [a, b): amount * overlap / period, a month being its own length.
local function allowance(budget, a, b)
  local period = M.PERIODS[budget.period or "month"]
  if period ~= true then return budget.amount * (b - a) / period end
  local series = require "anthropic.series"
  local total, t = 0, a
  while t < b do
    local start, stop = series.bucket_of("1mo", t)
    local e = math.min(stop, b)
    total = total + budget.amount * (e - t) / (stop - start)
    t = e
  end
  return total
end

-- Cells for parts of a bar: n cells split by largest remainder, in order.
local function split(values, sum, n)
  local cells, rest, used = {}, {}, 0
  for i, v in ipairs(values) do
    local exact = sum > 0 and v / sum * n or 0
    cells[i] = math.floor(exact)
    rest[i] = { i = i, r = exact - cells[i] }
    used = used + cells[i]
  end
  table.sort(rest, function(x, y) if x.r ~= y.r then return x.r > y.r end return x.i < y.i end)
  for k = 1, n - used do
    local i = rest[k] and rest[k].i
    if i and values[i] > 0 then cells[i] = cells[i] + 1 end
  end
  return cells
end

local function validate(s, opts)
  if type(s) ~= "table" or type(s.buckets) ~= "table" or type(s.keys) ~= "table" then
    error("chart.render: expected a series from anthropic.series.collect", 3)
  end
  local width = opts.width or 80
  if type(width) ~= "number" or width < M.MIN_WIDTH or width ~= math.floor(width) then
    error("chart.render: width must be a whole number of at least " .. M.MIN_WIDTH .. " (got " .. tostring(width)
      .. ")", 3)
  end
  local b = opts.budget
  if b ~= nil and (type(b) ~= "table" or type(b.amount) ~= "number" or b.amount <= 0
      or not M.PERIODS[b.period or "month"]) then
    error("chart.render: budget must be { amount = a positive number, period = \"day\" | \"week\" | \"month\" }", 3)
  end
  return width
end

--- The chart of series `s` (see the top of this file). -> text, ending with a newline
function M.render(s, opts)
  opts = opts or {}
  local width = validate(s, opts)
  local g = opts.ascii and M.GLYPHS.ascii or M.GLYPHS.unicode
  local escape = opts.escape or names.display
  local function paint(code, text)
    if not opts.color or text == "" then return text end
    return "\27[" .. code .. "m" .. text .. "\27[0m"
  end

  -- the parts: the largest keys, then "other"
  local stack = opts.stack or 5
  local shown, other = {}, {}
  for i, k in ipairs(s.keys) do
    if i <= stack or #s.keys == stack + 1 then shown[#shown + 1] = k else other[#other + 1] = k end
  end

  -- the rows: label, values per part, exact total
  local rows, max = {}, 0
  for i, b in ipairs(s.buckets) do
    local values = {}
    for j, k in ipairs(shown) do values[j] = b.parts[k] or 0 end
    if #other > 0 then
      local o = 0
      for _, k in ipairs(other) do o = o + (b.parts[k] or 0) end
      values[#values + 1] = o
    end
    local row = { label = bucket_label(s.width, b.starting_at), values = values, total = b.total, exact = b.exact }
    if opts.budget then
      row.allow = allowance(opts.budget, seconds(b.starting_at), seconds(b.ending_at))
      row.over = b.total > row.allow
      if row.allow > max then max = row.allow end
    end
    if b.total > max then max = b.total end
    rows[i] = row
  end

  -- columns: label, bar, value (compact when the full values leave the bar too little room)
  local label_w, value_w = 0, 0
  for _, r in ipairs(rows) do
    r.value = M.amount(s, r.exact)
    label_w = math.max(label_w, len(r.label))
    value_w = math.max(value_w, len(r.value))
  end
  local flag_w = opts.budget and 2 or 0
  local area = width - label_w - 2 - 2 - value_w - flag_w
  if area < 10 then
    value_w = 0
    for _, r in ipairs(rows) do
      r.value = compact(s, r.total)
      value_w = math.max(value_w, len(r.value))
    end
    area = width - label_w - 2 - 2 - value_w - flag_w
  end

  local out = {}
  local unit = s.unit or (s.metric == "cost" and "USD" or "tokens")
  local what = s.metric == "cost" and "cost" or (s.field or "usage"):gsub("_", " ")
  if s.by then what = what .. " by " .. s.by:gsub("_", " ") end
  -- the range as dates, the last one inclusive
  local first = (s.starting_at or ""):sub(1, 10)
  local stop = s.ending_at and seconds(s.ending_at)
  local last = stop and os.date("!%Y-%m-%d", stop - 1) or first
  local range = last == first and first or (first .. " to " .. last)
  local title = opts.title or string.format("%s per %s, %s (UTC), %s", what, PER[s.width] or s.width, range, unit)
  out[#out + 1] = cut(title, width, opts.ascii)

  for _, r in ipairs(rows) do
    local n = max > 0 and math.floor(r.total / max * area + 0.5) or 0
    if r.total > 0 and n == 0 then n = 1 end -- something is there
    local cells = split(r.values, r.total, n)
    local bar = {}
    for j, c in ipairs(cells) do
      local glyph = (j > #shown) and g.other or g[j]
      for _ = 1, c do bar[#bar + 1] = { glyph, (j > #shown) and M.COLORS.other or M.COLORS[j] } end
    end
    for _ = #bar + 1, area do bar[#bar + 1] = { " " } end
    if r.allow then
      local at = max > 0 and math.floor(r.allow / max * area + 0.5) or 0
      at = math.max(1, math.min(area, at))
      bar[at] = { g.mark, M.COLORS.mark }
    end
    -- runs of one color painted together
    local text, run, code = {}, {}, nil
    local function flush()
      if #run > 0 then text[#text + 1] = code and paint(code, table.concat(run)) or table.concat(run) end
      run = {}
    end
    for _, cell in ipairs(bar) do
      if cell[2] ~= code then flush() code = cell[2] end
      run[#run + 1] = cell[1]
    end
    flush()
    local line = r.label .. string.rep(" ", label_w - len(r.label)) .. "  " .. table.concat(text) .. "  "
      .. string.rep(" ", value_w - len(r.value)) .. r.value
    if r.over then line = line .. " " .. paint(M.COLORS.mark, g.over) end
    out[#out + 1] = (line:gsub("%s+$", ""))
  end

  -- the legend: glyph, name (and id), amount, share
  if s.by and #s.keys > 0 then
    out[#out + 1] = ""
    local entries = {}
    for j, k in ipairs(shown) do
      local label = escape(s.labels and s.labels[k] or k)
      local id = label ~= k and not SYNTHETIC[k] and escape(k) or nil
      entries[#entries + 1] = { glyph = paint(M.COLORS[j], g[j]), name = label, id = id,
        exact = s.exact_totals[k], number = s.totals[k] }
    end
    if #other > 0 then
      local exact, number = "0", 0
      for _, k in ipairs(other) do
        exact = decimal.add(exact, s.exact_totals[k])
        number = number + s.totals[k]
      end
      entries[#entries + 1] = { glyph = paint(M.COLORS.other, g.other), name = string.format("other (%d)", #other),
        exact = exact, number = number }
    end
    local amount_w, name_w, id_w = 0, 0, 0
    for _, e in ipairs(entries) do
      e.amount = M.amount(s, e.exact)
      e.share = s.total > 0 and string.format("%5.1f%%", e.number / s.total * 100) or "    -"
      amount_w = math.max(amount_w, len(e.amount))
      name_w = math.max(name_w, len(e.name))
      if e.id then id_w = math.max(id_w, len(e.id)) end
    end
    local fixed = 2 + 2 + amount_w + 2 + 6 -- glyph and space, gaps, amount, share
    if id_w > 0 and fixed + name_w + 2 + id_w > width then id_w = 0 end -- no room for ids
    name_w = math.min(name_w, width - fixed - (id_w > 0 and id_w + 2 or 0))
    for _, e in ipairs(entries) do
      local name = cut(e.name, name_w, opts.ascii)
      local line = e.glyph .. " " .. name .. string.rep(" ", name_w - len(name))
      if id_w > 0 then line = line .. "  " .. (e.id or "") .. string.rep(" ", id_w - len(e.id or "")) end
      line = line .. "  " .. string.rep(" ", amount_w - len(e.amount)) .. e.amount .. "  " .. e.share
      out[#out + 1] = line
    end
  end

  -- the total, exactly
  out[#out + 1] = ""
  local total = "total " .. M.amount(s, s.exact_total)
  local exact = s.metric == "cost" and ("(" .. group((s.exact_total:match("^%-?%d+")))
    .. (s.exact_total:match("%.%d+$") or "") .. " cents, exact)") or unit
  if len(total) + 1 + len(exact) <= width then
    out[#out + 1] = total .. " " .. exact
  else -- (the exact amount on a line of its own rather than cut)
    out[#out + 1] = cut(total, width, opts.ascii)
    out[#out + 1] = cut(exact, width, opts.ascii)
  end

  if opts.budget then
    local b = opts.budget
    local period = b.period or "month"
    local function money(n)
      if s.metric == "cost" then return M.amount(s, decimal.parse(string.format("%.6f", n * 100))) end
      return group(string.format("%.0f", n))
    end
    local over = 0
    for _, r in ipairs(rows) do if r.over then over = over + 1 end end
    local each = PER[s.width] or "bucket"
    local line = string.format("budget %s a %s (%s: a %s's share): %d of %d over", money(b.amount), period,
      g.mark, each, over, #rows)
    if len(line) > width then
      line = string.format("budget %s/%s: %d of %d over", money(b.amount), period, over, #rows)
    end
    out[#out + 1] = cut(line, width, opts.ascii)
    if period == "month" then
      local months, order = {}, {}
      for _, bucket in ipairs(s.buckets) do
        local m = bucket.starting_at:sub(1, 7)
        if not months[m] then
          months[m] = "0"
          order[#order + 1] = m
        end
        months[m] = decimal.add(months[m], bucket.exact)
      end
      for i = math.max(1, #order - 2), #order do
        local spent = decimal.tostring(months[order[i]])
        local used = tonumber(spent) / (s.metric == "cost" and 100 or 1) / b.amount * 100
        out[#out + 1] = cut(string.format("%s  %s of %s (%.1f%%)", order[i], M.amount(s, spent), money(b.amount), used),
          width, opts.ascii)
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M
