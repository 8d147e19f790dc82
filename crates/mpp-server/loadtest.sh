#!/usr/bin/env bash
# Load test of a paid axum route on loopback: the 402 path (wrk and loadgen) and the verify
# path (loadgen, one fresh credential per request). The route is served by `loadgen --serve`
# with its stand-in method, so what is measured is the server's own overhead, not a chain.
# Bounded in time and count; the server it starts is stopped by its PID.
#
#   crates/mpp-server/loadtest.sh [requests] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/../.."

requests="${1:-20000}"
concurrency="${2:-64}"
addr="127.0.0.1:${MPP_LOADTEST_PORT:-38402}"

cargo build --release -q -p mpp-server --example loadgen
target="${CARGO_TARGET_DIR:-target}/release/examples"

"$target/loadgen" --serve "$addr" > /dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null && break
  sleep 0.1
done

echo "== 402 path (no credential)"
if command -v wrk > /dev/null; then
  wrk -t2 -c"$concurrency" -d10s --latency "http://$addr/resource" | sed -n '1,20p'
else
  echo "(wrk not installed: apt-get install -y wrk)"
fi
"$target/loadgen" "$addr" /resource challenge "$requests" "$concurrency"

echo "== verify path (a fresh credential per request)"
"$target/loadgen" "$addr" /resource verify "$requests" "$concurrency"
