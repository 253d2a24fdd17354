#!/bin/sh
# make valgrind: memcheck over the busted suite (VALGRIND_SPECS picks files; about 4 minutes);
# fails when a definite or indirect leak, or any memory error, comes from the C core (src/).
LUA=${LUA:-lua5.4}
log=${TMPDIR:-/tmp}/anthropic-valgrind.$$
# (stream_spec's 100 MB stream runs in a child process, which valgrind does not trace)
files=${VALGRIND_SPECS:-spec}
valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --keep-debuginfo=yes --trace-children=no --child-silent-after-fork=yes --log-file="$log" \
  "$LUA" spec/valgrind-busted.lua -o TAP $files
rc=$?
# loss records and errors whose stack passes through our code (frames name our source files)
srcs=$(cd src && ls *.c | sed 's/\.c$//' | paste -sd'|' -)
ours=$(awk -v srcs="($srcs)\\.c:[0-9]+|anthropic/core\\.so" '/^==[0-9]+== [^ ]/{ if (blk ~ /(definitely|indirectly) lost|Invalid|uninitialised|Mismatched/ && blk ~ srcs) { print blk; n++ } blk="" } { blk = blk "\n" $0 } END { exit n > 0 }' "$log") || {
  echo "$ours"; echo "valgrind: problems in src/ (full log: $log)"; exit 1; }
grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== //'
rm -f "$log"
echo "valgrind: no leaks or memory errors from src/"
exit $rc
