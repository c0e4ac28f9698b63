#!/usr/bin/env bash
# Median wall time of a whole `tailgrant check` process on the bundled examples, beside
# the median of `true` (process start-up alone) measured in the same run.
# Usage: scripts/process-time.sh [RUNS]   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet
bin=target/release/tailgrant
median() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null || true
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
base=$(median true)
check=$(median "$bin" check policy-examples/relays-per-region.hujson policy-examples/relays-behind-load-balancer.hujson)
echo "true: ${base} us; tailgrant check on policy-examples/*.hujson (2 files): ${check} us (median of $runs)"
