--- The HTML report (`anthropic report --html FILE`): one self-contained page, inline CSS and
-- inline SVG, no script, nothing loaded from the network, readable on a phone (responsive, viewport
-- meta) and printable on A4 (@page, @media print). Pure: it takes the data and returns the text.
--   render(data) -> html
-- data = {
--   generated_at = "2026-12-03T14:00:00Z", since = "...", ["until"] = "...", title = "...",
--   cost = { model = s, workspace = s, api_key = s, actor = s },  -- series.collect results (metric "cost")
--   usage = s,                                                      -- series (metric "usage"), by model
--   tokens = { input_tokens =, uncached_input_tokens =, cache_read_input_tokens =,
--              ephemeral_5m_input_tokens =, ephemeral_1h_input_tokens =, output_tokens = },
--   cache = { { day = "YYYY-MM-DD", input_tokens = n, cache_read_input_tokens = n }, ... },
--   budget = { month = "YYYY-MM", days = n (in the month), limit_usd = "100.00", spent_usd = "12.34",
--              projected_usd = "40.00", percent = 12.3, status = "ok"|"warning"|"exceeded",
--              source = "--budget" | "profile NAME (spend_limit)",
--              daily = { { day = "YYYY-MM-DD", usd = n }, ... } },       -- or nil: no budget
--   findings = { { kind = "rotation"|"idle"|"inactive", status =, key =, key_id =, workspace =,
--                  text = "..." }, ... },
-- }
-- Every number a chart draws is in its elements' data-* attributes and <title>s (the series'
-- exact_total on the chart), so that tests and people can check it against the API's sums. Every
-- name is shown through names.display (escapes for bidirectional controls and the like) and
-- HTML-escaped.
local names = require "anthropic.names"

local M = {}

M.PALETTE = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
  "#ff9da7", "#bab0ac" }
M.MAX_STACKS = 8 -- keys drawn apart in a chart; the rest are stacked as one "other"

local ENTITIES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

--- Text for HTML (element content or a quoted attribute value).
function M.escape(s)
  return (tostring(s):gsub("[&<>\"']", ENTITIES))
end

-- A name as it is shown: escapes for what could mislead, then HTML-escaped.
local function name(s)
  return M.escape(names.display(tostring(s)))
end

local function group(int)
  local sign, digits = int:match("^(%-?)(%d+)$")
  if not digits then return int end
  local out = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return sign .. out:gsub("^,", "")
end

-- A number for data-* attributes: integers as integers, others with enough digits to read back.
local function num(n)
  if n == nil then return "" end
  if type(n) ~= "number" then return M.escape(n) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%d", n) end
  return string.format("%.17g", n)
end
M.num = num

local function is_cents(unit)
  return type(unit) == "string" and unit:lower():find("cent", 1, true) ~= nil
end

local function is_money(unit)
  return is_cents(unit) or (type(unit) == "string" and unit:upper() == "USD")
end

-- n in `unit` -> dollars (number)
local function dollars(unit, n)
  return is_cents(unit) and n / 100 or n
end

local function usd(v)
  local s = string.format("%.2f", v)
  local int, frac = s:match("^(%-?%d+)(%.%d+)$")
  return "$" .. group(int) .. frac
end
M.usd = usd

--- A value of a series' unit as people read it: "$1,234.56" or "1,234,567 tokens".
local function shown(unit, n)
  if is_money(unit) then return usd(dollars(unit, n)) end
  return group(string.format("%d", math.floor(n + 0.5))) .. (unit and unit ~= "" and (" " .. unit) or "")
end
M.shown = shown

-- Axis labels: short ("$1.2k", "3.4M").
local function short(unit, n)
  local money = is_money(unit)
  if money then n = dollars(unit, n) end
  local a, suffix = math.abs(n), ""
  if a >= 1e9 then n, suffix = n / 1e9, "G" elseif a >= 1e6 then n, suffix = n / 1e6, "M"
  elseif a >= 1e4 then n, suffix = n / 1e3, "k" end
  local s
  if suffix ~= "" or n == math.floor(n) then s = string.format(n == math.floor(n) and "%d" or "%.1f", n)
  else s = string.format(money and "%.2f" or "%.1f", n) end
  return (money and "$" or "") .. s .. suffix
