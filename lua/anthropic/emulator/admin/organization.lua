-- GET /v1/organizations/me
local common = require "anthropic.emulator.admin.common"

local M = {}

function M.register(emu)
  emu:route("GET", "^/v1/organizations/me$", function(e)
    local org = e.org.d.org
    return common.ok { id = org.id, name = org.name, type = "organization" }
  end, { auth = "admin" })
end

return M
