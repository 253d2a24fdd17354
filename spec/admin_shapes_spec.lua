-- Today's Admin shapes and parameters, through the client against the emulator: API keys with
-- scope and principal (2026-10-21; workspace_id under 2023-06-01), workspaces with
-- compartment_id, user_profile_id and a settable display_color, workspaces.list ids[] and
-- include_default, tags merged on update with null removing one, invites with rbac_group_ids,
-- users:sign_out (beta).
local anthropic = require "anthropic"
local helper = require "helpers.emulator"

describe("admin shapes of Dec 2026", function()
  local emu, key, admin
  lazy_setup(function()
    key = helper.make_key("admin01")
    emu = helper.start { keys = { key } }
  end)
  lazy_teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    admin = anthropic.admin { api_key = key, base_url = emu.url, max_retries = 0 }
  end)
  after_each(function() admin:close() end)

  local function last()
    local log = emu:log().requests
    return log[#log]
  end

  local function named(list, name)
    for _, x in ipairs(list) do
      if x.name == name then return x end
    end
  end

  it("API keys carry scope and principal (2026-10-21), workspace_id under 2023-06-01", function()
    local keys = assert(admin.api_keys:list():all())
    local prod = named(keys, "prod-backend")
    assert.equal("workspace", prod.scope.type)
    assert.matches("^wrkspc_", prod.scope.workspace_id)
    assert.is_nil(prod.workspace_id)
    assert.is_nil(prod.principal) -- null: a workspace key acts as no one
    local org_key = named(keys, "default-scripts")
    assert.same({ type = "organization" }, org_key.scope)
    local old = anthropic.admin { api_key = key, base_url = emu.url, api_version = "2023-06-01" }
    local k = assert(old.api_keys:get(prod.id))
    old:close()
    assert.equal(prod.scope.workspace_id, k.workspace_id)
    assert.is_nil(k.scope)
  end)

  it("workspaces: compartment_id, user_profile_id, display_color settable on create and update", function()
    local ws = assert(admin.workspaces:create { name = "Colors", display_color = "#1a2b3c",
      user_profile_id = "uprof_01abc" })
    assert.equal("#1A2B3C", ws.display_color)
    assert.equal("uprof_01abc", ws.user_profile_id)
    assert.matches("^compartment_", ws.compartment_id)
    ws = assert(admin.workspaces:update(ws.id, { display_color = "#FFFFFF" }))
    assert.equal("#FFFFFF", ws.display_color)
    assert.equal("uprof_01abc", ws.user_profile_id)
    local res, err = admin.workspaces:update(ws.id, { display_color = "red" })
    assert.is_nil(res)
    assert.equal(400, err.status)
    assert.matches("display_color", err.message)
    local plain = assert(admin.workspaces:create { name = "Plain" })
    assert.is_nil(plain.user_profile_id)
    assert.matches("^#%x%x%x%x%x%x$", plain.display_color)
  end)

  it("workspaces:update merges tags; a tag set to anthropic.null is removed", function()
    local ws = assert(admin.workspaces:create { name = "Tagged", tags = { team = "a", cost = "x" } })
    ws = assert(admin.workspaces:update(ws.id, { tags = { cost = anthropic.null, env = "prod" } }))
    assert.same({ team = "a", env = "prod" }, ws.tags)
    assert.matches('"cost":null', last().body, 1, true)
  end)

  it("workspaces:list takes ids[] and include_default", function()
    local all = assert(admin.workspaces:list():all())
    assert.is_true(#all >= 2)
    local some = assert(admin.workspaces:list({ ids = { all[1].id } }):all())
    assert.equal(1, #some)
    assert.equal(all[1].id, some[1].id)
    assert.matches("ids%[%]=" .. all[1].id, last().query)
    local with_default = assert(admin.workspaces:list({ include_default = true }):all())
    assert.equal(#all + 1, #with_default)
    assert.equal("Default Workspace", with_default[#with_default].name)
  end)

  it("invites take and give rbac_group_ids", function()
    local inv = assert(admin.invites:create { email = "new@example.com", role = "developer",
      rbac_group_ids = { "rbac_group_01eng" } })
    assert.same({ "rbac_group_01eng" }, inv.rbac_group_ids)
    assert.same({ "rbac_group_01eng" }, assert(admin.invites:get(inv.id)).rbac_group_ids)
    local plain = assert(admin.invites:create { email = "plain@example.com", role = "user" })
    assert.same({}, plain.rbac_group_ids)
    local res, err = admin.invites:create { email = "bad@example.com", role = "user", rbac_group_ids = { "eng" } }
    assert.is_nil(res)
    assert.equal(400, err.status)
  end)

  it("users:sign_out sends its beta and answers the user", function()
    local users = assert(admin.users:list():all())
    local u = assert(admin.users:sign_out(users[1].id))
    assert.equal(users[1].id, u.id)
    assert.equal("user", u.type)
    assert.equal("POST", last().method)
    assert.equal("/v1/organizations/users/" .. users[1].id .. "/sign_out", last().path)
    assert.matches("admin-user-sign-out-2026-10-08", last().headers["anthropic-beta"], 1, true)
    local res, err = admin.users:sign_out("user_01nobody")
    assert.is_nil(res)
    assert.equal(404, err.status)
    local raw = emu:api("POST", "/v1/organizations/users/" .. users[1].id .. "/sign_out", nil, key)
    assert.equal(400, raw.status) -- without the beta
  end)
end)
