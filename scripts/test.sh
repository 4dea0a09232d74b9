#!/usr/bin/env bash
# Install what is missing, then build and test three ways (CMakePresets.json):
#
#   release  default compiler, -O3        build-test       every test
#   asan     clang, ASan+LSan+UBSan, -O1  build-test-asan  every test but install_test
#   tsan     clang, TSan, -O1             build-test-tsan  the concurrency tests: label
#                                                          "concurrency", and gtest cases
#                                                          named *Concurren* or *Thread*
#
# Any sanitizer report fails its test (tests/sanitizers/README.md). Stages run
# in the order given, all three by default:
#
#   scripts/test.sh [release] [asan] [tsan]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(release asan tsan)
for s in "${stages[@]}"; do
  case $s in
    release | asan | tsan) ;;
    *) echo "usage: $0 [release] [asan] [tsan]" >&2; exit 2 ;;
  esac
done

jobs=$(nproc)
summary=()
# run <label> <command...>: runs it and records its wall time.
run() {
  local label=$1 start=$SECONDS
  shift
  "$@"
  summary+=("$(printf '%-16s %4d s' "$label" $((SECONDS - start)))")
}

for s in "${stages[@]}"; do
  echo "=== $s"
  cmake --preset "$s" >/dev/null
  run "$s build" cmake --build --preset "$s" -j"$jobs"
  run "$s tests" ctest --preset "$s" -j"$jobs"
  if [ "$s" = tsan ]; then
    run "tsan cases" ctest --preset tsan-cases -j"$jobs"
  fi
done

echo "=== wall time"
printf '%s\n' "${summary[@]}"
