-- What became settable through the Admin API and organization files now declare: a workspace's
-- display_color, and the RBAC groups an invite sends a member to. Keys are still not created.
local reconcile = require "anthropic.reconcile"
local rh = require "helpers.reconcile"

describe("reconcile: display_color and invite rbac_group_ids", function()
  local org
  lazy_setup(function() org = rh.start() end)
  lazy_teardown(function() org:stop() end)
  before_each(function() org:reset() end)

  it("display_color: plan ~, apply, converge; on create too", function()
    local text = 'workspace "Production" { display_color = "#1a2b3c" }\nworkspace "New" { display_color = "#ABCDEF" }'
    local p = assert(org:plan(text))
    assert.same({ '~ workspace "Production"', '+ workspace "New"' }, rh.changes(p))
    assert.matches('~ workspace "Production": display_color #%x+ %-> #1A2B3C', reconcile.render.human(p))
    local result = assert(org:apply(text))
    assert.same({}, result.failed)
    assert.is_true(result.converged)
    assert.equal("#1A2B3C", org:workspace("Production").display_color)
    assert.equal("#ABCDEF", org:workspace("New").display_color)
  end)

  it("display_color is checked on load with file:line", function()
    local config, err = reconcile.load_string('workspace "P" {\n  display_color = "blue",\n}', "org.lua")
    assert.is_nil(config)
    assert.matches('org.lua:2: workspace "P": display_color: must be a color "#RRGGBB"', tostring(err))
  end)

  it("a member's invite carries rbac_group_ids", function()
    local text = 'member "new@example.com" { role = "developer", rbac_group_ids = { "rbac_group_01eng" } }'
    local result = assert(org:apply(text))
    assert.same({}, result.failed)
    assert.is_true(result.converged)
    local inv
    for _, i in ipairs(org:invites()) do
      if i.email == "new@example.com" then inv = i end
    end
    assert.same({ "rbac_group_01eng" }, inv.rbac_group_ids)
    local config, err = reconcile.load_string('member "x@example.com" { role = "user", rbac_group_ids = { "eng" } }',
      "org.lua")
    assert.is_nil(config)
    assert.matches("org.lua:1:.*rbac_group_ids%[1%]: must be an RBAC group id", tostring(err))
  end)

  it("keys are still not created by the API", function()
    local p = assert(org:plan('workspace "Production" { keys = { ["brand-new"] = "active" } }'))
    assert.same({}, rh.changes(p))
    assert.matches("in the Console", reconcile.render.human(p))
  end)
end)
