#!/usr/bin/env bash
# Profiles lambdagate under load, as bench/run.sh measures it: the stub and
# the gateway pinned to CPU 1, wrk on CPU 0. Prints the CPU profile's top
# functions and keeps the profiles for `go tool pprof`.
#
#   bench/profile.sh [PATH] [SERVE FLAGS...]
#
# PATH is /echo (passthrough, the default) or /apigw (wrap + unwrap).
# Settings (environment): DUR (profile length, default 10s), CONNS (wrk
# connections, default 32), PORT_BASE (default 18280).
set -euo pipefail
cd "$(dirname "$0")/.."
PATH_=${1:-/echo}
shift || true
DUR=${DUR:-10s}
CONNS=${CONNS:-32}
PORT_BASE=${PORT_BASE:-18280}
P_STUB=$((PORT_BASE + 1)) P_LG=$((PORT_BASE + 2)) P_ADMIN=$((PORT_BASE + 3))
command -v wrk >/dev/null || { echo "profile: wrk is missing; bench/run.sh installs it" >&2; exit 1; }

WORK=$(mktemp -d /tmp/lambdagate-profile.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
go build -o "$WORK/lambdagate" ./cmd/lambdagate
go build -o "$WORK/stub" ./bench/stub
go build -o "$WORK/loadgen" ./bench/loadgen
PIN_LOAD=() PIN_PROXY=()
if [ "$(nproc)" -ge 2 ]; then PIN_LOAD=(taskset -c 0) PIN_PROXY=(taskset -c 1); fi

"${PIN_PROXY[@]}" "$WORK/stub" -addr "127.0.0.1:$P_STUB" >"$WORK/stub.log" 2>&1 &
PIDS+=($!)
"$WORK/loadgen" manifests -endpoint "http://127.0.0.1:$P_STUB" >"$WORK/bench.yaml"
export LAMBDAGATE_DATA_DIR=$WORK/data
"$WORK/lambdagate" apply -f "$WORK/bench.yaml" >/dev/null
"${PIN_PROXY[@]}" "$WORK/lambdagate" serve --http-addr "127.0.0.1:$P_LG" --https-addr "" --admin-addr "127.0.0.1:$P_ADMIN" \
  --discovery-interval -1ns --log-level warn --access-log off "$@" >"$WORK/lambdagate.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
  curl -fsS -o /dev/null -X POST --data-binary '{}' "http://127.0.0.1:$P_LG$PATH_" 2>/dev/null && break
  sleep 0.1
done

cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"hello":"world","n":42}'
wrk.headers["Content-Type"] = "application/json"
EOF
secs=${DUR%s}
"${PIN_LOAD[@]}" wrk -t1 -c"$CONNS" -d"$((secs + 2))s" -s "$WORK/post.lua" "http://127.0.0.1:$P_LG$PATH_" >"$WORK/wrk.txt" &
WRK=$!
sleep 1
curl -fsS -o "$WORK/cpu.pprof" "http://127.0.0.1:$P_ADMIN/debug/pprof/profile?seconds=$secs"
curl -fsS -o "$WORK/allocs.pprof" "http://127.0.0.1:$P_ADMIN/debug/pprof/allocs"
wait $WRK
grep -E 'Requests/sec|Latency' "$WORK/wrk.txt"
go tool pprof -top -nodecount=40 "$WORK/lambdagate" "$WORK/cpu.pprof" 2>/dev/null | sed -n 1,48p
echo "profiles: $WORK/cpu.pprof $WORK/allocs.pprof (binary $WORK/lambdagate)"
