#!/bin/sh
# make demo: start the emulator on a free loopback port, run the quick start against it, stop the
# emulator by PID. The demo key is random, and travels only through the environment.
set -eu
LUA=${LUA:-lua5.4}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

key="sk-ant-api03-demo-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')AA"
export ANTHROPIC_EMULATOR_KEYS="$key" ANTHROPIC_API_KEY="$key"
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
