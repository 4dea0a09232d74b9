#!/bin/sh
# Fails listing every tracked C/C++ file that clang-format (the repo's
# .clang-format) would change. Skipped (exit 77) outside a git checkout or
# without clang-format.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not found: skipped"; exit 77; }
files=$(git ls-files '*.c' '*.cc' '*.h' 2>/dev/null) || { echo "not a git checkout: skipped"; exit 77; }
[ -n "$files" ] || { echo "not a git checkout: skipped"; exit 77; }
# shellcheck disable=SC2086
out=$(clang-format --dry-run $files 2>&1)
if [ -n "$out" ]; then
  echo "$out" | grep "warning:" | cut -d: -f1 | sort -u | sed 's/^/needs clang-format: /'
  exit 1
fi
echo "all $(echo "$files" | wc -l) C/C++ files formatted"
