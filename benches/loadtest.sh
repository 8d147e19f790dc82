#!/usr/bin/env bash
# The 402 path under load: each router of `src/routers.rs` served on loopback by
# `examples/server.rs` (ours: mpp-server with mpp-tempo; reference: crate mpp 0.18.2; free: the
# same route without a payment gate), and wrk sending requests without a credential. The server
# runs on CPU 0 and wrk on CPU 1, so each has one core to itself (as far as the rest of the
# machine allows). Prints, per round: requests per second, p50 and p99 latency, the server's CPU
# time per request and the machine's load average; the servers alternate so that they see the
# same conditions. Bounded in time; each server is stopped by its PID.
#
#   benches/loadtest.sh [connections] [seconds] [rounds]     (default: 32 10 3)
set -euo pipefail
cd "$(dirname "$0")"

connections="${1:-32}"
seconds="${2:-10}"
rounds="${3:-3}"
port="${MPP_LOADTEST_PORT:-38401}"

command -v wrk > /dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q --example server
server="${CARGO_TARGET_DIR:-target}/release/examples/server"
ticks=$(getconf CLK_TCK)

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

# The server's user + system CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf '%-10s %5s %12s %10s %10s %14s   %s\n' \
  server round requests/s p50 p99 "cpu/request" "load average"
for round in $(seq "$rounds"); do
  for which in free ours reference; do
    taskset -c 0 "$server" "$which" "127.0.0.1:$port" > /dev/null &
    pid=$!
    for _ in $(seq 100); do
      (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
      sleep 0.05
    done
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    before=$(cpu "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency \
      "http://127.0.0.1:$port/resource")
    after=$(cpu "$pid")
    kill "$pid"
    wait "$pid" 2> /dev/null || true
    pid=""
    total=$(awk '/requests in/ { print $1 }' <<< "$out")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<< "$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
    if [ "$which" != free ]; then
      # Every answer must be the 402 (wrk counts them as non-2xx).
      non2xx=$(awk '/Non-2xx/ { print $5 }' <<< "$out")
      [ "$non2xx" = "$total" ] || {
        echo "$which did not answer every request with 402:" >&2
        echo "$out" >&2
        exit 1
      }
    fi
    per=$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$total" \
      'BEGIN { printf "%.1f us", t / hz * 1e6 / n }')
    printf '%-10s %5s %12s %10s %10s %14s   %s\n' \
      "$which" "$round" "$rps" "$p50" "$p99" "$per" "$load"
  done
done
