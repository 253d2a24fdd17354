-- `anthropic batch submit|status|list|results|cancel`: Message Batches from the shell, for jobs of
-- any size: a JSONL file of requests is checked whole (line numbers) before anything is sent,
-- split into API-sized batches, submitted once (a state file the user names records each batch as
-- it is made, so an interrupted run resumes without submitting twice), waited for with progress,
-- and its results written as JSONL. See docs/batches.md#the-anthropic-batch-command.
local common = require "anthropic.cli.common"
local json = require "anthropic.json"
local versions = require "anthropic.versions"
local fields = require "anthropic.fields"

local USAGE = [[
usage: anthropic batch submit REQUESTS.jsonl [--state FILE] [--wait] [--out FILE] [--order input|arrival]
       anthropic batch status ID... | --state FILE [--json]
       anthropic batch list [--limit N] [--json]
       anthropic batch results ID... | --state FILE [--out FILE] [--order input|arrival]
       anthropic batch cancel ID... | --state FILE

  submit FILE       one request a line: {"custom_id": "q1", "params": {<a Messages request>}}; every
                    line is checked first (JSON, custom_id, params, what the API version refuses):
                    a bad line is reported with its number and nothing is sent (exit 2). The
                    requests go in batches of at most 100,000 requests and 256 MB each.
  --state FILE      record the batches made (written after each one): run the same command again
                    after an interruption and it goes on from there, submitting nothing twice
  --wait            wait until every batch has ended, showing progress (a bar on a terminal, one
                    line per change otherwise), then write the results
  --interval S      seconds between polls while waiting (default 5)
  --out FILE        write the results there as JSONL (default: standard output)
  --order O         input: the results in the order of the input lines (default with --state;
                    one batch's results are held at a time); arrival: as they come from the
                    API (nothing held: flat memory for any size)
  --max-requests N  at most N requests a batch (default and most 100,000)
  --json            status and list: the API's objects as JSON
  --wide            every column, nothing cut to the terminal's width

The key comes from ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN).
]]

local MAX_REQUESTS, MAX_BYTES = 100000, 256 * 1000 * 1000
local CUSTOM_ID = "^[%w_%-]+$"

local function fail(code, msg, usage)
  io.stderr:write("anthropic batch: ", msg, "\n")
  if usage then io.stderr:write("Run `anthropic batch --help` for usage.\n") end
  return code
end

---------------------------------------------------------------------------------------------------
-- Reading and checking the input

