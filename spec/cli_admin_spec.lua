-- The Admin API commands (keys, workspaces, members, users, invites, limits, usage, cost) run as a
-- child process against the emulator, with the admin key in the environment only: tables, --json,
-- filters, what the API cannot do, usage errors and exit codes; no output ever holds the key.
local anthropic = require "anthropic"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("anthropic admin commands", function()
  local emu, admin_key, dir
  setup(function()
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { admin_key } }
    dir = util.tmpdir()
  end)
  teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)
  before_each(function() emu:reset() end)

  -- run `anthropic ARGS...` -> stdout, stderr, exit code; the key travels in the environment
  local function cli(args, env)
    local e = { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_API_KEY = false }
    for k, v in pairs(env or {}) do e[k] = v end
    local argv = { "lua5.4", "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, code = util.run(argv, e, dir)
    util.assert_no_leak(out .. err, admin_key, "the output of anthropic " .. table.concat(args, " "))
    return out, err, code
  end

  local function json(out)
    return cjson.decode(out)
  end

  -- A left-aligned table -> { header cells }, { row cells... }. Each column must start at the same
  -- place on every line, after two spaces: that is what "aligned" means here.
  local function table_of(out)
    local lines = {}
    for line in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    local header, starts = {}, {}
    local h = lines[1]
    for i = 1, #h do
      if h:sub(i, i) ~= " " and (i == 1 or h:sub(i - 2, i - 1) == "  ") then starts[#starts + 1] = i end
    end
    for k, a in ipairs(starts) do header[k] = (h:sub(a, (starts[k + 1] or 0) - 1):gsub("%s+$", "")) end
    local rows = {}
    for i = 2, #lines do
      local row = {}
      for k, a in ipairs(starts) do
        if k > 1 then
          assert.equal("  ", lines[i]:sub(a - 2, a - 1), "column " .. header[k] .. " of line " .. i .. ": " .. lines[i])
          assert.is_not.equal(" ", lines[i]:sub(a, a), "column " .. header[k] .. " of line " .. i)
        end
        row[k] = (lines[i]:sub(a, (starts[k + 1] or 0) - 1):gsub("%s+$", ""))
      end
      rows[#rows + 1] = row
    end
    return header, rows
  end

  -- "NAME  value" lines -> map
  local function fields_of(out)
    local t = {}
    for name, value in out:gmatch("([^\n]-)  +([^\n]*)\n") do t[name] = value end
    return t
  end

  local admin
  before_each(function() admin = anthropic.admin { api_key = admin_key, base_url = emu.url } end)
  after_each(function() admin:close() end)

  local function find(pager, field, value)
    for x in pager:each() do
      if x[field] == value then return x end
    end
  end

  describe("usage and errors", function()
    it("lists the admin commands in the top-level help", function()
      local out, _, code = cli { "--help" }
      assert.equal(0, code)
      for _, cmd in ipairs { "keys", "workspaces", "members", "users", "invites", "limits", "usage", "cost" } do
        assert.matches("\n  " .. cmd .. " ", out, 1, true)
      end
    end)

    for _, cmd in ipairs { "keys", "workspaces", "members", "users", "invites", "limits", "usage", "cost" } do
      it(cmd .. " --help prints its usage and exits 0", function()
        local out, err, code = cli { cmd, "--help" }
        assert.equal(0, code)
        assert.equal("", err)
        assert.matches("^usage: anthropic " .. cmd, out)
        assert.matches("--json", out, 1, true)
      end)
    end

    it("exits 2 with the usage when no subcommand is given", function()
      local out, err, code = cli { "keys" }
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("^usage: anthropic keys", err)
    end)

    it("exits 2 for an unknown subcommand, option, a missing argument or value", function()
      for _, args in ipairs {
        { "keys", "frobnicate" }, { "keys", "list", "--colour" }, { "keys", "get" },
        { "keys", "get", "a", "b" }, { "members", "add", "wrkspc_1" }, { "keys", "list", "--status" },
        { "users", "list", "--limit", "zero" }, { "keys", "list", "--json=yes" },
        { "members", "add", "wrkspc_1", "user_1" }, { "usage", "--by", "colour" }, { "cost", "--by", "colour" },
        { "usage", "--legacy", "--by", "actor" }, { "cost", "--legacy", "--by", "api_key" },
        { "usage", "--since", "soon" },
      } do
        local out, err, code = cli(args)
        assert.equal(2, code, table.concat(args, " "))
        assert.equal("", out)
        assert.matches("^anthropic " .. args[1], err)
      end
      assert.equal(0, #emu:log().requests) -- nothing was sent
    end)

    it("exits 2 with the library's message for a value it refuses", function()
      local _, err, code = cli { "keys", "list", "--status", "enabled" }
      assert.equal(2, code)
      assert.matches('status must be one of "active", "inactive", "archived", "expired" (got "enabled")', err, 1, true)
      _, err, code = cli { "members", "add", "wrkspc_1", "user_1", "--role", "workspace_billing" }
      assert.equal(2, code)
      assert.matches("cannot be added as workspace_billing", err, 1, true)
      _, err, code = cli { "usage", "--from", "last tuesday" }
      assert.equal(2, code)
      assert.matches("--from: 'last tuesday' is not a time", err, 1, true)
      _, err, code = cli { "usage", "--legacy", "--from", "last tuesday" }
      assert.equal(2, code)
      assert.matches("starting_at must be an RFC 3339 time", err, 1, true)
      assert.equal(0, #emu:log().requests)
    end)

    it("refuses a key on the command line", function()
      for _, flag in ipairs { "--api-key", "--admin-key", "--key" } do
        local _, err, code = cli { "keys", "list", flag, "sk-ant-admin01-nope" }
        assert.equal(2, code)
        assert.matches("keys are never given on the command line; set ANTHROPIC_ADMIN_KEY", err, 1, true)
      end
    end)

    it("explains what the API cannot do, with exit code 1", function()
      local out, err, code = cli { "keys", "create" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("cannot be created through the Admin API", err, 1, true)
      assert.matches("Console, under Settings > API keys", err, 1, true)
      for _, args in ipairs { { "keys", "delete" }, { "workspaces", "delete" }, { "users", "create" },
                              { "limits", "update" }, { "invites", "update" } } do
        out, err, code = cli(args)
        assert.equal("", out)
        assert.equal(1, code, table.concat(args, " "))
        assert.matches("^anthropic " .. args[1] .. " " .. args[2] .. ": ", err)
      end
      assert.equal(0, #emu:log().requests)
    end)

    it("exits 1 with the error when there is no admin key, or the server refuses it", function()
      local _, err, code = cli({ "keys", "list" }, { ANTHROPIC_ADMIN_KEY = false })
      assert.equal(1, code)
      assert.matches("export ANTHROPIC_ADMIN_KEY=", err, 1, true)
      local other = emulator.make_key("admin01")
      _, err, code = cli({ "keys", "list" }, { ANTHROPIC_ADMIN_KEY = other })
      util.assert_no_leak(err, other, "stderr")
      assert.equal(1, code)
      assert.matches("401 authentication_error", err, 1, true)
    end)
  end)

  describe("keys", function()
    it("list: an aligned table, or JSON; filters as flags", function()
      local out, err, code = cli { "keys", "list" }
      assert.equal(0, code, err)
      local header, rows = table_of(out)
      assert.same({ "ID", "NAME", "STATUS", "WORKSPACE", "CREATED", "CREATED BY", "HINT" }, header)
      assert.equal(4, #rows)
      local names = {}
      for _, r in ipairs(rows) do names[r[2]] = r end
      assert.equal("(default)", names["default-scripts"][4])
      assert.equal("inactive", names["staging-ci"][3])
      assert.matches("^%d%d%d%d%-%d%d%-%d%d$", names["prod-backend"][5])
      assert.equal("Bob Developer", names["prod-backend"][6]) -- the creator's name, not the id
      local wide = cli { "keys", "list", "--wide" }
      header, rows = table_of(wide)
      assert.same({ "ID", "NAME", "STATUS", "WORKSPACE", "WORKSPACE ID", "CREATED", "CREATED BY", "CREATED BY ID",
        "EXPIRES", "HINT" }, header)
      for _, r in ipairs(rows) do
        if r[2] == "prod-backend" then assert.equal("-", r[9]) end
      end
      out, err, code = cli { "keys", "list", "--json" }
      assert.equal(0, code, err)
      local list = json(out)
      assert.equal(4, #list)
      assert.equal("api_key", list[1].type)
      assert.matches('^%[{"created_at":', out) -- sorted keys
      out = cli { "keys", "list", "--status", "inactive", "--json" }
      assert.equal(1, #json(out))
      assert.equal("staging-ci", json(out)[1].name)
      local prod = find(admin.workspaces:list(), "name", "Production")
      out = cli { "keys", "list", "--workspace=" .. prod.id }
      assert.equal(2, #select(2, table_of(out)))
      local bob = find(admin.users:list(), "email", "bob@example.com")
      out = cli { "keys", "list", "--created-by", bob.id, "--limit", "2", "--json" }
      assert.equal(2, #json(out))
      out = cli { "keys", "list", "--status", "archived" }
      assert.equal("(no API keys)\n", out)
      assert.equal("[]\n", (cli { "keys", "list", "--status", "archived", "--json" }))
    end)

    it("get, update, archive", function()
      local key = find(admin.api_keys:list(), "name", "prod-backend")
      local out, err, code = cli { "keys", "get", key.id }
      assert.equal(0, code, err)
      local f = fields_of(out)
      assert.equal(key.id, f.ID)
      assert.equal("prod-backend", f.NAME)
      assert.equal(key.partial_key_hint, f.HINT)
      out = cli { "keys", "get", key.id, "--json" }
      assert.same(key, json(out))
      out, err, code = cli { "keys", "update", key.id, "--name", "backend-2", "--status", "inactive" }
      assert.equal(0, code, err)
      assert.equal("backend-2", fields_of(out).NAME)
      assert.equal("inactive", fields_of(out).STATUS)
      out = cli { "keys", "archive", key.id, "--json" }
      assert.equal("archived", json(out).status)
      out, err, code = cli { "keys", "update", key.id, "--status", "active" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^anthropic keys update: api error 400 invalid_request_error: ", err)
      out, err, code = cli { "keys", "get", "apikey_nope" }
      assert.equal("", out)
      assert.equal(1, code)
      assert.matches("404 not_found_error", err, 1, true)
      out, err, code = cli { "keys", "update", key.id }
      assert.equal("", out)
      assert.equal(2, code)
      assert.matches("give --name and/or --status", err, 1, true)
    end)
  end)

  describe("workspaces", function()
    it("list, create, get, update, archive in both formats", function()
      local out, err, code = cli { "workspaces", "list" }
      assert.equal(0, code, err)
      local header, rows = table_of(out)
      assert.same({ "ID", "NAME", "CREATED", "ARCHIVED", "GEO", "COLOR" }, header)
      assert.equal(2, #rows)
      out, err, code = cli { "workspaces", "create", "Research", "--json" }
      assert.equal(0, code, err)
      local ws = json(out)
      assert.equal("Research", ws.name)
      assert.matches("^wrkspc_", ws.id)
      out = cli { "workspaces", "get", ws.id }
      assert.equal("Research", fields_of(out).NAME)
      assert.equal("us", fields_of(out).GEO)
      out = cli { "workspaces", "update", ws.id, "--name", "Research EU" }
      assert.equal("Research EU", fields_of(out).NAME)
      out = cli { "workspaces", "archive", ws.id }
      assert.matches("^%d%d%d%d%-", fields_of(out).ARCHIVED)
      assert.equal(2, #json((cli { "workspaces", "list", "--json" })))
      assert.equal(3, #json((cli { "workspaces", "list", "--include-archived", "--json" })))
      out, err, code = cli { "workspaces", "update", ws.id }
      assert.equal("", out)
      assert.equal(2, code)
      assert.matches("give --name", err, 1, true)
    end)

    it("refuses names that mislead, and shows such names from the server escaped", function()
      local before = #emu:log().requests
      local _, err, code = cli { "workspaces", "create", "Production " }
      assert.equal(2, code)
      assert.matches('NAME "Production " has a trailing space: write "Production"', err, 1, true)
      _, err, code = cli { "workspaces", "create", "Prod\226\128\174noitcudorP" }
      assert.equal(2, code)
      assert.matches('NAME "Prod\\u{202E}noitcudorP" contains a bidirectional control (\\u{202E} RIGHT-TO-LEFT '
        .. "OVERRIDE, character 5)", err, 1, true)
      _, err, code = cli { "workspaces", "update", "wrkspc_1", "--name", "a\tb" }
      assert.equal(2, code)
      assert.matches('--name "a\\tb" contains a control character (\\t, character 2)', err, 1, true)
      _, err, code = cli { "keys", "update", "apikey_1", "--name", "   " }
      assert.equal(2, code)
      assert.matches('--name "   " is only spaces', err, 1, true)
      _, err, code = cli { "invites", "create", "bob\226\128\174@example.com", "--role", "user" }
      assert.equal(2, code)
      assert.matches('EMAIL "bob\\u{202E}@example.com" contains a bidirectional control', err, 1, true)
      assert.equal(before, #emu:log().requests)
      -- a name made elsewhere (the Console) shows with its escapes, not as what it pretends to be
      assert(admin.workspaces:create { name = "Prod\226\128\174noitcudorP" })
      local out
      out, err, code = cli { "workspaces", "list" }
      assert.equal(0, code, err)
      assert.matches("Prod\\u{202E}noitcudorP", out, 1, true)
      assert.is_nil(out:find("\226\128\174", 1, true))
    end)
  end)

  describe("members", function()
    it("list, add, get, update, remove in both formats", function()
      local staging = find(admin.workspaces:list(), "name", "Staging")
      local carol = find(admin.users:list(), "email", "carol@example.com")
      local out, err, code = cli { "members", "list", staging.id }
      assert.equal(0, code, err)
      local header, rows = table_of(out)
      assert.same({ "USER", "WORKSPACE", "ROLE" }, header)
      local before = #rows
      out, err, code = cli { "members", "add", staging.id, carol.id, "--role", "workspace_user", "--json" }
      assert.equal(0, code, err)
      assert.same({ type = "workspace_member", user_id = carol.id, workspace_id = staging.id,
        workspace_role = "workspace_user" }, json(out))
      assert.equal(before + 1, #select(2, table_of((cli { "members", "list", staging.id }))))
      out = cli { "members", "get", staging.id, carol.id }
      assert.equal("workspace_user", fields_of(out).ROLE)
      out = cli { "members", "update", staging.id, carol.id, "--role", "workspace_billing" }
      assert.equal("workspace_billing", fields_of(out).ROLE)
      out, err, code = cli { "members", "remove", staging.id, carol.id }
      assert.equal(0, code, err)
      assert.equal("removed " .. carol.id .. " from " .. staging.id .. "\n", out)
      out = cli { "members", "list", staging.id, "--json" }
      assert.equal(before, #json(out))
    end)
  end)

  describe("users", function()
    it("list with filters, get, update, remove", function()
      local out, err, code = cli { "users", "list" }
      assert.equal(0, code, err)
      local header, rows = table_of(out)
      assert.same({ "ID", "EMAIL", "NAME", "ROLE", "ADDED" }, header)
      assert.equal(5, #rows)
      local carol
      for _, r in ipairs(rows) do
        if r[2] == "carol@example.com" then carol = r end
      end
      assert.equal("Carol User", carol[3])
      assert.equal(2, #json((cli { "users", "list", "--role", "developer,billing", "--json" })))
      assert.equal(2, #json((cli { "users", "list", "--role", "developer", "--role", "billing", "--json" })))
      local one = json((cli { "users", "list", "--email", "carol@example.com", "--json" }))
      assert.equal(carol[1], one[1].id)
      out = cli { "users", "get", carol[1] }
      assert.equal("carol@example.com", fields_of(out).EMAIL)
      out = cli { "users", "update", carol[1], "--role", "developer", "--json" }
      assert.equal("developer", json(out).role)
      out, err, code = cli { "users", "update", carol[1], "--role", "admin" }
      assert.equal("", out)
      assert.equal(2, code)
      assert.matches("admin role cannot be given through the API", err, 1, true)
      out, err, code = cli { "users", "remove", carol[1] }
      assert.equal(0, code, err)
      assert.equal("removed " .. carol[1] .. "\n", out)
      out = cli { "users", "remove", carol[1], "--json" }
      assert.equal("", out)
    end)
  end)

  describe("invites", function()
    it("create, list with filters, get, delete", function()
      local out, err, code = cli { "invites", "create", "heidi@example.com", "--role", "developer", "--json" }
      assert.equal(0, code, err)
      local inv = json(out)
      assert.equal("pending", inv.status)
      out = cli { "invites", "list" }
      local header, rows = table_of(out)
      assert.same({ "ID", "EMAIL", "ROLE", "STATUS", "INVITED", "EXPIRES" }, header)
      assert.equal(3, #rows)
      assert.equal(2, #json((cli { "invites", "list", "--status", "pending", "--json" })))
      assert.equal(1, #json((cli { "invites", "list", "--status", "expired", "--json" })))
      assert.equal(1, #json((cli { "invites", "list", "--email", "heidi@example.com", "--json" })))
      out = cli { "invites", "get", inv.id }
      assert.equal("heidi@example.com", fields_of(out).EMAIL)
      out, err, code = cli { "invites", "delete", inv.id }
      assert.equal(0, code, err)
      assert.equal("deleted " .. inv.id .. "\n", out)
      assert.equal(1, #json((cli { "invites", "list", "--status", "pending", "--json" })))
      out, err, code = cli { "invites", "create", "x@example.com" }
      assert.equal("", out)
      assert.equal(2, code)
      assert.matches("give --role", err, 1, true)
    end)
  end)

  describe("limits", function()
    it("organization limits and workspace overrides, table and JSON", function()
      local out, err, code = cli { "limits" }
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.matches("^GROUP%s+MODELS%s+LIMIT%s+VALUE$", lines[1])
      assert.truthy(out:find("\nbatch%s+%-%s+enqueued_batch_requests%s+500,000\n"))
      out = cli { "limits", "list", "--group-type", "model_group", "--model", "claude-opus-4-6", "--json" }
      local entries = json(out)
      assert.equal(1, #entries)
      assert.equal("model_group", entries[1].group.type)
      local prod = find(admin.workspaces:list(), "name", "Production")
      out = cli { "limits", "list", "--workspace", prod.id }
      assert.equal("(no overrides: the workspace uses the organization's limits)\n", out)
      emu:seed { merge = true, workspace_rate_limits = { { workspace_id = "Production", group_type = "model_group",
        model = "claude-opus-4-6", limits = { { type = "requests_per_minute", value = 100 } } } } }
      out = cli { "limits", "list", "--workspace", prod.id }
      assert.matches("^GROUP%s+MODELS%s+LIMIT%s+VALUE%s+ORG LIMIT%s+SOURCE\n", out)
      assert.matches("requests_per_minute%s+100%s+4,000%s+workspace\n", out)
      out = cli { "limits", "list", "--workspace", prod.id, "--json" }
      assert.equal("workspace_rate_limit", json(out)[1].type)
    end)

    it("workspaces create/update --color, list --include-default; invites create --rbac-group", function()
      local out, err, code = cli { "workspaces", "create", "Painted", "--color", "#12AB34", "--json" }
      assert.equal(0, code, err)
      local ws = json(out)
      assert.equal("#12AB34", ws.display_color)
      out = cli { "workspaces", "update", ws.id, "--color", "#FFFFFF", "--json" }
      assert.equal("#FFFFFF", json(out).display_color)
      local _, e, c = cli { "workspaces", "update", ws.id, "--color", "white" }
      assert.equal(2, c)
      assert.matches("--color takes a color #RRGGBB", e, 1, true)
      out = cli { "workspaces", "list", "--include-default" }
      assert.matches("\n%S+%s+Default Workspace%s", out)
      out = cli { "invites", "create", "team@example.com", "--role", "user",
        "--rbac-group", "rbac_group_01a,rbac_group_01b", "--json" }
      assert.same({ "rbac_group_01a", "rbac_group_01b" }, json(out).rbac_group_ids)
    end)

    it("limits set: a workspace's limits for one group, back with 'inherit'; --inherited lists the rest", function()
      local prod = find(admin.workspaces:list(), "name", "Production")
      local out, err, code = cli { "limits", "set", prod.id, "--group-type", "model_group", "--model",
        "claude-opus-4-6", "--limit", "requests_per_minute=100,output_tokens_per_minute=2000" }
      assert.equal(0, code, err)
      assert.matches("^GROUP%s+MODELS%s+LIMIT%s+VALUE%s+ORG LIMIT%s+SOURCE\n", out)
      assert.matches("\nmodel_group%s+%S+%s+output_tokens_per_minute%s+2,000%s+[%d,]+%s+workspace\n", out)
      assert.matches("\nmodel_group%s+%S+%s+requests_per_minute%s+100%s+4,000%s+workspace\n", out)
      local log = emu:log().requests
      local last = log[#log]
      assert.equal("POST", last.method)
      assert.matches("^/v1/organizations/workspaces/" .. prod.id .. "/rate_limits/ratelimit_", last.path)
      out = cli { "limits", "set", prod.id, "--group-type", "model_group", "--model", "claude-opus-4-6",
        "--limit", "output_tokens_per_minute=inherit", "--json" }
      local entry = json(out)
      assert.equal(1, #entry.limits)
      assert.equal("requests_per_minute", entry.limits[1].type)
      out = cli { "limits", "list", "--workspace", prod.id, "--inherited", "--json" }
      local sources = {}
      for _, e in ipairs(json(out)) do
        for _, l in ipairs(e.limits) do sources[l.source.type] = (sources[l.source.type] or 0) + 1 end
      end
      assert.equal(1, sources.workspace)
      assert.is_true(sources.organization > 5)
      -- usage errors, nothing sent
      emu:clear_log()
      for _, args in ipairs {
        { "limits", "set", prod.id, "--group-type", "model_group", "--limit", "requests_per_minute=1" },
        { "limits", "set", prod.id, "--group-type", "batch" },
        { "limits", "set", prod.id, "--group-type", "batch", "--limit", "requests_per_minute=-3" },
        { "limits", "set", prod.id, "--group-type", "batch", "--limit", "rpm" },
        { "limits", "set", "--group-type", "batch", "--limit", "requests_per_minute=1" },
      } do
        local _, e, c = cli(args)
        assert.equal(2, c, table.concat(args, " "))
        assert.matches("^anthropic limits set", e)
      end
      assert.equal(0, #emu:log().requests)
      local _, e2, c2 = cli { "limits", "list", "--workspace", prod.id, "--model", "x" }
      assert.equal(2, c2)
      assert.matches("--model applies to the organization's limits", e2, 1, true)
    end)
  end)

  describe("usage and cost", function()
    before_each(function()
      emu:clock { set = "2026-03-10T12:00:00Z" }
      local records = {}
      for day = 1, 3 do
        local date = string.format("2026-03-0%dT10:00:00Z", day)
        records[#records + 1] = { time = date, api_key_id = "prod-backend", model = "claude-haiku-4-5",
          input_tokens = 1000 * day, output_tokens = 333 }
        records[#records + 1] = { time = date, api_key_id = "default-scripts", model = "claude-sonnet-4-6",
          input_tokens = 7, output_tokens = 11 * day, cache_read_input_tokens = 5 }
      end
      emu:add_usage(records)
    end)

    local function lines_of(out)
      local t = {}
      for line in out:gmatch("[^\n]+") do t[#t + 1] = line end
      return t
    end

    it("usage: sums by model / day as a table with a TOTAL row, and as JSON", function()
      local out, err, code = cli { "usage", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "model" }
      assert.equal(0, code, err)
      local lines = lines_of(out)
      assert.equal(4, #lines)
      assert.matches("^MODEL%s+INPUT%s+UNCACHED%s+CACHE READ%s+CACHE WRITE%s+OUTPUT%s+WEB SEARCH$", lines[1])
      assert.matches("^claude%-haiku%-4%-5%-20251001%s+6,000%s+6,000%s+0%s+0%s+999%s+0$", lines[2])
      assert.matches("^claude%-sonnet%-4%-6%s+36%s+21%s+15%s+0%s+66%s+0$", lines[3])
      assert.matches("^TOTAL%s+6,036%s+6,021%s+15%s+0%s+1,065%s+0$", lines[4])
      for _, l in ipairs(lines) do assert.equal(#lines[1], #l) end -- numbers right-aligned
      out = cli { "usage", "messages", "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-04T00:00:00Z", "--json" }
      local doc = json(out)
      assert.equal("day", doc.by)
      assert.equal("2026-03-01T00:00:00Z", doc.starting_at)
      assert.equal(3, #doc.rows)
      assert.equal("2026-03-02", doc.rows[2].key)
      assert.equal(22, doc.rows[2].output_tokens - 333)
      assert.equal(1065, doc.total.output_tokens)
      out = cli { "usage", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "total", "--model",
        "claude-haiku-4-5", "--json" }
      assert.equal(999, json(out).total.output_tokens)
      out = cli { "usage", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "workspace" }
      assert.matches("\n%(default%)", out:gsub("\ndefault", "\n(default)"))
      local prod = find(admin.workspaces:list(), "name", "Production")
      assert.matches(prod.id, out, 1, true)
    end)

    it("usage reads the analytics API: --by model,workspace with a TOTAL row; --json; --csv", function()
      local out, err, code = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04",
        "--by", "model,workspace" }
      assert.equal(0, code, err)
      -- the request the CLI sent: the analytics route with its beta and the dimensions
      local last -- (the names' lists are read after it)
      for _, r in ipairs(emu:log().requests) do
        if r.path:find("/analytics/", 1, true) then last = r end
      end
      local header, rows
      for line in out:gmatch("[^\n]+") do
        local cells = {}
        for c in (line .. "  "):gmatch("(.-)%s%s+") do
          if c ~= "" then cells[#cells + 1] = c end
        end
        if header then rows[#rows + 1] = cells else header, rows = cells, {} end
      end
      assert.same({ "MODEL", "WORKSPACE", "WORKSPACE NAME", "REQUESTS", "UNCACHED", "CACHE READ", "CACHE WRITE",
        "OUTPUT", "TOTAL TOKENS", "WEB SEARCH" }, header)
      local prod = find(admin.workspaces:list(), "name", "Production")
      assert.same({ "claude-haiku-4-5-20251001", prod.id, "Production", "3", "6,000", "0", "0", "999", "6,999", "0" },
        rows[1])
      assert.same({ "claude-sonnet-4-6", "(default)", "Default", "3", "21", "15", "0", "66", "102", "0" }, rows[2])
      assert.same({ "TOTAL", "6", "6,021", "15", "0", "1,065", "7,101", "0" }, rows[3])
      assert.equal("/v1/organizations/analytics/usage", last.path)
      assert.matches("group_by[]=model&group_by[]=workspace_id", last.query, 1, true)
      assert.equal("analytics-usage-cost-2026-08-24", last.headers["anthropic-beta"])
      out = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "day", "--json" }
      local doc = json(out)
      assert.equal("1d", doc.time_bucket_width)
      assert.equal(3, #doc.rows)
      assert.equal("2026-03-02T00:00:00Z", doc.rows[2].starting_at)
      assert.equal(333 + 22, doc.rows[2].output_tokens)
      assert.equal(1065, doc.total.output_tokens)
      out = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "api_key", "--csv" }
      local lines = lines_of(out)
      assert.equal("API KEY,API KEY NAME,REQUESTS,UNCACHED,CACHE READ,CACHE WRITE,OUTPUT,TOTAL TOKENS,WEB SEARCH",
        lines[1])
      assert.equal(4, #lines)
      assert.matches("^TOTAL,,6,6021,15,0,1065,7101,0$", lines[4])
      -- a filter, and --legacy reads the old report
      out = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--model", "claude-haiku-4-5", "--json" }
      assert.equal(999, json(out).total.output_tokens)
      out = cli { "usage", "--legacy", "--since", "2026-03-01", "--until", "2026-03-04", "--json" }
      assert.equal(1065, json(out).total.output_tokens)
      assert.matches("^/v1/organizations/usage_report/messages", emu:log().requests[#emu:log().requests].path)
    end)

    it("usage: a range longer than 31 days is read in windows and summed; relative times", function()
      local out, err, code = cli { "usage", "--since", "2026-01-15", "--until", "2026-03-10", "--json" }
      assert.equal(0, code, err)
      assert.equal(1065, json(out).total.output_tokens)
      local paths = {}
      for _, r in ipairs(emu:log().requests) do
        if r.path:find("analytics/usage", 1, true) then paths[#paths + 1] = r.path end
      end
      assert.equal(2, #paths) -- 54 days: two windows
      local analytics = require "anthropic.cli.analytics"
      local now = 1773144000 -- 2026-03-10T12:00:00Z
      assert.equal(now - 7 * 86400, analytics.parse_time("7d", "since", now))
      assert.equal(1772323200, analytics.parse_time("this-month", "since", now)) -- 2026-03-01
      assert.equal(1769904000, analytics.parse_time("last-month", "since", now)) -- 2026-02-01
      assert.equal(1773100800, analytics.parse_time("today", "since", now))
      assert.equal(now - 3600, analytics.parse_time("2026-03-10T12:00:00+01:00", "since", now))
      assert.error_matches(function() analytics.parse_time("soon", "since", now) end, "%-%-since: 'soon'")
    end)

    it("usage claude-code: one row per actor", function()
      emu:add_claude_code { { date = "2026-03-05", email_address = "erin@example.com",
        core_metrics = { num_sessions = 4, lines_of_code = { added = 50, removed = 7 }, commits_by_claude_code = 2,
          pull_requests_by_claude_code = 1 },
        model_breakdown = { { model = "claude-sonnet-4-6", tokens = { input = 1, output = 2, cache_read = 0,
          cache_creation = 0 }, estimated_cost = { amount = 1234, currency = "USD" } } } } }
      local out, err, code = cli { "usage", "claude-code", "--date", "2026-03-05" }
      assert.equal(0, code, err)
      local lines = lines_of(out)
      assert.equal(2, #lines)
      assert.matches("^DATE%s+ACTOR%s+CUSTOMER%s+TERMINAL%s+SESSIONS%s+LINES %+%s+LINES %-%s+COMMITS%s+PRS%s+COST USD$",
        lines[1])
      assert.matches("erin@example%.com%s+api%s+vscode%s+4%s+50%s+7%s+2%s+1%s+12%.34$", lines[2])
      out = cli { "usage", "claude-code", "--date", "2026-03-05", "--json" }
      assert.equal("erin@example.com", json(out)[1].actor.email_address)
      assert.equal("(no Claude Code usage that day)\n", (cli { "usage", "claude-code", "--date", "2026-03-06" }))
      -- empty arrays stay arrays in JSON, empty objects objects (the seed's record of yesterday)
      emu:clock { reset = true }
      out = cli { "usage", "claude-code", "--date", os.date("!%Y-%m-%d", os.time() - 86400), "--json" }
      assert.matches('"model_breakdown":[]', out, 1, true)
      assert.matches('"tool_actions":{}', out, 1, true)
    end)

    -- Issue 15: names next to ids, read from the Admin API's lists once per run; ids kept.
    it("usage and cost show workspace, API key and actor names next to their ids, read once per run", function()
      local prod = find(admin.workspaces:list(), "name", "Production")
      local keys = {}
      for k in admin.api_keys:list({ limit = 1000 }):each() do keys[k.id] = k.name end
      emu:clear_log()
      local out, err, code = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--by",
        "workspace,api_key", "--csv" }
      assert.equal(0, code, err)
      local lines = lines_of(out)
      assert.equal("WORKSPACE,WORKSPACE NAME,API KEY,API KEY NAME,REQUESTS,UNCACHED,CACHE READ,CACHE WRITE,OUTPUT,"
        .. "TOTAL TOKENS,WEB SEARCH", lines[1])
      local ws_id, ws_name, key_id, key_name = lines[2]:match("^([^,]+),([^,]+),([^,]+),([^,]*),")
      assert.equal(prod.id, ws_id)
      assert.equal("Production", ws_name)
      assert.matches("^apikey_", key_id)
      assert.is_truthy(keys[key_id])
      assert.equal(keys[key_id], key_name)
      assert.matches("^%(default%),Default,apikey_", lines[3])
      local lists = {}
      for _, r in ipairs(emu:log().requests) do
        if r.method == "GET" and not r.path:find("analytics") then lists[r.path] = (lists[r.path] or 0) + 1 end
      end
      assert.same({ ["/v1/organizations/workspaces"] = 1, ["/v1/organizations/api_keys"] = 1,
        ["/v1/organizations/users"] = 1 }, lists)
      -- the table: the name in the column after the id; actors by their user's name
      out = cli { "cost", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "workspace" }
      assert.matches("WORKSPACE%s+WORKSPACE NAME%s+USD", out)
      assert.matches(prod.id .. "%s+Production%s+", out)
      assert.matches("\n%(default%)%s+Default%s+", out)
      out = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "actor" }
      assert.matches("^ACTOR%s+ACTOR NAME%s+REQUESTS", out)
      -- --json: the ids as the API gives them, no name and no list read
      emu:clear_log()
      out = cli { "usage", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "workspace", "--json" }
      assert.equal(prod.id, json(out).rows[1].workspace)
      assert.is_nil(out:find("Production", 1, true))
      for _, r in ipairs(emu:log().requests) do assert.matches("analytics", r.path) end
    end)

    it("cost reads the analytics API: exact cents by workspace, model and token type; --json; --csv", function()
      local out, err, code = cli { "cost", "--since", "2026-03-01", "--until", "2026-03-04" }
      assert.equal(0, code, err)
      local lines = lines_of(out)
      assert.equal(2, #lines) -- one row for the whole range
      assert.matches("^RANGE%s+USD%s+CENTS%s+REQUESTS$", lines[1])
      assert.matches("^2026%-03%-01T00:00:00Z %.%. 2026%-03%-04T00:00:00Z%s+0%.01%s+1%.20525%s+6$", lines[2])
      local log = emu:log().requests
      assert.equal("/v1/organizations/analytics/cost", log[#log].path)
      out = cli { "cost", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "workspace", "--json" }
      local doc = json(out)
      assert.equal("1.20525", doc.total.amount)
      assert.equal(2, #doc.rows)
      assert.equal("1.0995", doc.rows[1].amount) -- Production's Haiku first: the highest
      out = cli { "cost", "--since", "2026-03-01", "--until", "2026-03-04", "--by", "model,token_type", "--csv" }
      lines = lines_of(out)
      assert.equal("MODEL,TOKEN TYPE,USD,CENTS,REQUESTS", lines[1])
      assert.equal("claude-haiku-4-5-20251001,uncached_input_tokens,0.01,0.6,", lines[2])
      assert.equal("TOTAL,,0.01,1.20525,", lines[#lines]) -- (requests are not split by token type)
      -- the same total as the legacy report
      out = cli { "cost", "--legacy", "--since", "2026-03-01", "--until", "2026-03-04", "--json" }
      assert.equal("1.20525", json(out).total.amount)
    end)

    it("cost: exact cents by day and workspace, dollars rounded only for display", function()
      local out, err, code = cli { "cost", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "total" }
      assert.equal(0, code, err)
      -- Haiku 4.5: 6000 in x $1 + 999 out x $5 per MTok; Sonnet 4.6: 21 in x $3 + 15 cache reads x $0.30
      -- + 66 out x $15 -> 0.6 + 0.4995 + 0.0063 + 0.00045 + 0.099 = 1.20525 cents
      local lines = lines_of(out)
      assert.equal(2, #lines)
      assert.matches("^TOTAL%s+USD%s+CENTS%s+ROWS$", lines[1])
      assert.matches("^TOTAL%s+0%.01%s+1%.20525%s+%d+$", lines[2])
      out = cli { "cost", "report", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "workspace", "--json" }
      local doc = json(out)
      assert.equal("1.20525", doc.total.amount)
      assert.equal("0.0120525", doc.total.dollars)
      assert.equal("USD", doc.currency)
      local sum = "0"
      for _, r in ipairs(doc.rows) do sum = require("anthropic.decimal").add(sum, r.amount) end
      assert.equal("1.20525", require("anthropic.decimal").tostring(sum))
      out = cli { "cost", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04", "--by", "model" }
      assert.matches("\nclaude%-haiku%-4%-5%-20251001%s+0%.01%s+1%.0995%s+%d+\n", out)
      out = cli { "cost", "--legacy", "--from", "2026-03-01", "--to", "2026-03-04" }
      assert.equal(5, #lines_of(out)) -- header, three days, total
    end)
  end)
end)
