#!/usr/bin/env bash
# `make bench`: lua-anthropic against raw libcurl and peers, on a local nginx. See docs/performance.md.
#
# Environment:
#   LUA=lua5.4          the interpreter
#   BENCH_RUNS=9        timed runs per row (the table shows medians)
#   BENCH_SCALE=1       multiplies the request counts (0.2 for a quick look)
#   BENCH_CALLGRIND=1   0 skips the instruction counts (valgrind --tool=callgrind)
#   BENCH_ONLY=REGEX    only the rows whose id matches (e.g. 'create|small')
#   BENCH_DOCS=1        0 leaves docs/performance.md alone (default 0 with BENCH_ONLY or BENCH_SCALE)
#   BENCH_STRICT=0      1 exits non-zero when a target fails (a wrong measurement always does)
#   BENCH_KEEP=0        1 keeps the temporary folder (data, results, callgrind profiles)
#   BENCH_PIN=1         0 lets the scheduler place nginx and the clients (default: with two CPUs or
#                       more, nginx runs on CPU 0 and every client on CPU 1, through taskset)
# Needs (installed by `make bench` as root): nginx, libcjson-dev, valgrind, lua-socket, lua-cjson;
# node and npm for the TypeScript SDK peer (skipped with a note when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

LUA=${LUA:-lua5.4}
RUNS=${BENCH_RUNS:-9}
SCALE=${BENCH_SCALE:-1}
CALLGRIND=${BENCH_CALLGRIND:-1}
ONLY=${BENCH_ONLY:-}
# docs/performance.md gets the table of full runs only, unless BENCH_DOCS=1 says otherwise
if [ -z "$ONLY" ] && [ "$SCALE" = 1 ]; then DOCS=${BENCH_DOCS:-1}; else DOCS=${BENCH_DOCS:-0}; fi
STRICT=${BENCH_STRICT:-0}
# Pinning: nginx and the client each keep a CPU of their own, so neither is moved or shares a
# core's caches with the other mid-run; on this 2-core VM that halves how much one run's CPU
# figure differs from the next.
PIN_SERVER=() PIN_CLIENT=()
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_SERVER=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
fi
BUILD=${BUILD:-build}
T0=$(date +%s)

say() { printf '%s\n' "$*" >&2; }
for tool in nginx cc pkg-config "$LUA"; do
  command -v "$tool" >/dev/null || { say "bench: $tool is missing (run 'make bench' as root to install it)"; exit 1; }
done
pkg-config --exists libcjson || { say "bench: libcjson-dev is missing"; exit 1; }

D=$(mktemp -d /tmp/lua-anthropic-bench.XXXXXX)
chmod 755 "$D" # nginx's worker may run as another user
NGINX_PID=
cleanup() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "bench: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- inputs: canned responses, the baseline, the SDK ----
"$LUA" bench/gen.lua "$D"
mkdir -p "$BUILD/bench"
BASELINE="$BUILD/bench/baseline"
# shellcheck disable=SC2046
cc -std=c11 -O2 -g -Wall -Wextra -o "$BASELINE" bench/baseline.c $(pkg-config --cflags --libs libcurl libcjson)

