#!/bin/sh
# Fails listing every #include that points up the room map of
# docs/architecture.md (front doors → importers → engine → kernels):
#   kernels/   includes nothing from engine/, importers/ or a front door;
#   engine/    includes nothing from importers/, a front door, protobuf or onnx;
#   importers/ includes no front door.
# Front doors: capi/, tools/, python/, serve/. Skipped (exit 77) outside a git
# checkout.
cd "$(dirname "$0")/.." || exit 1
files=$(git ls-files '*.c' '*.cc' '*.h' 2>/dev/null) || { echo "not a git checkout: skipped"; exit 77; }
[ -n "$files" ] || { echo "not a git checkout: skipped"; exit 77; }

doors='capi|tools|python|serve'
# room: the include paths it must not name (an extended regex on the path).
forbidden() {
  case $1 in
    kernels) echo "^(engine|importers|$doors)/" ;;
    engine) echo "^(importers|$doors)/|^(google/protobuf|onnx)/" ;;
    importers) echo "^($doors)/" ;;
    *) echo "" ;;
  esac
}

bad=0
for f in $files; do
  room=${f%%/*}
  pattern=$(forbidden "$room")
  [ -n "$pattern" ] || continue
  hits=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f" |
    grep -E "$pattern")
  for h in $hits; do
    echo "$f: $room/ must not include $h"
    bad=1
  done
done
[ $bad -eq 0 ] || exit 1
echo "includes follow the room map ($(echo "$files" | wc -l) files)"
