-- `anthropic completion bash|zsh|man`: a completion script for the shell, or the man page
-- (roff), both made from the commands' own help text, so they cannot drift from it.
--   eval "$(anthropic completion bash)"      # in ~/.bashrc
--   anthropic completion zsh > ~/.zfunc/_anthropic
--   anthropic completion man > anthropic.1   # make man
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic completion bash|zsh|man

  bash    a bash completion script: eval "$(anthropic completion bash)" in ~/.bashrc
  zsh     a zsh completion function: anthropic completion zsh > "${fpath[1]}/_anthropic"
  man     the man page anthropic(1), in roff: anthropic completion man | man -l -
]]

-- The help text of a command: what `anthropic CMD --help` prints.
local function help_of(cmd)
  local out = {}
  local real = io.stdout
  -- luacheck: push ignore 122 (the help text is captured, then io.stdout is put back)
  io.stdout = { write = function(self, ...)
    for _, s in ipairs { ... } do out[#out + 1] = tostring(s) end
    return self
  end, flush = function(self) return self end }
  local ok = pcall(function() require("anthropic.cli." .. cmd)({ "--help" }) end)
  io.stdout = real
  -- luacheck: pop
  return ok and table.concat(out) or ""
end

-- Each command -> its subcommands and options, read from its help text and definition.
local function words()
  local cli = require "anthropic.cli"
  local list = {}
  for _, cmd in ipairs(cli.commands()) do
    local text = help_of(cmd)
    local subs, flags, seen = {}, { "--help" }, { ["--help"] = true }
    local def = common.defs[cmd]
    if def then
      for name in pairs(def.subcommands) do subs[#subs + 1] = name end
      table.sort(subs)
    end
    for flag in text:gmatch("(%-%-[%a][%w-]*)") do
      if not seen[flag] then
        seen[flag] = true
        flags[#flags + 1] = flag
      end
    end
    list[#list + 1] = { name = cmd, subs = subs, flags = flags, help = text }
  end
  return list
end

local function bash(list)
  local names, cases = {}, {}
  for _, c in ipairs(list) do
    names[#names + 1] = c.name
    cases[#cases + 1] = string.format("    %s) subs=%q; flags=%q ;;", c.name, table.concat(c.subs, " "),
      table.concat(c.flags, " "))
  end
  return table.concat({
    "# bash completion for anthropic (anthropic completion bash)",
    "_anthropic() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" subs="" flags=""',
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then",
    string.format('    COMPREPLY=( $(compgen -W %q -- "$cur") )', table.concat(names, " ")
      .. " --version --help --api-version --profile --key-file --admin-key-file"),
    "    return",
    "  fi",
    '  case "$cmd" in',
    table.concat(cases, "\n"),
    "  esac",
    '  if [[ "$cur" == -* ]] || [ -z "$subs" ] || [ "$COMP_CWORD" -gt 2 ]; then',
    '    COMPREPLY=( $(compgen -W "$flags --api-version --profile --key-file --admin-key-file" -- "$cur") )',
    '    [[ "$cur" == -* ]] || COMPREPLY+=( $(compgen -f -- "$cur") )',
    "  else",
    '    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )',
    "  fi",
    "}",
    "complete -F _anthropic anthropic",
  }, "\n") .. "\n"
end

local function zsh(list)
  local cmds, cases = {}, {}
  local summaries = {}
  for _, s in ipairs(require("anthropic.cli").SUMMARIES) do summaries[s[1]] = s[2] end
  for _, c in ipairs(list) do
    cmds[#cmds + 1] = string.format("    %s", ("'" .. c.name .. ":" .. (summaries[c.name] or ""):gsub("'", "") .. "'"))
    cases[#cases + 1] = string.format("    %s) _arguments '1:subcommand:(%s)' '*:option:(%s)' '*:file:_files' ;;",
      c.name, table.concat(c.subs, " "), table.concat(c.flags, " "))
  end
  return table.concat({
    "#compdef anthropic",
    "# zsh completion for anthropic (anthropic completion zsh)",
    "_anthropic() {",
    "  local -a commands",
    "  commands=(",
    table.concat(cmds, "\n"),
    "  )",
    "  if (( CURRENT == 2 )); then",
    "    _describe 'command' commands",
    "    return",
    "  fi",
    "  local cmd=${words[2]}",
    "  shift words; (( CURRENT-- ))",
    "  case $cmd in",
    table.concat(cases, "\n"),
    "  esac",
    "}",
    '_anthropic "$@"',
  }, "\n") .. "\n"
end

-- roff text: backslashes doubled, a leading dot or quote escaped
local function roff(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\\", "\\e"):gsub("^([.'])", "\\&%1"):gsub("%-", "\\-")
    out[#out + 1] = line
  end
  return table.concat(out, "\n")
end

local function man(list)
  local cli = require "anthropic.cli"
  local core = require "anthropic.core"
  local parts = {
    string.format('.TH ANTHROPIC 1 "" "anthropic %s" "User Commands"', core.VERSION),
    ".SH NAME", "anthropic \\- the Anthropic API from the shell: messages, models, the Admin API",
    ".SH SYNOPSIS", ".B anthropic", "\\fIcommand\\fR [\\fIoptions\\fR]",
    ".SH DESCRIPTION", ".nf", roff(cli.usage()), ".fi",
  }
  parts[#parts + 1] = ".SH COMMANDS"
  for _, c in ipairs(list) do
    parts[#parts + 1] = ".SS " .. c.name
    parts[#parts + 1] = ".nf"
    parts[#parts + 1] = roff(c.help)
    parts[#parts + 1] = ".fi"
  end
  parts[#parts + 1] = ".SH ENVIRONMENT"
  parts[#parts + 1] = roff("ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_ADMIN_KEY: the keys (never arguments).\n"
    .. "ANTHROPIC_BASE_URL: the API's address. ANTHROPIC_API_VERSION: the API version.\n"
    .. "ANTHROPIC_LOG=debug|info|warn: log requests and retries to standard error.\n"
    .. "COLUMNS: the width tables fit. NO_COLOR: no color even on a terminal.")
  parts[#parts + 1] = ".SH EXIT STATUS"
  parts[#parts + 1] = roff("0 done; 1 an error (the API's, the network's, a key); 2 a usage error; "
    .. "130 interrupted (SIGINT). plan: 0 no changes, 2 changes, 1 an error. See docs/cli.md.")
  return table.concat(parts, "\n") .. "\n"
end

return function(args)
  local what = args[1]
  if what == "-h" or what == "--help" or what == "help" then
    io.stdout:write(USAGE)
    return common.OK
  end
  local make = ({ bash = bash, zsh = zsh, man = man })[what or ""]
  if not make then
    io.stderr:write("anthropic completion: ",
      what and common.unknown("shell", what, { "bash", "zsh", "man" }) or "give bash, zsh or man", "\n", USAGE)
    return common.USAGE
  end
  io.stdout:write(make(words()))
  return common.OK
end
