#!/bin/sh
# Drives examples/service with a generated request stream and checks every
# response line.
#
#   service_test.sh <service binary> <models dir> [requests] [workers]
#
# Requests (default 400, 4 workers) cycle over the digits inputs: single rows
# (input_K.bin), the first N rows of batch_16.bin, the whole batch, and a few
# bad requests (missing file, too many rows, malformed line) that must get an
# "error:" line without disturbing the others. Expected classes are the
# arg-max of PyTorch's logits (expected_*.bin), read with od, independently of
# the engine. The service must answer each request exactly once and exit 1
# (some requests failed on purpose).
set -eu

fail() { echo "service_test: FAIL: $*" >&2; exit 1; }

[ $# -ge 2 ] && [ $# -le 4 ] || fail "usage: $0 <service> <models dir> [requests] [workers]"
service=$1 models=$2 requests=${3:-400} workers=${4:-4}
data=$models/digits_mlp
work=$(mktemp -d "${TMPDIR:-/tmp}/si_service_test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The arg-max of each 10-float row of a raw float32 file, space-separated.
classes() {
  od -An -v -t f4 -w40 "$1" |
    awk '{ best = 1; for (i = 2; i <= NF; i++) if ($i + 0 > $best + 0) best = i; print best - 1 }' |
    tr '\n' ' ' | sed 's/ $//'
}

batch=$(classes "$data/expected_batch_16.bin")
[ "$(echo "$batch" | wc -w)" -eq 16 ] || fail "expected_batch_16.bin does not give 16 classes"
for k in 0 1 2 3 4 5 6 7; do
  eval "single_$k=\"\$(classes \"\$data/expected_$k.bin\")\""
done

# requests.txt and, per line, the expected response after the id.
i=1
: >"$work/requests.txt"
: >"$work/expected.txt"
while [ "$i" -le "$requests" ]; do
  case $((i % 10)) in
    0 | 3 | 6)
      rows=$((i % 16 + 1))
      echo "$data/batch_16.bin $rows" >>"$work/requests.txt"
      echo "$i $(echo "$batch" | cut -d' ' -f1-$rows)" >>"$work/expected.txt" ;;
    9)
      case $((i / 10 % 4)) in
        0) echo "$data/no_such_file.bin" >>"$work/requests.txt" ;;
        1) echo "$data/batch_16.bin 17" >>"$work/requests.txt" ;;
        2) echo "$data/batch_16.bin 2 extra" >>"$work/requests.txt" ;;
        3) echo "$data/batch_16.bin" >>"$work/requests.txt"
           echo "$i $batch" >>"$work/expected.txt"
           i=$((i + 1)); continue ;;
      esac
      echo "$i error:" >>"$work/expected.txt" ;;
    *)
      k=$((i % 8))
      echo "$data/input_$k.bin" >>"$work/requests.txt"
      eval "echo \"$i \$single_$k\"" >>"$work/expected.txt" ;;
  esac
  i=$((i + 1))
done

status=0
"$service" "$models/digits_mlp.onnx" "$workers" <"$work/requests.txt" >"$work/out.txt" 2>"$work/err.txt" ||
  status=$?
[ "$status" -eq 1 ] || { cat "$work/err.txt" >&2; fail "exit status $status, expected 1 (some requests are bad)"; }

# Error lines keep only "<id> error:" for the comparison; each must name a cause.
sort -n -k1,1 "$work/out.txt" >"$work/sorted.txt"
awk '$2 == "error:" && NF < 3 { bad = 1 } END { exit bad }' "$work/sorted.txt" ||
  fail "an error line gives no reason"
sed 's/^\([0-9]*\) error:.*/\1 error:/' "$work/sorted.txt" >"$work/got.txt"
if ! cmp -s "$work/got.txt" "$work/expected.txt"; then
  diff "$work/expected.txt" "$work/got.txt" | head -20 >&2
  fail "responses differ from the expected classes (diff above: < expected, > got)"
fi
echo "service_test: ok ($requests requests, $workers workers, $(grep -c ' error:' "$work/out.txt") bad requests rejected)"
