-- What the Admin API commands (keys, workspaces, members, users, invites, limits, usage, cost)
-- share: flag parsing, aligned tables, JSON output, the admin client and exit codes
-- (0 ok, 1 error, 2 usage). A command module is
--   return common.command { name =, usage =, default =, subcommands = {...}, unsupported = {...},
--                           client = "api" (a Messages API client; default: the admin client) }
-- where each subcommand is { args = { "NAME", ... }, flags = { name = kind }, run = fn } and
--   run(admin, opts, args) -> value, view | nil, err
-- view = { columns = {...} } prints value (an array) as a table, { fields = {...} } prints one
-- object as "name  value" lines, { text = "..." } prints text; --json prints view.json if given,
-- else value, as JSON.
-- A column is { "HEADER", "field" } or { "HEADER", function(row) -> string }; right = true
-- aligns it to the right (numbers).
local json = require "anthropic.json"
local names = require "anthropic.names"
local reports = require "anthropic.reports"

local M = {}

-- Exit codes (the table in docs/cli.md): 130 is what a shell reports for a command ended by SIGINT.
M.OK, M.ERROR, M.USAGE, M.INTERRUPTED = 0, 1, 2, 130

--- The closest of `candidates` (an array of strings) to `word`, when it is close enough to be
-- what was meant (edit distance at most 2, or a third of the word), else nil.
function M.suggest(word, candidates)
  local function distance(a, b)
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
      local cur = { [0] = i }
      for j = 1, #b do
        local cost = a:byte(i) == b:byte(j) and 0 or 1
        cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      end
      prev = cur
    end
    return prev[#b]
  end
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word, c)
    if #word >= 3 and c:sub(1, #word) == word then d = math.min(d, 1) end -- a prefix
    if not best_d or d < best_d or (d == best_d and c < best) then best, best_d = c, d end
  end
  if best and best_d <= math.max(2, #word // 3) and best_d < #word then return best end
end

--- "unknown X 'word'" with a suggestion from candidates when one is close.
function M.unknown(what, word, candidates, prefix)
  prefix = prefix or ""
  local guess = M.suggest(word, candidates)
  return "unknown " .. what .. " '" .. prefix .. word .. "'" .. (guess and ("; did you mean '" .. prefix .. guess
    .. "'?") or "")
end

--- Whether an error value is the interrupt the Lua interpreter raises on SIGINT ("interrupted!").
function M.is_interrupt(e)
  return type(e) == "string" and e:match("interrupted!$") ~= nil
end

local SECRET_FLAGS = { ["api-key"] = true, api_key = true, ["admin-key"] = true, key = true }

--- "unknown option '--x'" with the closest of the flags (a name -> kind map) suggested.
function M.unknown_option(a, flags)
  local known = { "help" }
  for k in pairs(flags) do known[#known + 1] = k end
  return M.unknown("option", (a:gsub("^%-+", "")), known, "--")
end

--- Parse flags: kinds "string", "number", "boolean", "list" (repeatable and comma-separated).
-- -> opts (dashes in names become underscores), positional | nil, message
function M.parse(args, flags)
  local opts, positional = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do positional[#positional + 1] = args[j] end
      break
    end
    local name, value = a:match("^%-%-([%w_-]+)=(.*)$")
    name = name or a:match("^%-%-([%w_-]+)$")
    if a == "-h" then name = "help" end
    if not name then
      if a:sub(1, 1) == "-" and #a > 1 then return nil, M.unknown_option(a, flags) end
      positional[#positional + 1] = a
    elseif SECRET_FLAGS[name] then
      return nil, "keys are never given on the command line; set ANTHROPIC_ADMIN_KEY in the environment"
    else
      local kind = name == "help" and "boolean" or flags[name]
      if not kind then return nil, M.unknown_option("--" .. name, flags) end
      local key = name:gsub("-", "_")
      if kind == "boolean" then
        if value ~= nil then return nil, "--" .. name .. " takes no value" end
        opts[key] = true
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then return nil, "--" .. name .. " needs a value" end
        end
        if kind == "number" then
          local n = tonumber(value)
          if not n or n ~= math.floor(n) or n < 1 then return nil, "--" .. name .. " needs a whole number >= 1" end
          opts[key] = math.floor(n)
        elseif kind == "list" then
          opts[key] = opts[key] or {}
          for item in value:gmatch("[^,]+") do opts[key][#opts[key] + 1] = item end
        else
          opts[key] = value
        end
      end
    end
    i = i + 1
  end
  return opts, positional
end

--- The start of a command that takes flags and no arguments: -> opts, or nil and the exit code
-- (after printing the usage for --help or a mistake).
function M.parse_no_args(args, name, flags, usage)
  local opts, positional = M.parse(args, flags)
  if not opts then
    io.stderr:write("anthropic ", name, ": ", positional, "\n", usage)
    return nil, M.USAGE
  end
  if opts.help then
    io.stdout:write(usage)
    return nil, M.OK
  end
  if #positional > 0 then
    io.stderr:write("anthropic ", name, ": takes no arguments\n", usage)
    return nil, M.USAGE
  end
  return opts
end

---------------------------------------------------------------------------------------------------
-- Output

-- A value as shown in a table: what could mislead (control characters, a right-to-left
-- override, ...) escaped, as names.display does.
local function cell(v)
  if v == nil then return "-" end
  return names.display(tostring(v))
end

--- Raises a usage error when `name` cannot be a name (names.check), saying what to fix.
function M.check_name(what, name)
  local why = names.check(name)
  if why then error(what .. " " .. names.quote(name) .. " " .. why, 0) end
  return name
end

-- UTF-8 characters, not bytes, for the column width
local function width(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

--- A whole number as text with its digits grouped by three ("1,234,567"); a decimal keeps its
-- fraction ("1,234.50"). Other text is returned as it is.
function M.group(s)
  s = tostring(s)
  local sign, int, frac = s:match("^(%-?)(%d+)(%.?%d*)$")
  if not int or #int <= 3 then return s end
  local head = #int % 3
  local parts = { head > 0 and int:sub(1, head) or nil }
  for i = head + 1, #int, 3 do parts[#parts + 1] = int:sub(i, i + 2) end
  return sign .. table.concat(parts, ",") .. frac
end

-- Whether standard output is a terminal (asked once).
local stdout_tty
function M.stdout_is_tty()
  if stdout_tty == nil then stdout_tty = os.execute("test -t 1") == true end
  return stdout_tty
end

--- How wide tables may be: COLUMNS when it is set to a number, else the terminal's width (tput)
-- when standard output is a terminal, else nil (no limit: a pipe or a file gets whole lines).
function M.terminal_width()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n >= 20 then return math.floor(n) end
  if not M.stdout_is_tty() then return nil end
  local p = io.popen("command -v tput >/dev/null && tput cols")
  local out = p and p:read("*a") or ""
  if p then p:close() end
  n = tonumber(out:match("%d+") or "")
  return n and n >= 20 and n or nil
end

--- Whether to color output: only on a terminal, never with NO_COLOR set (https://no-color.org)
-- or TERM=dumb.
function M.color()
  local no = os.getenv("NO_COLOR")
  return M.stdout_is_tty() and (no == nil or no == "") and os.getenv("TERM") ~= "dumb"
end

--- How the command runner shows tables: width (nil: no limit), wide (every column, nothing cut),
-- color. Set from the terminal and --wide before a subcommand runs.
M.display = {}

-- s cut to w characters, the last one an ellipsis
local cut = names.cut

--- rows (array of objects) and columns -> aligned text, one header line and one line per row.
-- A column with wide = true is shown only with --wide (display.wide). When display.width is set
-- and the table is wider, the widest text columns (left-aligned, not fixed = true: ids and
-- numbers stay whole) are cut with an ellipsis, down to the width of their header (at least 6);
-- when that is not enough, columns with drop = n are left out, the highest n first (--wide
-- shows them). Without a width (a pipe, no COLUMNS) nothing is cut or left out.
-- Right-aligned cells that are numbers have their digits grouped (group = false: as they are).
function M.table(rows, columns, display)
  display = display or M.display
  local shown = {}
  for _, c in ipairs(columns) do
    if display.wide or not c.wide then shown[#shown + 1] = c end
  end
  columns = shown
  local grid = { {} }
  for j, c in ipairs(columns) do grid[1][j] = c[1] end
  for _, row in ipairs(rows) do
    local line = {}
    for j, c in ipairs(columns) do
      local get = c[2]
      local v = cell(type(get) == "function" and get(row) or row[get])
      if c.right and c.group ~= false then v = M.group(v) end
      line[j] = v
    end
    grid[#grid + 1] = line
  end
  local widths = {}
  for _, line in ipairs(grid) do
    for j, s in ipairs(line) do widths[j] = math.max(widths[j] or 0, width(s)) end
  end
  local limit = not display.wide and display.width
  local keep = {}
  for j = 1, #columns do keep[j] = true end
  while limit do
    local natural = {}
    for j, w in ipairs(widths) do natural[j] = w end
    local total = -2
    for j, w in ipairs(widths) do
      if keep[j] then total = total + w + 2 end
    end
    while total > limit do
      local pick, most = nil, 0
      for j, c in ipairs(columns) do
        local floor = math.max(width(c[1]), 6)
        if keep[j] and not c.right and not c.fixed and widths[j] > floor and widths[j] > most then
          pick, most = j, widths[j]
        end
      end
      if not pick then break end
      widths[pick] = widths[pick] - 1
      total = total - 1
    end
    if total <= limit then break end
    -- still too wide: leave out the column that says to go first (highest drop), and fit again
    local drop
    for j, c in ipairs(columns) do
      if keep[j] and c.drop and (not drop or c.drop > columns[drop].drop) then drop = j end
    end
    if not drop then break end
    keep[drop] = false
    widths = natural
  end
  if limit then
    local kept, kept_widths, kept_grid = {}, {}, {}
    for j, c in ipairs(columns) do
      if keep[j] then
        kept[#kept + 1] = c
        kept_widths[#kept] = widths[j]
      end
    end
    for i, line in ipairs(grid) do
      local l = {}
      for j, v in ipairs(line) do
        if keep[j] then l[#l + 1] = v end
      end
      kept_grid[i] = l
    end
    columns, widths, grid = kept, kept_widths, kept_grid
  end
  local out = {}
  for i, line in ipairs(grid) do
    local parts = {}
    for j, s in ipairs(line) do
      s = cut(s, widths[j])
      local pad = string.rep(" ", widths[j] - width(s))
      if columns[j].right then
        parts[j] = pad .. s
      else
        parts[j] = j < #line and (s .. pad) or s
      end
    end
    local text = table.concat(parts, "  ")
    if i == 1 and display.color then text = "\27[1m" .. text .. "\27[0m" end
    out[#out + 1] = text
  end
  return table.concat(out, "\n") .. "\n"
end

--- One object as aligned "NAME  value" lines (the columns as fields).
function M.fields(obj, columns)
  local rows = {}
  for _, c in ipairs(columns) do
    local get = c[2]
    rows[#rows + 1] = { c[1], cell(type(get) == "function" and get(obj) or obj[get]) }
  end
  local out = M.table(rows, { { "", 1, fixed = true }, { "", 2 } }, { width = M.display.width,
    wide = M.display.wide })
  return (out:gsub("^[^\n]*\n", "")) -- no header line
end

-- Fields the Admin API gives as arrays: decoded, an empty one is an empty table like an empty
-- object, so these names say which to print as [].
local ARRAY_FIELDS = { data = true, results = true, rows = true, limits = true, models = true, content = true,
  model_breakdown = true, allowed_inference_geos = true, rbac_group_ids = true }

-- JSON with sorted keys (stable output for scripts and diffs); `array` forces [] for an empty list.
local function encode(v, array)
  local t = type(v)
  if t == "table" then
    if #v > 0 or (array and next(v) == nil) then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = encode(x) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do
      local x = v[k]
      if x == nil then x = v[tonumber(k)] end
      parts[i] = json.encode(k) .. ":" .. encode(x, ARRAY_FIELDS[k])
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return assert(json.encode(v))
end
M.encode = encode

--- Column helpers
-- the day of an RFC 3339 time (YYYY-MM-DD)
function M.day(field)
  return function(row)
    local v = row[field]
    return type(v) == "string" and v:match("^%d%d%d%d%-%d%d%-%d%d") or v
  end
end

function M.date(field)
  return function(row)
    local v = row[field]
    return type(v) == "string" and (v:gsub("%.%d+", ""):gsub("T", " "):gsub("Z$", "")) or v
  end
end

function M.workspace(row)
  return require("anthropic.shapes").key_workspace_id(row) or "(default)"
end

--- Names for ids, looked up once per command run: names.workspace(id) and names.user(id) ->
-- the workspace's name ("(default)" for none) or the user's name (else e-mail), the id itself
-- when it is not found or the lookup fails (a table shows what it has rather than fail).
function M.namer(admin)
  local directory = require "anthropic.directory"
  local function workspace(id)
    if id == nil then return "(default)" end
    return directory.name(admin, "workspace", id) or id
  end
  local function user(id)
    if id == nil then return nil end
    return directory.name(admin, "user", id) or id
  end
  return { workspace = workspace, user = user }
end

--- A report's buckets summed with `sum` (reports.usage or reports.cost) by `by`, and in total.
-- -> the rows to show (the total last, keyed "TOTAL"), the rows without it, the total
function M.summed(sum, buckets, by)
  local total = sum(buckets)
  total.key = "TOTAL"
  local rows = by == "total" and {} or reports.rows(sum(buckets, by))
  local shown = {}
  for i, r in ipairs(rows) do shown[i] = r end
  shown[#shown + 1] = total
  return shown, rows, total
end

--- A --from/--to value for a report: RFC 3339, or a date YYYY-MM-DD (midnight UTC). Without
-- one, `default_days` days back from today's midnight UTC (nil when default_days is nil).
function M.time(value, default_days)
  if value then
    if value:match("^%d%d%d%d%-%d%d%-%d%d$") then return value .. "T00:00:00Z" end
    return value
  end
  if default_days then
    local now = os.time()
    return os.date("!%Y-%m-%dT00:00:00Z", now - now % 86400 - default_days * 86400)
  end
end

---------------------------------------------------------------------------------------------------
-- Running a command

local function fail(name, code, msg, usage)
  io.stderr:write("anthropic ", name, ": ", msg, "\n")
  if usage then io.stderr:write("Run `anthropic ", name, " --help` for usage.\n") end
  return code
end

--- An error for the shell: the library's messages for a missing key name the options of
-- anthropic.new() and anthropic.admin(); a shell user sets a variable or picks a profile.
function M.shell_message(err)
  local msg = tostring(err)
  local kind = type(err) == "table" and err.kind
  if (kind == "key" or msg:find("no API key found", 1, true)) and msg:find("no API key found", 1, true) then
    local admin = msg:find("ANTHROPIC_ADMIN_KEY", 1, true)
    local var = admin and "ANTHROPIC_ADMIN_KEY" or "ANTHROPIC_API_KEY"
    return string.format("no %s key found. Set it in the environment (export %s=sk-ant-%s...), read it "
      .. "from a file of mode 600 (--%s FILE), or use a profile of the config file with a key_file or "
      .. "key_command (--profile NAME; docs/profiles.md). Keys are never given as arguments.",
      admin and "Admin API" or "API", var, admin and "admin01-" or "api03-", admin and "admin-key-file" or "key-file")
  end
  msg = msg:gsub("^anthropic: ", "")
  return msg
end

-- The message of an error raised by the library for a bad argument, without the position.
local function raised_message(e)
  if type(e) ~= "string" then return tostring(e) end
  return (e:gsub("^[^:\n]*%.lua:%d+: ", ""))
end

--- What a command does on SIGINT: one line on stderr, exit code 130 (no traceback).
function M.interrupted(name, what)
  io.stdout:flush()
  io.stderr:write("anthropic ", name, ": interrupted", what and (": " .. what) or "", "\n")
  return M.INTERRUPTED
end

--- The client options the global flags set (cli/init.lua: --api-version, --profile,
-- --key-file, --admin-key-file), for every command's clients.
M.globals = {}

--- The global key file flags: a = an argument, nxt = the one after it.
-- -> "key-file" | "admin-key-file" | nil, the file (nil when missing)
function M.key_file_flag(a, nxt)
  if type(a) ~= "string" then return nil end
  for _, name in ipairs { "key-file", "admin-key-file" } do
    if a == "--" .. name then return name, nxt end
    local v = a:match("^%-%-" .. name:gsub("%-", "%%-") .. "=(.*)$")
    if v then return name, v end
  end
end

--- Keeps the global flags. --admin-key-file is also the admin key of the checks and reads that
-- need one beside a Messages client (a profile's workspace, rate_limit = "auto", doctor):
-- profiles.admin_key_file.
function M.set_globals(globals)
  M.globals = globals
  require("anthropic.profiles").admin_key_file = globals.admin_key_file
end

--- kind: "admin" for an Admin API client (--admin-key-file), else a Messages API one (--key-file).
-- The key file is an explicit option: it comes before the environment and the profile, and the
-- library applies its rules to it (a regular file of mode 600 or 400, never echoed: docs/keys.md).
function M.client_options(kind)
  local key_file = M.globals.key_file
  if kind == "admin" then key_file = M.globals.admin_key_file end
  return { api_version = M.globals.api_version, profile = M.globals.profile, key_file = key_file }
end

--- An admin client from the environment (ANTHROPIC_ADMIN_KEY, ANTHROPIC_BASE_URL).
function M.admin()
  return require("anthropic").admin(M.client_options("admin"))
end

--- A Messages API client from the environment (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), for the
-- commands with client = "api".
function M.api()
  return require("anthropic").new(M.client_options())
end

--- A list subcommand's params: the page size follows --limit (at most 1000).
function M.page_params(opts, params)
  params = params or {}
  if opts.limit then params.limit = math.min(opts.limit, 1000) end
  return params
end

--- The definitions given to M.command, by command name (for completion and the man page).
M.defs = {}

function M.command(def)
  M.defs[def.name] = def
  return function(args)
    local sub = args[1]
    if sub == nil or sub:sub(1, 1) == "-" then
      if def.default and not (sub == "-h" or sub == "--help") then
        sub = def.default
      else
        if sub == "-h" or sub == "--help" then
          io.stdout:write(def.usage)
          return M.OK
        end
        io.stderr:write(def.usage)
        return M.USAGE
      end
    else
      local rest = {}
      for i = 2, #args do rest[#rest + 1] = args[i] end
      args = rest
    end
    if sub == "help" then
      io.stdout:write(def.usage)
      return M.OK
    end
    if def.unsupported and def.unsupported[sub] then
      return fail(def.name .. " " .. sub, M.ERROR, def.unsupported[sub])
    end
    local spec = def.subcommands[sub]
    if not spec then
      local known = {}
      for k in pairs(def.subcommands) do known[#known + 1] = k end
      return fail(def.name, M.USAGE, M.unknown("subcommand", sub, known), true)
    end
    local flags = { json = "boolean", wide = "boolean" }
    for k, v in pairs(spec.flags or {}) do flags[k] = v end
    local opts, positional = M.parse(args, flags)
    if not opts then return fail(def.name .. " " .. sub, M.USAGE, positional, true) end
    if opts.help then
      io.stdout:write(def.usage)
      return M.OK
    end
    local want = spec.args or {}
    if #positional ~= #want then
      return fail(def.name .. " " .. sub, M.USAGE, #want == 0 and "takes no arguments"
        or ("needs " .. table.concat(want, " ")), true)
    end
    local made, admin = pcall(def.client == "api" and M.api or M.admin)
    if not made then return fail(def.name .. " " .. sub, M.ERROR, M.shell_message(raised_message(admin))) end
    M.display = { width = M.terminal_width(), wide = opts.wide, color = M.color() }
    local ok, value, view = pcall(spec.run, admin, opts, positional)
    admin:close()
    if not ok and M.is_interrupt(value) then return M.interrupted(def.name .. " " .. sub) end
    if not ok then return fail(def.name .. " " .. sub, M.USAGE, raised_message(value), true) end
    if value == nil then return fail(def.name .. " " .. sub, M.ERROR, M.shell_message(view)) end
    if opts.json then
      local doc = view and view.json or value
      io.stdout:write(encode(doc, view and view.columns ~= nil and next(doc) == nil), "\n")
    elseif view and view.columns then
      if #value == 0 then
        io.stdout:write(view.empty or "(none)", "\n")
      else
        io.stdout:write(M.table(value, view.columns))
      end
    elseif view and view.fields then
      io.stdout:write(M.fields(value, view.fields))
    elseif view and view.text then
      io.stdout:write(view.text)
    end
    return M.OK
  end
end

return M
