#!/bin/sh
# make demo: start the emulator on a free loopback port, run the quick start against it, plan and
# apply the organization file examples/org.lua, stop the emulator by PID. The demo keys (an API key
# and an admin key) are random, and travel only through the environment.
set -eu
LUA=${LUA:-lua5.4}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

key="sk-ant-api03-demo-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')AA"
admin="sk-ant-admin01-demo-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')AA"
export ANTHROPIC_EMULATOR_KEYS="$key,$admin" ANTHROPIC_API_KEY="$key"
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;"

mkfifo "$tmp/ready"
"$LUA" bin/anthropic emulator --port 0 > "$tmp/ready" &
pid=$!
exec 3< "$tmp/ready"
read -r line <&3 || { echo "the emulator did not start" >&2; exit 1; }
export ANTHROPIC_BASE_URL="${line#listening on }"
echo "emulator: $ANTHROPIC_BASE_URL (pid $pid)"
echo
"$LUA" examples/quickstart.lua

# The organization as configuration: plan (exit status 2: there are changes), apply, plan again.
echo
echo "== anthropic plan examples/org.lua"
export ANTHROPIC_ADMIN_KEY="$admin"
rc=0; "$LUA" bin/anthropic plan examples/org.lua || rc=$?
[ "$rc" -eq 2 ] || { echo "plan: expected exit status 2 (changes), got $rc" >&2; exit 1; }
echo
echo "== anthropic apply examples/org.lua --yes"
"$LUA" bin/anthropic apply examples/org.lua --yes > "$tmp/apply.out" || { cat "$tmp/apply.out"; exit 1; }
grep -E '^(  (done|adopted|FAILED|skipped) |Applied:|The organization)' "$tmp/apply.out"
echo
echo "== anthropic plan examples/org.lua (again)"
"$LUA" bin/anthropic plan examples/org.lua | tail -n 1
