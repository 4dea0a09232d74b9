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
#
# SI_TEST_BUILD_ONLY=1 stops after installing and building: no tests run, and
# the default stage is release alone (scripts/fresh-root-check.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

build_only=${SI_TEST_BUILD_ONLY:-0}
stages=("$@")
if [ ${#stages[@]} -eq 0 ]; then
  stages=(release asan tsan)
  [ "$build_only" = 1 ] && stages=(release)
fi
for s in "${stages[@]}"; do
  case $s in
    release | asan | tsan) ;;
    *) echo "usage: $0 [release] [asan] [tsan]" >&2; exit 2 ;;
  esac
done

jobs=$(nproc)
summary=()
# run <label> <command...>: runs it and records its wall and CPU time (CPU
# time tells more on a shared machine).
run() {
  local label=$1 t TIMEFORMAT="%R %U %S"
  shift
  t=$({ time "$@" >&3 2>&4; } 2>&1) || return
  summary+=("$(echo "$t" | awk -v l="$label" '{ printf "%-12s wall %5.0f s   cpu %5.0f s", l, $1, $2 + $3 }')")
} 3>&1 4>&2

for s in "${stages[@]}"; do
  echo "=== $s"
  cmake --preset "$s" >/dev/null
  run "$s build" cmake --build --preset "$s" -j"$jobs"
  [ "$build_only" = 1 ] && continue
  run "$s tests" ctest --preset "$s" -j"$jobs"
  if [ "$s" = tsan ]; then
    run "tsan cases" ctest --preset tsan-cases -j"$jobs"
  fi
done

echo "=== time per step"
printf '%s\n' "${summary[@]}"
