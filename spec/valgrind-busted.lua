-- Runs busted, then closes the Lua state on exit (os.exit(code, true)), so every userdata is
-- finalized and anything the C core failed to free shows as "definitely lost".
local exit = os.exit
os.exit = function(code) return exit(code, true) end -- luacheck: ignore 122
require "busted.runner" { standalone = false }
