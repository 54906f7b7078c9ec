#!/usr/bin/env bash
# Runs fuzz targets one after the other on one core, each for SECONDS.
#
#   fuzz/run.sh SECONDS [TARGET...]     (default: all three targets)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain takes
# cargo-fuzz's nightly flags with RUSTC_BOOTSTRAP=1. The working corpus
# grows in fuzz/corpus/TARGET (not committed), starting from the committed
# seeds in fuzz/seeds/TARGET; crashes land in fuzz/artifacts/TARGET. The
# libFuzzer log of each run is kept as fuzz/logs/TARGET.log; its last
# lines hold the figures fuzz/README.md records (DONE cov: ft:, and the
# stat:: lines).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(condition_parse rule_yaml engine_vs_oracle event_fields)
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  status=0
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -jobs=1 -workers=1 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"logs/$t.out" 2>&1 || status=$?
  cp fuzz-0.log "logs/$t.log"
  echo "$t: exit $status; $(grep -E 'DONE|^==[0-9]+==ERROR|panicked' "logs/$t.log" | tail -1)"
done
