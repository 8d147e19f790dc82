#!/usr/bin/env bash
# Prints the ratios of the last `cargo bench` run of this crate: for every group, the median
# time of `mpp-0.18.2` over the median time of `mpp-core` (above 1: mpp-core is faster).
#
#   benches/ratios.sh [CRITERION_DIR]   (default: $CARGO_TARGET_DIR/criterion or target/criterion)
set -euo pipefail
cd "$(dirname "$0")"
dir="${1:-${CARGO_TARGET_DIR:-target}/criterion}"
command -v jq > /dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
median() { jq '.median.point_estimate' "$dir/$1/$2/new/estimates.json"; }
printf '%-30s %12s %12s %8s\n' group mpp-core mpp-0.18.2 ratio
for group in issue_challenge parse_and_verify_credential parse_www_authenticate respond_402; do
  [ -f "$dir/$group/mpp-core/new/estimates.json" ] || continue
  ours=$(median "$group" mpp-core)
  theirs=$(median "$group" mpp-0.18.2)
  awk -v g="$group" -v a="$ours" -v b="$theirs" \
    'BEGIN { printf "%-30s %9.2f µs %9.2f µs %7.2fx\n", g, a / 1000, b / 1000, b / a }'
done