NOTES=()
NOTES+=("Lua-cURL: skipped; Debian has no Lua 5.4 build of it (its lua-curl package is luacurl 0.3.0, for Lua 5.1 and 5.2).")
HAVE_SDK=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  want=$(sed -n 's/.*"@anthropic-ai\/sdk": *"\([^"]*\)".*/\1/p' bench/package.json)
  have=$(node -e "try{console.log(require('./bench/node_modules/@anthropic-ai/sdk/package.json').version)}catch{}" 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    say "bench: installing @anthropic-ai/sdk@$want into bench/node_modules"
    (cd bench && npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || true
    have=$(node -e "try{console.log(require('./bench/node_modules/@anthropic-ai/sdk/package.json').version)}catch{}" 2>/dev/null || true)
  fi
  if [ -n "$have" ]; then HAVE_SDK=1; SDK_VERSION=$have
  else NOTES+=("TypeScript SDK: skipped; npm could not install @anthropic-ai/sdk into bench/node_modules."); fi
else
  NOTES+=("TypeScript SDK: skipped; node or npm is not installed.")
fi

# ---- the server: nginx on a free loopback port, started and stopped by PID ----
free_port() {
  "$LUA" -e 'local s = require "socket"; local t = assert(s.bind("127.0.0.1", 0)); local _, p = t:getsockname(); t:close(); print(p)'
}
write_nginx_conf() { # PORT
  local port=$1 sse
  sse='default_type text/event-stream; add_header cache-control no-cache always; add_header request-id req_011CbenchSSE0000000000000 always;'
  cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/nginx.pid;
error_log $D/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $D/tmp-body;
  proxy_temp_path $D/tmp-proxy;
  fastcgi_temp_path $D/tmp-fastcgi;
  uwsgi_temp_path $D/tmp-uwsgi;
  scgi_temp_path $D/tmp-scgi;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  sendfile on;
  tcp_nodelay on;
  server_tokens off;
  etag off;
  server {
    listen 127.0.0.1:$port;
    # The static module answers POST with 405: serve the same file as the answer instead.
    error_page 405 =200 \$uri;
    add_header request-id req_011CbenchJSON000000000000 always;
    add_header anthropic-organization-id 00000000-0000-4000-8000-000000000000 always;
    add_header anthropic-ratelimit-requests-limit 4000 always;
    add_header anthropic-ratelimit-requests-remaining 3999 always;
    add_header anthropic-ratelimit-requests-reset 2026-01-01T00:00:00Z always;
    add_header anthropic-ratelimit-tokens-limit 2000000 always;
    add_header anthropic-ratelimit-tokens-remaining 1999000 always;
    add_header anthropic-ratelimit-tokens-reset 2026-01-01T00:00:00Z always;
    location = /v1/messages       { default_type application/json; alias $D/message.json; }
    location = /small/v1/messages { $sse alias $D/small.sse; }
    location = /mid/v1/messages   { $sse alias $D/mid.sse; }
    location = /big/v1/messages   { $sse alias $D/big.sse; }
  }
}
EOF
}
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  write_nginx_conf "$PORT"
  "${PIN_SERVER[@]}" nginx -e "$D/nginx-error.log" -p "$D" -c "$D/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  for _ in $(seq 50); do
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
    if "$LUA" -e "local s = require 'socket'; assert(s.connect('127.0.0.1', $PORT)):close()" 2>/dev/null; then break 2; fi
    sleep 0.1
  done
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=
  say "bench: nginx did not start on port $PORT (attempt $attempt)"
done
[ -n "$NGINX_PID" ] || { cat "$D/nginx-error.log" >&2 || true; exit 1; }
BASE="http://127.0.0.1:$PORT"
say "bench: nginx $(nginx -v 2>&1 | sed 's/.*\///') on $BASE (pid $NGINX_PID), data in $D"

# ---- the rows: id client workload n inflight variant cg_a cg_b ----
# n is per timed run; cg_a/cg_b are the two request counts of the callgrind runs, whose
# difference gives instructions per request (start-up and warm-up cancel). A workload's baseline
# and ours rows run back to back (in reverse order every other run), so the ratio of the two
# within one run is what the report takes the median of. Streams of 20 MB
# are counted on the 2 MB stream of the same mix and scaled by the number of events; "-": not
# counted (node under callgrind takes about a minute a run).
ROWS=$(cat <<'EOF'
create/baseline    baseline  create 10000 1  -    20 220
create/ours        ours      create 10000 1  -    20 220
create/raw         baseline  create 10000 1  raw  20 220
create/luasocket   luasocket create 10000 1  -    20 220
create/sdk         sdk       create 2000  1  -    20 80
small/baseline     baseline  small  3000  1  -    5  45
small/ours         ours      small  3000  1  -    5  45
small/raw          baseline  small  3000  1  raw  5  45
small/luasocket    luasocket small  3000  1  -    5  45
small/sdk          sdk       small  1000  1  -    5  25
big/baseline       baseline  big    1     1  -    1  2
big/ours           ours      big    1     1  -    1  2
big/ours-flat      ours      big    1     1  flat 1  2
big/raw            baseline  big    1     1  raw  1  2
big/luasocket      luasocket big    1     1  -    1  2
big/sdk            sdk       big    1     1  -    1  2
in8/baseline       baseline  create 10000 8  -    40 240
in8/ours           ours      create 5000  8  -    40 240
in8/sdk            sdk       create 2000  8  -    -  -
in64/baseline      baseline  create 10000 64 -    128 384
in64/ours          ours      create 5000  64 -    128 384
in64/sdk           sdk       create 2000  64 -    -  -
EOF
)

row_cmd() { # client workload n inflight variant
  local client=$1 workload=$2 n=$3 k=$4 variant=$5
  [ "$variant" = - ] && variant=
  case $client in
    baseline) echo "$BASELINE $workload $BASE $D/request.json $n $k $variant" ;;
    luasocket) echo "$LUA bench/luasocket.lua $workload $BASE $D/request.json $n" ;;
    sdk) echo "node bench/sdk.mjs $workload $BASE $D/request.json $n $k" ;;
    ours) echo "$LUA bench/ours.lua $workload $BASE $D/request.json $n $k $variant" ;;
  esac
}