end

-- A step for about `count` grid lines up to max: 1, 2 or 5 times a power of ten.
local function nice_step(max, count)
  if max <= 0 then return 1 end
  local raw = max / count
  local p = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs { 1, 2, 5, 10 } do
    if m * p >= raw then return m * p end
  end
  return 10 * p
end

local function label_of(s, key)
  local l = s.labels and s.labels[key]
  if l == nil or l == "" then return key end
  return l
end

-- The keys drawn apart (largest first, as series orders them) and whether an "other" is needed.
local function stacks(s)
  local keys = s.keys or {}
  if #keys <= M.MAX_STACKS then return keys, false end
  local out = {}
  for i = 1, M.MAX_STACKS - 1 do out[i] = keys[i] end
  return out, true
end

local W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 260, 64, 12, 12, 36

local function day_label(iso, width)
  iso = tostring(iso or "")
  if width == "1h" then return iso:sub(6, 13):gsub("T", " ") .. "h" end
  if width == "1mo" then return iso:sub(1, 7) end
  return iso:sub(6, 10)
end

local function y_axis(out, max, unit, plot_h)
  local step = nice_step(max, 4)
  local top = math.max(step, math.ceil(max / step) * step)
  local v = 0
  while v <= top + step / 2 do
    local y = TOP + plot_h - plot_h * v / top
    out[#out + 1] = string.format('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>', LEFT, W - RIGHT, y, y)
    out[#out + 1] = string.format('<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>', LEFT - 4, y + 4,
      M.escape(short(unit, v)))
    v = v + step
  end
  return top
end

local function x_labels(out, list, x_of, width)
  local every = math.max(1, math.ceil(#list / 10))
  for i, b in ipairs(list) do
    if (i - 1) % every == 0 then
      out[#out + 1] = string.format('<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>', x_of(i),
        H - BOTTOM + 16, M.escape(day_label(b.starting_at or b.day, width)))
    end
  end
end

local function legend(entries)
  local out = { '<ul class="legend">' }
  for _, e in ipairs(entries) do
    out[#out + 1] = string.format('<li><span class="sw" style="background:%s"></span>%s</li>', e.color, e.text)
  end
  out[#out + 1] = "</ul>"
  return table.concat(out)
end

--- A stacked bar chart of series s (one bar per bucket, one stack per key), its legend and a table
-- of the totals per key. id: the svg element's id.
function M.bars(id, s, title)
  local unit = s.unit
  local drawn, other = stacks(s)
  local color = {}
  for i, k in ipairs(drawn) do color[k] = M.PALETTE[(i - 1) % #M.PALETTE + 1] end
  local other_color = "#bab0ac"
  local buckets = s.buckets or {}
  local max = 0
  for _, b in ipairs(buckets) do max = math.max(max, b.total or 0) end
  local plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
  local out = { string.format('<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" '
    .. 'data-metric="%s" data-unit="%s" data-width="%s" data-by="%s" data-total="%s" '
    .. 'data-exact-total="%s">', M.escape(id), W, H,
    M.escape(title), M.escape(s.metric or ""), M.escape(unit or ""), M.escape(s.width or ""), M.escape(s.by or ""),
    num(s.total or 0), M.escape(s.exact_total or "")) }
  out[#out + 1] = "<title>" .. M.escape(title) .. ": " .. M.escape(shown(unit, s.total or 0)) .. "</title>"
  local top = y_axis(out, max, unit, plot_h)
  local n = math.max(#buckets, 1)
  local slot = plot_w / n
  local bw = math.max(1, slot * 0.8)
  local function x_of(i) return LEFT + slot * (i - 0.5) end
  for i, b in ipairs(buckets) do
    local x = x_of(i) - bw / 2
    out[#out + 1] = string.format('<g class="bar" data-start="%s" data-end="%s" data-total="%s"><title>%s: %s</title>',
      M.escape(b.starting_at or ""), M.escape(b.ending_at or ""), num(b.total or 0),
      M.escape(tostring(b.starting_at or "")), M.escape(shown(unit, b.total or 0)))
    local y = TOP + plot_h
    local rest = b.total or 0
    local function rect(key_attr, label, v, c)
      local h = plot_h * v / top
      y = y - h
      out[#out + 1] = string.format('<rect x="%.1f" y="%.2f" width="%.1f" height="%.2f" fill="%s" data-key="%s" '
        .. 'data-value="%s"><title>%s: %s</title></rect>', x, y, bw, h, c, key_attr, num(v), label,
        M.escape(shown(unit, v)))
    end
    local parts = b.parts or {}
    if s.by then
      for _, k in ipairs(drawn) do
        local v = parts[k]
        if v and v ~= 0 then
          rect(M.escape(k), name(label_of(s, k)), v, color[k])
          rest = rest - v
        end
      end
      if other then
        local v = 0
        for k, pv in pairs(parts) do
          if not color[k] then v = v + pv end
        end
        if v ~= 0 then rect("(other)", "other", v, other_color) end
      end
    elseif rest ~= 0 then
      rect("(total)", "total", rest, M.PALETTE[1])
    end
    out[#out + 1] = "</g>"
  end
  if #buckets == 0 then
    out[#out + 1] = string.format('<text class="empty" x="%d" y="%d" text-anchor="middle">no data in this range</text>',
      W / 2, H / 2)
  end
  x_labels(out, buckets, x_of, s.width)
  out[#out + 1] = string.format('<line class="base" x1="%d" x2="%d" y1="%d" y2="%d"/>', LEFT, W - RIGHT, TOP + plot_h,
    TOP + plot_h)
  out[#out + 1] = "</svg>"
  local entries = {}
  if s.by then
    for _, k in ipairs(drawn) do entries[#entries + 1] = { color = color[k], text = name(label_of(s, k)) } end
    if other then entries[#entries + 1] = { color = other_color, text = "other" } end
  end
  local rows = { '<div class="tw"><table class="totals" data-chart="' .. M.escape(id) .. '"><thead><tr><th>'
    .. M.escape(s.by or "total") .. '</th><th class="n">' .. (is_money(unit) and "USD" or M.escape(unit or ""))
    .. '</th><th class="n">share</th></tr></thead><tbody>' }
  local total = s.total or 0
  for _, k in ipairs(s.keys or {}) do
    local v = (s.totals or {})[k] or 0
    local label = label_of(s, k)
    rows[#rows + 1] = string.format('<tr data-key="%s" data-total="%s" data-exact="%s">'
      .. '<td class="name">%s%s</td><td class="n">%s</td>'
      .. '<td class="n">%s</td></tr>', M.escape(k), num(v), M.escape((s.exact_totals or {})[k] or ""), name(label),
      label ~= k and ('<br><span class="id">' .. name(k) .. '</span>') or "",
      M.escape(is_money(unit) and usd(dollars(unit, v)):sub(2) or shown(nil, v)),
      total ~= 0 and string.format("%.1f%%", 100 * v / total) or "-")
  end
  rows[#rows + 1] = string.format('<tr class="sum"><td>total</td><td class="n">%s</td><td class="n">%s</td></tr>',
    M.escape(is_money(unit) and usd(dollars(unit, total)):sub(2) or shown(nil, total)), total ~= 0 and "100%" or "-")
  rows[#rows + 1] = "</tbody></table></div>"
  return table.concat(out, "\n") .. "\n" .. (#entries > 0 and legend(entries) or "") .. "\n" .. table.concat(rows, "\n")
end

--- The cache hit rate per day (cache reads / input tokens, input counting uncached input, cache
-- reads and cache writes), as bars in percent.
function M.cache_chart(days)
  local plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
  local input, read = 0, 0
  for _, d in ipairs(days) do
    input, read = input + (d.input_tokens or 0), read + (d.cache_read_input_tokens or 0)
  end
  local out = { string.format('<svg id="chart-cache" class="chart" viewBox="0 0 %d %d" role="img" '
    .. 'aria-label="cache hit rate by day" data-input-tokens="%s" data-cache-read-input-tokens="%s" data-rate="%s">',
    W, H, num(input), num(read), input > 0 and string.format("%.4f", read / input) or "") }
  out[#out + 1] = "<title>cache hit rate: " .. (input > 0 and string.format("%.1f%%", 100 * read / input) or "-")
    .. "</title>"
  for _, p in ipairs { 0, 25, 50, 75, 100 } do
    local y = TOP + plot_h - plot_h * p / 100
    out[#out + 1] = string.format('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>', LEFT, W - RIGHT, y, y)
    out[#out + 1] = string.format('<text class="axis" x="%d" y="%.1f" text-anchor="end">%d%%</text>',
      LEFT - 4, y + 4, p)
  end
  local slot = plot_w / math.max(#days, 1)
  local bw = math.max(1, slot * 0.8)
  local function x_of(i) return LEFT + slot * (i - 0.5) end
  for i, d in ipairs(days) do
    local inp, rd = d.input_tokens or 0, d.cache_read_input_tokens or 0
    local rate = inp > 0 and rd / inp or 0
    local h = plot_h * rate
    out[#out + 1] = string.format('<rect class="rate" x="%.1f" y="%.2f" width="%.1f" height="%.2f" fill="%s" '
      .. 'data-day="%s" data-input-tokens="%s" data-cache-read-input-tokens="%s"><title>%s: %s (%s of %s input '
      .. 'tokens)</title></rect>', x_of(i) - bw / 2, TOP + plot_h - h, bw, h, M.PALETTE[3], M.escape(d.day), num(inp),
      num(rd), M.escape(d.day), inp > 0 and string.format("%.1f%%", 100 * rate) or "-", shown(nil, rd), shown(nil, inp))
  end
  if #days == 0 then
    out[#out + 1] = string.format('<text class="empty" x="%d" y="%d" text-anchor="middle">no data in this range</text>',
      W / 2, H / 2)
  end
  x_labels(out, days, x_of, "1d")
  out[#out + 1] = string.format('<line class="base" x1="%d" x2="%d" y1="%d" y2="%d"/>', LEFT, W - RIGHT, TOP + plot_h,
    TOP + plot_h)
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n"), input, read
end

--- The month's budget burn-down: spend so far (cumulative, by day), the budget line and the linear
-- projection to the month's end.
function M.budget_chart(b)
  local plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
  local limit, projected = tonumber(b.limit_usd) or 0, tonumber(b.projected_usd) or 0
  local days = math.max(b.days or 30, 1)
  local cum, points = 0, {}
  for i, d in ipairs(b.daily or {}) do
    cum = cum + (d.usd or 0)
    points[i] = { day = d.day, cum = cum }
  end
  local max = math.max(limit, projected, cum)
  local out = { string.format('<svg id="chart-budget" class="chart" viewBox="0 0 %d %d" role="img" '
    .. 'aria-label="budget burn-down" data-month="%s" data-budget-usd="%s" data-spent-usd="%s" '
    .. 'data-projected-usd="%s" data-status="%s">', W, H, M.escape(b.month or ""), M.escape(b.limit_usd or ""),
    M.escape(b.spent_usd or ""), M.escape(b.projected_usd or ""), M.escape(b.status or "")) }
  out[#out + 1] = string.format("<title>budget %s: %s spent of %s, projected %s</title>", M.escape(b.month or ""),
    usd(tonumber(b.spent_usd) or 0), usd(limit), usd(projected))
  local top = y_axis(out, max, "USD", plot_h)
  local function x_of(day) return LEFT + plot_w * day / days end
  local function y_of(v) return TOP + plot_h - plot_h * v / top end
  local ly = y_of(limit)
  out[#out + 1] = string.format('<line class="limit" x1="%d" x2="%d" y1="%.1f" y2="%.1f" data-usd="%s"><title>budget '
    .. '%s</title></line>', LEFT, W - RIGHT, ly, ly, M.escape(b.limit_usd or ""), usd(limit))
  local pts = { string.format("%.1f,%.1f", x_of(0), y_of(0)) }
  for i, p in ipairs(points) do
    pts[#pts + 1] = string.format("%.1f,%.1f", x_of(i), y_of(p.cum))
  end
  out[#out + 1] = string.format('<polyline class="spent" points="%s"/>', table.concat(pts, " "))
  for i, p in ipairs(points) do
    out[#out + 1] = string.format('<circle class="pt" cx="%.1f" cy="%.1f" r="2.5" '
      .. 'data-day="%s" data-cumulative-usd="%s">'
      .. '<title>%s: %s so far</title></circle>', x_of(i), y_of(p.cum), M.escape(p.day), num(p.cum), M.escape(p.day),
      usd(p.cum))
  end
  out[#out + 1] = string.format('<line class="projection" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" data-usd="%s">'
    .. '<title>projected %s by the end of the month</title></line>', x_of(#points), y_of(cum), x_of(days),
    y_of(projected), M.escape(b.projected_usd or ""), usd(projected))
  local every = days > 16 and 5 or 1
  for d = 1, days do
    if d == 1 or d % every == 0 then
      out[#out + 1] = string.format('<text class="axis" x="%.1f" y="%d" text-anchor="middle">%d</text>', x_of(d - 0.5),
        H - BOTTOM + 16, d)
    end
  end
  out[#out + 1] = string.format('<line class="base" x1="%d" x2="%d" y1="%d" y2="%d"/>', LEFT, W - RIGHT, TOP + plot_h,
    TOP + plot_h)
  out[#out + 1] = "</svg>"
  out[#out + 1] = legend {
    { color = M.PALETTE[1], text = "spent (cumulative)" }, { color = M.PALETTE[4], text = "budget" },
    { color = M.PALETTE[2], text = "projection" },
  }
  return table.concat(out, "\n")
end

M.CSS = [[
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1b1b1b;
background:#fff;margin:0 auto;padding:16px;max-width:1040px}
h1{font-size:1.5em;margin:0 0 4px}
h2{font-size:1.15em;margin:0 0 8px;border-bottom:2px solid #e3e3e3;padding-bottom:2px}
p.meta{color:#555;margin:0 0 16px}
section{margin:0 0 28px;break-inside:avoid;page-break-inside:avoid}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:0 0 24px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:1.3em;font-variant-numeric:tabular-nums}
.card span{color:#555;font-size:.85em}
svg.chart{display:block;width:100%;height:auto;max-height:340px}
svg .grid{stroke:#e6e6e6;stroke-width:1}
svg .base{stroke:#888;stroke-width:1}
svg .axis{font-size:11px;fill:#555}
svg .empty{font-size:14px;fill:#777}
svg .spent{fill:none;stroke:#4e79a7;stroke-width:2.5}
svg .pt{fill:#4e79a7}
svg .limit{stroke:#e15759;stroke-width:2}
svg .projection{stroke:#f28e2b;stroke-width:2;stroke-dasharray:6 4}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;padding:0;margin:6px 0;font-size:.9em}
.legend li{overflow-wrap:anywhere}
.sw{display:inline-block;width:11px;height:11px;margin-right:5px;border-radius:2px;vertical-align:-1px}
.sw,svg rect,svg line,svg circle,svg polyline{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.tw{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9em;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e3e3e3;vertical-align:top}
th.n,td.n{text-align:right;white-space:nowrap}
td.name{overflow-wrap:anywhere}
tr.sum td{font-weight:600;border-top:1px solid #999}
.id{color:#666;font-size:.85em;font-family:ui-monospace,Menlo,Consolas,monospace}
.status{font-weight:600;white-space:nowrap}
.overdue,.exceeded{color:#b00020}.warning,.due_soon,.idle{color:#9a5b00}.ok,.inactive{color:#2e7d32}
.none{color:#555}
@media (max-width:600px){body{font-size:14px;padding:10px}.card b{font-size:1.15em}th,td{padding:3px 4px}
#findings thead{display:none}#findings tr{display:block;border-bottom:1px solid #ccc;padding:4px 0}
#findings td{display:block;border:0;padding:1px 4px}}
@page{size:A4;margin:14mm 12mm}
@media print{body{max-width:none;padding:0;font-size:10.5pt}.tw{overflow:visible}svg.chart{max-height:90mm}
h2{break-after:avoid;page-break-after:avoid}}
]]

local function section(id, title, body)
  return string.format('<section id="%s">\n<h2>%s</h2>\n%s\n</section>', id, M.escape(title), body)
end

local function tokens_table(t)
  local rows = { '<div class="tw"><table id="tokens"><thead><tr>'
    .. '<th>tokens</th><th class="n">count</th></tr></thead><tbody>' }
  for _, f in ipairs { { "uncached_input_tokens", "input (uncached)" }, { "cache_read_input_tokens", "cache reads" },
                       { "cache_creation_input_tokens", "cache writes" }, { "input_tokens", "input in all" },
                       { "output_tokens", "output" } } do
    rows[#rows + 1] = string.format('<tr data-field="%s" data-total="%s"><td>%s</td><td class="n">%s</td></tr>', f[1],
      num(t[f[1]] or 0), f[2], shown(nil, t[f[1]] or 0))
  end
  rows[#rows + 1] = "</tbody></table></div>"
  return table.concat(rows, "\n")
end

local KIND_ORDER = { rotation = 1, idle = 2, inactive = 3 }

local function findings_table(findings)
  if #findings == 0 then return '<p id="findings-none" class="none">No key needs attention.</p>' end
  local list = {}
  for i, f in ipairs(findings) do list[i] = f end
  table.sort(list, function(a, b)
    local ka, kb = KIND_ORDER[a.kind] or 9, KIND_ORDER[b.kind] or 9
    if ka ~= kb then return ka < kb end
    return tostring(a.key_id) < tostring(b.key_id)
  end)
  local rows = { '<div class="tw"><table id="findings"><thead><tr><th>finding</th><th>key</th><th>workspace</th>'
    .. '<th>detail</th></tr></thead><tbody>' }
  for _, f in ipairs(list) do
    local status = f.status or f.kind
    rows[#rows + 1] = string.format('<tr data-kind="%s" data-key-id="%s">'
      .. '<td class="status %s">%s</td><td class="name">%s'
      .. '<br><span class="id">%s</span></td><td class="name">%s</td><td>%s</td></tr>', M.escape(f.kind or ""),
      M.escape(f.key_id or ""), M.escape(status or ""), M.escape((status or ""):gsub("_", " ")), name(f.key or ""),
      name(f.key_id or ""), name(f.workspace or "(default)"), M.escape(f.text or ""))
  end
  rows[#rows + 1] = "</tbody></table></div>"
  return table.concat(rows, "\n")
end

local function card(value, what, id)
  return string.format('<div class="card"%s><b>%s</b><span>%s</span></div>', id and (' id="' .. id .. '"') or "",
    M.escape(value), M.escape(what))
end

--- The page.
function M.render(data)
  local title = data.title or "Anthropic usage and cost report"
  local cost = data.cost or {}
  local body = {}
  local range = string.format("%s to %s", tostring(data.since or "?"), tostring(data["until"] or "?"))
  body[#body + 1] = "<header><h1>" .. M.escape(title) .. '</h1><p class="meta">' .. M.escape(range)
    .. (data.generated_at and (" &middot; generated " .. M.escape(data.generated_at)) or "") .. "</p></header>"
  -- the cards
  local cards = {}
  local main = cost.model or cost.workspace
  if main then cards[#cards + 1] = card(shown(main.unit, main.total or 0), "spent in the range", "card-cost") end
  if data.usage then cards[#cards + 1] = card(shown(nil, data.usage.total or 0), "tokens", "card-tokens") end
  local cache_svg, input, read
  if data.cache then
    cache_svg, input, read = M.cache_chart(data.cache)
    cards[#cards + 1] = card(input > 0 and string.format("%.1f%%", 100 * read / input) or "-", "cache hit rate",
      "card-cache")
  end
  if data.budget then
    cards[#cards + 1] = card(string.format("%s%%", data.budget.percent and string.format("%.1f", data.budget.percent)
      or "-"), "of the month's budget (" .. usd(tonumber(data.budget.limit_usd) or 0) .. ")", "card-budget")
  end
  if data.findings then cards[#cards + 1] = card(tostring(#data.findings), "key findings", "card-findings") end
  body[#body + 1] = '<div class="cards">' .. table.concat(cards) .. "</div>"
  local charts = {
    { "model", "Cost by day and model" }, { "workspace", "Cost per workspace" }, { "api_key", "Cost per API key" },
    { "actor", "Cost per actor" },
  }
  for _, c in ipairs(charts) do
    local s = cost[c[1]]
    local slug = (c[1]:gsub("_", "-"))
    if s then body[#body + 1] = section("cost-" .. slug, c[2], M.bars("chart-cost-" .. slug, s, c[2])) end
  end
  if data.usage or data.tokens then
    local parts = {}
    if data.usage then parts[#parts + 1] = M.bars("chart-usage", data.usage, "Tokens by day and model") end
    if data.tokens then parts[#parts + 1] = tokens_table(data.tokens) end
    body[#body + 1] = section("usage", "Token usage", table.concat(parts, "\n"))
  end
  if cache_svg then
    body[#body + 1] = section("cache", "Cache hit rate", '<p>Cache reads as a share of input tokens (uncached input, '
      .. "cache reads and cache writes), by day: " .. shown(nil, read) .. " of " .. shown(nil, input) .. ".</p>\n"
      .. cache_svg)
  end
  if data.budget then
    local b = data.budget
    body[#body + 1] = section("budget", "Budget burn-down", string.format('<p class="%s">%s: %s of %s spent in %s '
      .. '(%s%%); projected %s by the end of the month%s. Budget from %s.</p>\n', M.escape(b.status or "ok"),
      M.escape((b.status or "ok"):upper()), usd(tonumber(b.spent_usd) or 0), usd(tonumber(b.limit_usd) or 0),
      M.escape(b.month or ""), b.percent and string.format("%.1f", b.percent) or "-",
      usd(tonumber(b.projected_usd) or 0), b.projected_over and " (over the budget)" or "", M.escape(b.source or "?"))
      .. M.budget_chart(b))
  elseif data.budget_note then
    body[#body + 1] = section("budget", "Budget burn-down", '<p class="none">' .. M.escape(data.budget_note) .. "</p>")
  end
  if data.findings then
    body[#body + 1] = section("keys", "Key rotation", (data.findings_note and ("<p>" .. M.escape(data.findings_note)
      .. "</p>\n") or "") .. findings_table(data.findings))
  end
  return table.concat({
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>" .. M.escape(title) .. "</title>",
    "<style>" .. M.CSS .. "</style>",
    "</head>",
    "<body>",
    table.concat(body, "\n"),
    "</body>",
    "</html>",
  }, "\n") .. "\n"
end

return M
