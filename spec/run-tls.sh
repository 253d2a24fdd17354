#!/bin/sh
# `make test-tls`: runs $TLS_SPECS (through spec/run-tests.sh: the canary scan included) with
# every emulator on HTTPS. A CA and a certificate for 127.0.0.1 are made for this run in a
# private temp directory (removed at the end): ANTHROPIC_TEST_TLS names it for
# spec/helpers/emulator.lua, ANTHROPIC_CA_FILE gives its CA to every client, in-process or not.
# Specs tagged #huge (memory measures, not TLS) are left out.
LUA=${LUA:-lua5.4}
cd "$(dirname "$0")/.." || exit 1
dir=$(mktemp -d "${TMPDIR:-/tmp}/anthropic-tls.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
ANTHROPIC_TEST_TLS=$dir "$LUA" -e '
  package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
  assert(require("anthropic.emulator.tls").make(os.getenv("ANTHROPIC_TEST_TLS")))' || exit 1
ANTHROPIC_TEST_TLS=$dir ANTHROPIC_CA_FILE=$dir/ca.pem BUSTED_ARGS="--exclude-tags=huge ${TLS_SPECS:?}" \
  LUA=$LUA sh spec/run-tests.sh
