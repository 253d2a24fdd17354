-- An organization as configuration: its people, workspaces, API keys, spend budgets and key
-- rotation. `anthropic plan examples/org.lua` shows what would change, `anthropic apply` makes it
-- so (docs/reconcile.md). `make demo` plans and applies this file against the local emulator,
-- whose organization starts as docs/emulator.md describes.
--
-- The file runs in a sandbox: plain Lua (locals, loops, string functions) and four declarations,
-- organization, member, workspace and prune. No io, os, require or load.
-- luacheck: read globals organization member workspace prune

-- Pin the organization the file is for: plan and apply refuse an admin key of any other.
-- (`anthropic export` writes this line for yours; this is the emulator's organization.)
organization { id = "2e1a5f6c-0b7d-4c1e-9a53-8f0e6d4b2a17", name = "Emulator Organization" }

-- People, by e-mail address. Someone who is not in the organization yet gets an invite; a pending
-- invite counts as a member. Organization admins are only asserted: the API cannot change them.
member "ada@example.com"   { role = "admin" }
member "bob@example.com"   { role = "developer" }
member "carol@example.com" { role = "user" }
member "dave@example.com"  { role = "billing" }
member "erin@example.com"  { role = "claude_code_user" }
member "frank@example.com" { role = "developer" }        -- invited, has not joined yet
member "heidi@example.com" { role = "developer" }        -- new: gets an invite

-- Workspaces, by name. Only what a block mentions is compared: a workspace without `keys` leaves
-- its keys alone.
workspace "Production" {
  tags = { team = "platform", env = "prod" },
  members = {
    ["bob@example.com"] = "workspace_developer",
    ["carol@example.com"] = "workspace_user",
  },
  keys = {
    -- keys cannot be created through the API; these are the Console's keys, matched by name
    ["prod-backend"] = { status = "active", max_age_days = 90, rotate = "deactivate" },
    ["prod-batch"] = "active",
  },
  -- month-to-date spend from the cost report; over budget, every key of the workspace is turned off
  budget = { monthly_usd = 500, warn_at = { 0.8, 1.0 }, on_exceed = "deactivate_keys" },
}

workspace "Staging" {
  tags = { env = "staging" },
  members = {
    ["bob@example.com"] = "workspace_admin",
    ["erin@example.com"] = "workspace_developer",
  },
  keys = { ["staging-ci"] = "inactive" },
}

-- Plain Lua works too: one workspace per team.
for _, team in ipairs { "research" } do
  workspace((team:gsub("^%l", string.upper))) {
    tags = { team = team },
    members = { ["carol@example.com"] = "workspace_developer" },
  }
end

-- Nothing is removed unless asked, kind by kind: here, pending invites for people not above.
prune { invites = true }
