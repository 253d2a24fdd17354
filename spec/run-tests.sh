#!/bin/sh
# Runs the C unit test programs given as arguments, then busted under $LUA (lua5.4 unless set), and prints the
# combined total as the last line: "N passed, N failed".
LUA=${LUA:-lua5.4}
out=${TMPDIR:-/tmp}/anthropic-tests.$$
passed=0; failed=0
for t in "$@"; do
  "$t" > "$out" 2>&1; rc=$?
  cat "$out"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  if [ -z "$line" ] || [ $rc -gt 1 ]; then
    echo "not ok $t did not finish (exit $rc)"; failed=$((failed + 1))
  fi
  p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
# Every key the specs make carries this run's canary; everything captured is scanned for it.
ANTHROPIC_TEST_CANARY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
ANTHROPIC_TEST_CAPTURE=${TMPDIR:-/tmp}/anthropic-capture.$$
export ANTHROPIC_TEST_CANARY ANTHROPIC_TEST_CAPTURE
: > "$ANTHROPIC_TEST_CAPTURE"
# Another VM runs the .busted task of its name (its core, the #lua54 tests left out).
run=; [ "$LUA" = lua5.4 ] || run=--run=$LUA
"$LUA" "$(command -v busted)" $run -o TAP $BUSTED_ARGS > "$out" 2>&1; rc=$?
"$LUA" spec/leak-scan.lua "$out" "$ANTHROPIC_TEST_CAPTURE" >> "$out"
rm -f "$ANTHROPIC_TEST_CAPTURE"
cat "$out"
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
  echo "not ok busted exited with $rc"; f=1
fi
passed=$((passed + p)); failed=$((failed + f))
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
