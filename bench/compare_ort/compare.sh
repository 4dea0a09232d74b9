#!/usr/bin/env bash
# Runs compare.js (see there) when node and onnxruntime-node are available;
# otherwise says why and exits 0, so callers can treat ORT as optional.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v node >/dev/null; then
  echo "skipped: node is not installed (apt-get install nodejs npm)"
  exit 0
fi
if [[ ! -d "$here/node_modules/onnxruntime-node" ]]; then
  echo "skipped: onnxruntime-node is not installed (cd $here && npm install --ignore-scripts)"
  exit 0
fi
exec node "$here/compare.js" "$@"