scaled() { # n -> n * SCALE, at least 1 (streams of 20 MB keep their count)
  "$LUA" -e "print(math.max(1, math.floor($1 * $SCALE + 0.5)))"
}

active_rows() {
  while read -r id client workload n k variant cg_a cg_b; do
    [ -z "$id" ] && continue
    [ -n "$ONLY" ] && ! [[ $id =~ $ONLY ]] && continue
    [ "$client" = sdk ] && [ "$HAVE_SDK" = 0 ] && continue
    echo "$id $client $workload $n $k $variant $cg_a $cg_b"
  done <<<"$ROWS"
}

RESULTS="$D/results.txt"
: >"$RESULTS"
say "bench: $RUNS timed runs of $(active_rows | wc -l) rows (medians reported)"
for run in $(seq "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then order=cat; else order=tac; fi
  while read -r id client workload n k variant _ _; do
    [ "$workload" = big ] || n=$(scaled "$n")
    cmd=$(row_cmd "$client" "$workload" "$n" "$k" "$variant")
    if out=$("${PIN_CLIENT[@]}" $cmd 2>"$D/stderr.txt"); then
      line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
      echo "$id run=$run ${line#RESULT }" >>"$RESULTS"
    else
      echo "$id run=$run failed=1" >>"$RESULTS"
      say "bench: $id failed: $cmd"
      tail -5 "$D/stderr.txt" >&2
    fi
  done < <(active_rows | $order)
  say "bench: run $run/$RUNS done ($(( $(date +%s) - T0 ))s)"
done

# ---- instruction counts: callgrind, two request counts per row, two at a time ----
CG="$D/callgrind"
mkdir -p "$CG"
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
  say "bench: counting instructions with callgrind"
  pids=() # (a bare `wait` would wait for nginx too)
  while read -r id client workload n k variant cg_a cg_b; do
    [ "$cg_a" = - ] && continue
    w=$workload
    [ "$w" = big ] && w=mid
    for which in a b; do
      count=$cg_a
      [ "$which" = b ] && count=$cg_b
      cmd=$(row_cmd "$client" "$w" "$count" "$k" "$variant")
      f="$CG/${id//\//_}.$which"
      ( SECONDS=0; valgrind --tool=callgrind --callgrind-out-file="$f.out" $cmd >"$f.stdout" 2>"$f.log" || echo failed >"$f.failed"; echo "$SECONDS" >"$f.seconds" ) &
      pids+=($!)
      if [ "${#pids[@]}" -ge 2 ]; then wait -n "${pids[@]}" || true; still=(); for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && still+=("$p"); done; pids=("${still[@]}"); fi
    done
  done < <(active_rows)
  for p in "${pids[@]}"; do wait "$p" || true; done
  while read -r id _ _ _ _ _ cg_a cg_b; do
    [ "$cg_a" = - ] && continue
    f="$CG/${id//\//_}"
    ia=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.a.log")
    ib=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.b.log")
    if [ -n "$ia" ] && [ -n "$ib" ] && [ ! -e "$f.a.failed" ] && [ ! -e "$f.b.failed" ]; then
      echo "$id callgrind a=$cg_a b=$cg_b ir_a=$ia ir_b=$ib" >>"$RESULTS"
      # instructions by object file (the difference of the two runs), for ours and the baselines
      if command -v callgrind_annotate >/dev/null; then
        for which in a b; do
          callgrind_annotate --threshold=100 "$f.$which.out" 2>/dev/null |
            awk -v id="$id" -v w="$which" '
              /^ *[0-9,]+ .*\[.*\]$/ { ir = $1; gsub(",", "", ir); obj = $NF; gsub(/[\[\]]/, "", obj);
                                       n = split(obj, p, "/"); name = p[n]
                                       if (name == "core.so" && n > 1) name = p[n - 1] "/" name
                                       by[name] += ir }
              END { for (o in by) print id, "object", w, o, by[o] }' >>"$RESULTS"
        done
      fi
    else
      say "bench: callgrind failed for $id (see below)"
      tail -3 "$f.a.log" "$f.b.log" >&2 || true
    fi
  done < <(active_rows)
else
  NOTES+=("Instruction counts: skipped (BENCH_CALLGRIND=0 or no valgrind).")
fi

# ---- the machine, then the table ----
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "kernel=$(uname -sr)"
  echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "libcurl=$(curl-config --version 2>/dev/null | sed 's/libcurl //') ($(pkg-config --modversion libcurl))"
  echo "lua=$("$LUA" -v 2>&1 | awk '{print $2}')"
  echo "cjson=lua-cjson $(dpkg-query -W -f='${Version}' lua-cjson 2>/dev/null || echo '?'), cJSON $(pkg-config --modversion libcjson)"
  echo "luasocket=$(dpkg-query -W -f='${Version}' lua-socket 2>/dev/null || echo '?')"
  echo "nginx=$(nginx -v 2>&1 | sed 's/.*\///')"
  echo "node=$(node --version 2>/dev/null || echo none)"
  echo "sdk=${SDK_VERSION:-none}"
  echo "valgrind=$(valgrind --version 2>/dev/null || echo none)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src lua 2>/dev/null || echo ' + uncommitted changes in src/ or lua/')"
  echo "runs=$RUNS"
  echo "pinned=${PIN_CLIENT[*]:+nginx on CPU 0, clients on CPU 1}"
  echo "scale=$SCALE"
  echo "seconds=$(( $(date +%s) - T0 ))"
  for note in "${NOTES[@]}"; do echo "note=$note"; done
} >"$D/machine.txt"

status=0
"$LUA" bench/report.lua "$RESULTS" "$D/meta.lua" "$D/machine.txt" "$DOCS" "$STRICT" || status=$?
# peak memory of one answer at the max_body cap (a loopback server of its own; not timed)
BUILD="$BUILD" LUA="$LUA" "$LUA" bench/peak_body.lua || status=$?
# peak memory of batch results read as they arrive, against the whole body (not timed)
pacing_doc=; [ "$DOCS" = 1 ] && pacing_doc=docs/performance.md
BUILD="$BUILD" LUA="$LUA" "$LUA" bench/peak_results.lua $pacing_doc || status=$?
# token-aware pacing against the emulator's rate limits (docs/rate-limits.md)
"$LUA" bench/pacing.lua $pacing_doc || { [ "$STRICT" = 1 ] && status=1; }
exit $status
