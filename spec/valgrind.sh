#!/bin/sh
# make valgrind: memcheck over spec files (default: the engine and client specs); fails when a
# definite or indirect leak, or any memory error, comes from the C core (src/).
LUA=${LUA:-lua5.4}
log=${TMPDIR:-/tmp}/anthropic-valgrind.$$
files=${VALGRIND_SPECS:-"spec/engine_spec.lua spec/client_spec.lua spec/keys_spec.lua"}
valgrind --leak-check=full --show-leak-kinds=definite,indirect --track-origins=no \
  --trace-children=no --log-file="$log" "$LUA" "$(command -v busted)" -o TAP $files
rc=$?
# loss records and errors whose stack passes through our code
ours=$(awk '/^==[0-9]+== [^ ]/{ if (blk ~ /(definitely|indirectly) lost|Invalid|uninitialised|Mismatched/ && blk ~ /src\/[a-z_]+\.c|anthropic\/core\.so/) { print blk; n++ } blk="" } { blk = blk "\n" $0 } END { exit n > 0 }' "$log") || {
  echo "$ours"; echo "valgrind: problems in src/ (full log: $log)"; exit 1; }
grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== //'
rm -f "$log"
echo "valgrind: no leaks or memory errors from src/"
exit $rc
