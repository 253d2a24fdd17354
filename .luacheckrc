std = "lua54"
max_line_length = 120
include_files = { "lua/**/*.lua", "spec/**/*.lua", "examples/**/*.lua", "bin/anthropic", "*.rockspec",
  ".busted", ".luacheckrc" }
exclude_files = { "build", "build-*", ".luarocks", "lua_modules" }
files["spec"] = { std = "+busted" }
-- What a host embeds runs on 5.1 and LuaJIT too (docs/embedding.md): only the globals and fields
-- every version has; what differs goes through lua/anthropic/compat.lua. The emulator and the
-- command line need 5.3+.
files["lua/anthropic"] = { std = "min" }
files["lua/anthropic/compat.lua"] = { std = "lua54" }
files["lua/anthropic/emulator"] = { std = "lua54" }
files["lua/anthropic/cli"] = { std = "lua54" }
files["*.rockspec"] = { globals = { "rockspec_format", "package", "version", "source", "description",
  "dependencies", "external_dependencies", "build", "test_dependencies", "test" } }
files[".busted"] = { std = "min" }
-- The Neovim plugin and the script spec/nvim_spec.lua runs inside nvim: LuaJIT, with `vim`.
files["examples/nvim"] = { std = "luajit", globals = { "vim" } }
files["spec/nvim"] = { std = "luajit", globals = { "vim" } }