-- Every line is checked, but no request is kept: a chunk is where its lines are (the byte offset
-- of its first line), and chunk_requests reads them again when the chunk is submitted, so a
-- 500,000-request input costs one batch's requests in memory, not all of them.
-- -> chunks { { first =, last =, offset =, count = } }, ids in input order
--  | nil, problems (an array of "FILE:N: ..." lines)
local function read_input(path, api_version, max_requests)
  local f, err = io.open(path, "rb")
  if not f then return nil, { "cannot read " .. path .. ": " .. tostring(err) } end
  local problems, seen, order = {}, {}, {}
  local chunks, cur, bytes = {}, nil, 0
  local n = 0
  while true do
    local at = f:seek()
    local line = f:read("*l")
    if not line then break end
    n = n + 1
    local function bad(msg)
      if #problems < 50 then problems[#problems + 1] = string.format("%s:%d: %s", path, n, msg) end
    end
    if line:match("%S") then
      local r, why = json.decode(line)
      if type(r) ~= "table" then
        bad("not a JSON object (" .. tostring(why or "a " .. type(r)) .. ")")
      else
        local id = r.custom_id
        if type(id) ~= "string" or #id < 1 or #id > 64 or not id:match(CUSTOM_ID) then
          bad("custom_id must be 1 to 64 letters, digits, _ or - (got "
            .. (type(id) == "string" and string.format("%q", id:sub(1, 80)) or type(id)) .. ")")
        elseif seen[id] then
          bad(string.format("custom_id %q is used already, on line %d (each must be unique)", id, seen[id]))
        else
          seen[id] = n
          order[#order + 1] = id
        end
        for k in pairs(r) do
          if k ~= "custom_id" and k ~= "params" then
            bad("unknown field " .. tostring(k) .. " (give custom_id and params)")
          end
        end
        local p = r.params
        if type(p) ~= "table" then
          bad("params must be a Messages request object (got " .. type(p) .. ")")
        elseif p.stream ~= nil then
          bad("params.stream is not allowed in a batch")
        else
          local refused = versions.refusal(api_version, p) or fields.refusal(p)
          if refused then bad("params: " .. refused) end
          if type(p.model) ~= "string" then bad("params.model must be a model name") end
          if math.type(p.max_tokens) ~= "integer" then bad("params.max_tokens must be a whole number") end
          if type(p.messages) ~= "table" then bad("params.messages must be a list of messages") end
        end
        if #problems == 0 then
          if not cur or cur.count >= max_requests or bytes + #line + 1 > MAX_BYTES then
            cur = { first = n, offset = at, count = 0 }
            chunks[#chunks + 1] = cur
            bytes = 20
          end
          cur.count = cur.count + 1
          cur.last = n
          bytes = bytes + #line + 1
        end
      end
    end
  end
  f:close()
  if #problems == 0 and #order == 0 then problems[1] = path .. ": no requests in the file" end
  if #problems > 0 then return nil, problems end
  return chunks, order
end

-- The requests of one chunk, read again from the input. -> list | nil, message
local function chunk_requests(path, chunk)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot read " .. path .. ": " .. tostring(err) end
  f:seek("set", chunk.offset)
  local list, n = {}, chunk.first - 1
  while n < chunk.last do
    local line = f:read("*l")
    if not line then break end
    n = n + 1
    if line:match("%S") then
      local r = json.decode(line)
      if type(r) ~= "table" then break end
      list[#list + 1] = { custom_id = r.custom_id, params = r.params }
    end
  end
  f:close()
  if #list ~= chunk.count then
    return nil, string.format("%s changed while it was read (lines %d-%d); nothing more was submitted", path,
      chunk.first, chunk.last)
  end
  return list
end

---------------------------------------------------------------------------------------------------
-- The state file: { format = 1, input = PATH, batches = { { id, first, last, count } } }

local function read_state(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local doc = json.decode(text)
  if type(doc) ~= "table" or doc.format ~= 1 or type(doc.batches) ~= "table" then
    return nil, path .. ": not a state file of anthropic batch (remove it, or name another with --state)"
  end
  return doc
end

local function write_state(path, doc)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, "cannot write the state file " .. tmp .. ": " .. tostring(err) end
  f:write(common.encode(doc), "\n")
  f:close()
  local ok, rerr = os.rename(tmp, path) -- whole or not at all
  if not ok then return nil, "cannot write the state file " .. path .. ": " .. tostring(rerr) end
  return true
end

---------------------------------------------------------------------------------------------------
-- Waiting, with progress

local KINDS = { "processing", "succeeded", "errored", "canceled", "expired" }

local function totals(batches)
  local t = { processing = 0, succeeded = 0, errored = 0, canceled = 0, expired = 0, ended = 0 }
  for _, b in ipairs(batches) do
    for _, k in ipairs(KINDS) do t[k] = t[k] + ((b.request_counts or {})[k] or 0) end
    if b.processing_status == "ended" then t.ended = t.ended + 1 end
  end
  return t
end

local function progress_line(t, n, elapsed)
  local parts = {}
  for _, k in ipairs(KINDS) do parts[#parts + 1] = k .. " " .. common.group(t[k]) end
  return string.format("%d/%d batches ended; %s; %ds", t.ended, n, table.concat(parts, ", "), math.floor(elapsed))
end

local function bar(t, n, elapsed, width)
  local total = 0
  for _, k in ipairs(KINDS) do total = total + t[k] end
  local done = total - t.processing
  local text = progress_line(t, n, elapsed)
  local room = math.max(10, math.min(40, (width or 80) - #text - 4))
  local fill = total > 0 and math.floor(room * done / total) or 0
  return "\r[" .. ("#"):rep(fill) .. ("."):rep(room - fill) .. "] " .. text
end

local function wait_all(client, ids, interval)
  local core = require "anthropic.core"
  local tasks = require "anthropic.tasks"
  local tty = common.stdout_is_tty() and os.execute("test -t 2") == true
  local start, last = core.now(), nil
  while true do
    local batches = {}
    for i, id in ipairs(ids) do
      local b, err = client.batches:get(id)
      if not b then return nil, err end
      batches[i] = b
    end
    local t = totals(batches)
    local line = progress_line(t, #ids, 0)
    if tty then
      io.stderr:write(bar(t, #ids, core.now() - start, common.terminal_width()))
    elseif line ~= last then
      io.stderr:write(progress_line(t, #ids, core.now() - start), "\n")
    end
    last = line
    if t.ended == #ids then
      if tty then io.stderr:write("\n") end
      return batches
    end
    tasks.sleep(interval)
  end
end

---------------------------------------------------------------------------------------------------
-- Results

-- Writes the results of the batches to out, each batch's read as it arrives (batches:results):
-- in input order (order = the custom_ids in input order; counts[i] = how many of them batch i
-- has, in turn: one batch's lines are held at a time, written in order once it is read) or, with
-- no order, as they arrive (nothing held).
local function write_results(client, ids, out, order, counts)
  local n, at = 0, 0
  for i, id in ipairs(ids) do
    local pending = order and {}
    for line in client.batches:results(id) do
      if pending then
        pending[line.custom_id] = common.encode(line)
      else
        out:write(common.encode(line), "\n")
      end
      n = n + 1
    end
    if pending then
      local last = counts and counts[i] and at + counts[i] or #order
      for k = at + 1, last do
        local cid = order[k]
        if pending[cid] then
          out:write(pending[cid], "\n")
          pending[cid] = nil
        end
      end
      for _, text in pairs(pending) do out:write(text, "\n") end -- (an id not in the input: last)
      at = last
    end
  end
  return n
end

---------------------------------------------------------------------------------------------------

local FLAGS = { state = "string", wait = "boolean", out = "string", order = "string", interval = "string",
  ["max-requests"] = "number", json = "boolean", wide = "boolean", limit = "number" }

local function api_version()
  return common.globals.api_version or os.getenv("ANTHROPIC_API_VERSION") or versions.DEFAULT
end

local function ids_of(opts, pos)
  if #pos > 0 then return pos end
  if opts.state then
    local st, err = read_state(opts.state)
    if not st then return nil, err or (opts.state .. ": no such state file") end
    local ids = {}
    for i, b in ipairs(st.batches) do ids[i] = b.id end
    return ids, nil, st
  end
  return nil, "give batch ids, or --state FILE"
end

local function open_out(path)
  if not path or path == "-" then return io.stdout, false end
  local f, err = io.open(path, "wb")
  if not f then return nil, "cannot write " .. path .. ": " .. tostring(err) end
  return f, true
end

local COLUMNS = {
  { "ID", "id", fixed = true }, { "STATUS", "processing_status", fixed = true },
  { "PROCESSING", function(b) return b.request_counts.processing end, right = true },
  { "SUCCEEDED", function(b) return b.request_counts.succeeded end, right = true },
  { "ERRORED", function(b) return b.request_counts.errored end, right = true },
  { "CANCELED", function(b) return b.request_counts.canceled end, right = true, drop = 1 },
  { "EXPIRED", function(b) return b.request_counts.expired end, right = true, drop = 2 },
  { "CREATED", common.date("created_at"), fixed = true, drop = 3 },
}

local function show(batches, opts)
  if opts.json then
    io.stdout:write(common.encode(batches, true), "\n")
  elseif #batches == 0 then
    io.stdout:write("(no batches)\n")
  else
    io.stdout:write(common.table(batches, COLUMNS))
  end
end

local function results(client, opts, ids, order, counts)
  local out, own = open_out(opts.out)
  if not out then return fail(common.ERROR, own) end
  local ok, n = pcall(write_results, client, ids, out, opts.order ~= "arrival" and order or nil, counts)
  if own then out:close() end
  if not ok then
    if common.is_interrupt(n) then error(n, 0) end
    return fail(common.ERROR, common.shell_message(n))
  end
  if own then io.stderr:write("anthropic batch: ", common.group(n), " results written to ", opts.out, "\n") end
  return common.OK
end

local function submit(client, opts, path)
  local chunks, order = read_input(path, api_version(), opts.max_requests or MAX_REQUESTS)
  if not chunks then
    for _, p in ipairs(order) do io.stderr:write("anthropic batch submit: ", p, "\n") end
    io.stderr:write("anthropic batch submit: nothing was submitted\n")
    return common.USAGE
  end
  local state = { format = 1, input = path, batches = {} }
  if opts.state then
    local st, err = read_state(opts.state)
    if err then return fail(common.ERROR, err) end
    if st then
      if st.input ~= path or #st.batches > #chunks then
        return fail(common.ERROR, string.format("%s records a run over %s in %d batches; this input makes %d: "
          .. "name another state file", opts.state, tostring(st.input), #st.batches, #chunks))
      end
      state = st
    end
  end
  for i, chunk in ipairs(chunks) do
    local done = state.batches[i]
    if done then
      if done.first ~= chunk.first or done.last ~= chunk.last then
        return fail(common.ERROR, opts.state .. ": batch " .. i .. " covered other lines; name another state file")
      end
      io.stderr:write(string.format("batch %d/%d (lines %d-%d): %s, submitted before\n", i, #chunks, chunk.first,
        chunk.last, done.id))
    else
      local list, lerr = chunk_requests(path, chunk)
      if not list then return fail(common.ERROR, lerr) end
      local b, err = client.batches:create { requests = list }
      list = nil -- luacheck: ignore 311 (the next chunk's requests need not meet these)
      if not b then
        return fail(common.ERROR, string.format("batch %d/%d (lines %d-%d): %s%s", i, #chunks, chunk.first, chunk.last,
          common.shell_message(err), i > 1 and opts.state and ("; run the same command again to go on from "
          .. "batch " .. i) or ""))
      end
      state.batches[i] = { id = b.id, first = chunk.first, last = chunk.last, count = chunk.count }
      if opts.state then
        local ok, werr = write_state(opts.state, state)
        if not ok then return fail(common.ERROR, werr) end
      end
      io.stderr:write(string.format("batch %d/%d (lines %d-%d, %s requests): %s\n", i, #chunks, chunk.first,
        chunk.last, common.group(chunk.count), b.id))
      if not opts.wait and not opts.state then io.stdout:write(b.id, "\n") end
    end
  end
  if not opts.wait then
    if opts.state then
      for _, b in ipairs(state.batches) do io.stdout:write(b.id, "\n") end
    end
    return common.OK
  end
  local ids, counts = {}, {}
  for i, b in ipairs(state.batches) do ids[i], counts[i] = b.id, b.count end
  local _, err = wait_all(client, ids, tonumber(opts.interval) or 5)
  if err then return fail(common.ERROR, common.shell_message(err)) end
  return results(client, opts, ids, order, counts)
end

return function(args)
  local sub = args[1]
  if sub == nil or sub == "-h" or sub == "--help" or sub == "help" then
    io.stdout:write(USAGE)
    return sub == nil and common.USAGE or common.OK
  end
  local rest = {}
  for i = 2, #args do rest[#rest + 1] = args[i] end
  local subs = { "submit", "status", "list", "results", "cancel" }
  local known = false
  for _, s in ipairs(subs) do known = known or s == sub end
  if not known then return fail(common.USAGE, common.unknown("subcommand", sub, subs), true) end
  local opts, pos = common.parse(rest, FLAGS)
  if not opts then return fail(common.USAGE, pos, true) end
  if opts.help then
    io.stdout:write(USAGE)
    return common.OK
  end
  if opts.order and opts.order ~= "input" and opts.order ~= "arrival" then
    return fail(common.USAGE, "--order is input or arrival (got " .. opts.order .. ")", true)
  end
  if opts.interval and not (tonumber(opts.interval) and tonumber(opts.interval) >= 0) then
    return fail(common.USAGE, "--interval needs a number of seconds >= 0", true)
  end
  if opts.max_requests and opts.max_requests > MAX_REQUESTS then
    return fail(common.USAGE, "--max-requests is at most 100000 (the API's limit)", true)
  end
  if sub == "submit" and #pos ~= 1 then return fail(common.USAGE, "submit needs one REQUESTS.jsonl file", true) end
  local made, client = pcall(common.api)
  if not made then return fail(common.ERROR, common.shell_message(client)) end
  common.display = { width = common.terminal_width(), wide = opts.wide, color = common.color() }
  local ok, code = pcall(function()
    if sub == "submit" then return submit(client, opts, pos[1]) end
    if sub == "list" then
      local items, err = client.batches:list(common.page_params(opts)):all(opts.limit)
      if not items then return fail(common.ERROR, common.shell_message(err)) end
      show(items, opts)
      return common.OK
    end
    local ids, err, st = ids_of(opts, pos)
    if not ids then return fail(common.USAGE, err, true) end
    if sub == "results" then
      local order, counts
      if st and opts.order ~= "arrival" then
        local _, o = read_input(st.input, api_version(), MAX_REQUESTS)
        order = type(o) == "table" and type(o[1]) == "string" and o or nil
        counts = {}
        for i, b in ipairs(st.batches) do counts[i] = b.count end
      end
      return results(client, opts, ids, order, counts)
    end
    local list = {}
    for _, id in ipairs(ids) do
      local b, berr
      if sub == "cancel" then b, berr = client.batches:cancel(id) else b, berr = client.batches:get(id) end
      if not b then return fail(common.ERROR, id .. ": " .. common.shell_message(berr)) end
      list[#list + 1] = b
    end
    show(list, opts)
    return common.OK
  end)
  client:close()
  if not ok then
    if common.is_interrupt(code) then
      return common.interrupted("batch " .. sub, sub == "submit" and opts.state
        and ("run the same command again to go on from " .. opts.state .. " (nothing is submitted twice)") or nil)
    end
    error(code, 0)
  end
  return code
end
