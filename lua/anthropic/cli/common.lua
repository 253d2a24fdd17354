-- What the Admin API commands (keys, workspaces, members, users, invites, limits, usage, cost)
-- share: flag parsing, aligned tables, JSON output, the admin client and exit codes
-- (0 ok, 1 error, 2 usage). A command module is
--   return common.command { name =, usage =, default =, subcommands = {...}, unsupported = {...} }
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

M.OK, M.ERROR, M.USAGE = 0, 1, 2

local SECRET_FLAGS = { ["api-key"] = true, api_key = true, ["admin-key"] = true, key = true }

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
      if a:sub(1, 1) == "-" and #a > 1 then return nil, "unknown option " .. a end
      positional[#positional + 1] = a
    elseif SECRET_FLAGS[name] then
      return nil, "keys are never given on the command line; set ANTHROPIC_ADMIN_KEY in the environment"
    else
      local kind = name == "help" and "boolean" or flags[name]
      if not kind then return nil, "unknown option --" .. name end
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

--- rows (array of objects) and columns -> aligned text, one header line and one line per row.
function M.table(rows, columns)
  local grid = { {} }
  for j, c in ipairs(columns) do grid[1][j] = c[1] end
  for _, row in ipairs(rows) do
    local line = {}
    for j, c in ipairs(columns) do
      local get = c[2]
      line[j] = cell(type(get) == "function" and get(row) or row[get])
    end
    grid[#grid + 1] = line
  end
  local widths = {}
  for _, line in ipairs(grid) do
    for j, s in ipairs(line) do widths[j] = math.max(widths[j] or 0, width(s)) end
  end
  local out = {}
  for _, line in ipairs(grid) do
    local parts = {}
    for j, s in ipairs(line) do
      local pad = string.rep(" ", widths[j] - width(s))
      if columns[j].right then
        parts[j] = pad .. s
      else
        parts[j] = j < #line and (s .. pad) or s
      end
    end
    out[#out + 1] = table.concat(parts, "  ")
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
  local out = M.table(rows, { { "", 1 }, { "", 2 } })
  return (out:gsub("^[^\n]*\n", "")) -- no header line
end

-- Fields the Admin API gives as arrays: decoded, an empty one is an empty table like an empty
-- object, so these names say which to print as [].
local ARRAY_FIELDS = { data = true, results = true, rows = true, limits = true, models = true,
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
function M.date(field)
  return function(row)
    local v = row[field]
    return type(v) == "string" and (v:gsub("%.%d+", ""):gsub("T", " "):gsub("Z$", "")) or v
  end
end

function M.workspace(row)
  return require("anthropic.shapes").key_workspace_id(row) or "(default)"
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

-- The message of an error raised by the library for a bad argument, without the position.
local function raised_message(e)
  if type(e) ~= "string" then return tostring(e) end
  return (e:gsub("^[^:\n]*%.lua:%d+: ", ""))
end

--- The client options the global flags set (cli/init.lua: --api-version, --profile), for every command's
-- clients.
M.globals = {}

function M.client_options()
  return { api_version = M.globals.api_version, profile = M.globals.profile }
end

--- An admin client from the environment (ANTHROPIC_ADMIN_KEY, ANTHROPIC_BASE_URL).
function M.admin()
  return require("anthropic").admin(M.client_options())
end

--- A list subcommand's params: the page size follows --limit (at most 1000).
function M.page_params(opts, params)
  params = params or {}
  if opts.limit then params.limit = math.min(opts.limit, 1000) end
  return params
end

function M.command(def)
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
    if not spec then return fail(def.name, M.USAGE, "unknown subcommand '" .. sub .. "'", true) end
    local flags = { json = "boolean" }
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
    local made, admin = pcall(M.admin)
    if not made then return fail(def.name .. " " .. sub, M.ERROR, raised_message(admin)) end
    local ok, value, view = pcall(spec.run, admin, opts, positional)
    admin:close()
    if not ok then return fail(def.name .. " " .. sub, M.USAGE, raised_message(value), true) end
    if value == nil then return fail(def.name .. " " .. sub, M.ERROR, tostring(view)) end
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
