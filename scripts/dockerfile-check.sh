#!/usr/bin/env bash
# Runs deploy/Dockerfile without Docker (none here): each stage in a fresh
# Debian 12 minbase root (scripts/lib/fresh-root.sh, standing in for
# debian:bookworm-slim), its instructions read from the committed Dockerfile
# and done the way `docker build` does them:
#
#   FROM debian:bookworm-slim [AS n]  a new root
#   COPY [--from=n] SRC... DEST       from the committed tree (the build
#                                     context) or an earlier stage's root
#   WORKDIR, VOLUME                   the directory, made in the root
#   RUN (shell form)                  /bin/sh -c in the WORKDIR, in the chroot
#   USER, EXPOSE, ENTRYPOINT, CMD     recorded for the run
#
# (anything else fails: teach this script first). Then it runs the image as
# `docker run IMAGE --http-address 127.0.0.1 --http-port 0` would: the
# ENTRYPOINT, as USER, with a model repository holding the bundled digits MLP
# in /models, and those arguments in place of CMD (loopback only, and a free
# port, as the machine is shared). It waits for the "listening" line, polls
# /v2/health/ready with the image's curl until 200, checks the model's
# readiness and one infer (the sample's label), sends SIGTERM and requires
# exit code 0. Every wait is bounded; whatever still runs in a root is ended
# on every exit path. Logs: build/fresh-root/docker-*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
name=dockerfile-check
source scripts/lib/fresh-root.sh
dockerfile=deploy/Dockerfile
commit=$(git rev-parse HEAD)  # read once: others may commit while this runs
echo "$name: commit ${commit:0:7}; $dockerfile"

# The build context: the committed tree.
phase_begin docker-context
context=$work/docker-context
rm -rf --one-file-system "$context"
mkdir "$context"
git archive "$commit" | tar -x -C "$context" || fail docker-context "git archive $commit"
phase_end docker-context

# Logical lines: continuations joined, comments and blank lines dropped.
mapfile -t lines < <(git show "$commit:$dockerfile" | awk '
  /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
  { line = line $0 }
  /\\$/ { sub(/\\$/, "", line); next }
  { print line; line = "" }')

# json_words JSON: the words of an exec-form array, one per line.
json_words() {
  python3 -c 'import json, sys
w = json.loads(sys.argv[1])
assert isinstance(w, list) and all(isinstance(x, str) for x in w), "not an array of strings"
print("\n".join(w))' "$1"
}
# copy SRC_BASE SRC DEST: Docker's COPY of one source (glob allowed).
copy() {
  local base=$1 pattern=$2 dest=$3 s matches
  case $dest in /*) ;; *) dest=$workdir/$dest ;; esac
  shopt -s nullglob
  # shellcheck disable=SC2206  # the pattern is meant to glob
  matches=($base/$pattern)
  shopt -u nullglob
  [ ${#matches[@]} -gt 0 ] || fail "$stage_label" "COPY $pattern: no such file in the source"
  for s in "${matches[@]}"; do
    if [ -d "$s" ]; then  # a directory's contents
      mkdir -p "$root$dest" && cp -a "$s/." "$root$dest/"
    elif [ ${#matches[@]} -gt 1 ] || [[ $dest == */ ]] || [ -d "$root$dest" ]; then
      mkdir -p "$root$dest" && cp -a "$s" "$root$dest/"
    else
      mkdir -p "$(dirname "$root$dest")" && cp -a "$s" "$root$dest"
    fi
  done
}

declare -A stage_root
stage=0 stage_label="" workdir=/ user=root entrypoint=() cmd=() expose=""
for line in "${lines[@]}"; do
  read -r instr args <<<"$line"
  instr=${instr^^}
  if [ "$instr" != FROM ] && [ $stage -eq 0 ]; then die "$dockerfile: $instr before FROM"; fi
  case $instr in
    FROM)
      if [ $stage -gt 0 ]; then
        phase_end "$stage_label"
        echo "stage $stage: ${took[$stage_label]} s"
      fi
      read -r image as sname extra <<<"$args"
      [ "$image" = debian:bookworm-slim ] || die "$dockerfile: FROM $image: only debian:bookworm-slim has a stand-in here"
      stage=$((stage + 1)) stage_label=docker-stage$stage workdir=/ user=root entrypoint=() cmd=()
      phase_begin "$stage_label"
      new_root "root-$stage_label"
      if [ -n "$as" ]; then
        [ "${as^^}" = AS ] && [ -n "$sname" ] && [ -z "$extra" ] || die "$dockerfile: FROM $args"
        stage_root[$sname]=$root
      fi
      ;;
    COPY)
      read -ra words <<<"$args"
      base=$context
      if [[ ${words[0]} == --from=* ]]; then
        base=${stage_root[${words[0]#--from=}]:-} && [ -n "$base" ] || die "$dockerfile: COPY ${words[0]}: no such stage"
        words=("${words[@]:1}")
      fi
      [ ${#words[@]} -ge 2 ] || die "$dockerfile: COPY $args"
      echo "COPY $args" >>"$phase_log"
      for s in "${words[@]:0:${#words[@]}-1}"; do copy "$base" "$s" "${words[-1]}"; done
      ;;
    WORKDIR)
      case $args in /*) workdir=$args ;; *) workdir=$workdir/$args ;; esac
      mkdir -p "$root$workdir"
      ;;
    VOLUME) mkdir -p "$root$args" ;;
    RUN)
      [[ $args != \[* ]] || die "$dockerfile: RUN in exec form is not supported here"
      [ "$user" = root ] || die "$dockerfile: RUN as USER $user is not supported here"
      echo "RUN $args" >>"$phase_log"
      in_root "$phase_log" "$workdir" "$args" || fail "$stage_label" "RUN $args: exited non-zero"
      ;;
    USER) user=$args ;;
    EXPOSE) expose=$args ;;
    ENTRYPOINT | CMD)
      words=$(json_words "$args") || die "$dockerfile: $instr must be an exec-form array of strings"
      if [ $instr = CMD ]; then mapfile -t cmd <<<"$words"; else mapfile -t entrypoint <<<"$words"; fi
      ;;
    *) die "$dockerfile: $instr is not supported by $0 yet" ;;
  esac
done
[ $stage -gt 0 ] || die "$dockerfile: no FROM"
phase_end "$stage_label"
echo "stage $stage: ${took[$stage_label]} s"
[ ${#entrypoint[@]} -gt 0 ] || die "$dockerfile: the image has no ENTRYPOINT"

# --- docker run IMAGE --http-address 127.0.0.1 --http-port 0, with the
# bundled model as /models/digits_mlp/1/model.onnx.
phase_begin docker-run
mkdir -p "$root/models/digits_mlp/1"
git show "$commit:models/digits_mlp.onnx" >"$root/models/digits_mlp/1/model.onnx"
label=$(git show "$commit:models/digits_mlp/labels.txt" | head -n 1)
python3 -c 'import array, json, sys
x = array.array("f"); x.frombytes(open(sys.argv[1], "rb").read())
print(json.dumps({"inputs": [{"name": "input", "shape": [1, len(x)], "datatype": "FP32", "data": list(x)}]}))' \
  "$context/models/digits_mlp/input_0.bin" >"$root/tmp/digit.json"
passwd=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $3 ":" $4 ":" $6; exit }' "$root/etc/passwd")
[ -n "$passwd" ] || die "USER $user: not in the image's /etc/passwd"
IFS=: read -r uid gid home <<<"$passwd"
argv=("${entrypoint[@]}" --http-address 127.0.0.1 --http-port 0)
echo "as $user ($uid:$gid) in $workdir: ${argv[*]}" >>"$phase_log"
chroot --userspec="$uid:$gid" "$root" "${root_env[@]}" HOME="$home" \
  /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "${argv[@]}" >>"$phase_log" 2>&1 </dev/null &
server=$!
# alive: the server has not exited (a zombie, not yet waited for, has).
alive() { [ -r /proc/$server/stat ] && [ "$(sed 's/.*) \(.\).*/\1/' /proc/$server/stat 2>/dev/null)" != Z ]; }
# within SECONDS COMMAND...: true once COMMAND succeeds, polled every 0.2 s.
within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    alive || fail docker-run "the server exited early"
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
listening() { port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$phase_log"); [ -n "$port" ]; }
within 60 listening || fail docker-run "no 'listening' line within 60 s"
# status PATH [CURL ARGS]: the HTTP status of PATH, by the image's curl.
status() { chroot "$root" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${@:2}" "http://127.0.0.1:$port$1"; }
ready() { [ "$(status /v2/health/ready)" = 200 ]; }
within 30 ready || fail docker-run "/v2/health/ready did not answer 200 within 30 s"
t_ready=$((SECONDS - phase_t0))
[ "$(status /v2/models/digits_mlp/ready)" = 200 ] || fail docker-run "/v2/models/digits_mlp/ready is not 200"
prediction=$(chroot "$root" curl -sf --max-time 10 -d @/tmp/digit.json \
  "http://127.0.0.1:$port/v2/models/digits_mlp/infer" | python3 -c 'import json, sys
d = json.load(sys.stdin)["outputs"][0]["data"]
print(max(range(len(d)), key=d.__getitem__))') || fail docker-run "POST /v2/models/digits_mlp/infer failed"
[ "$prediction" = "$label" ] || fail docker-run "the infer predicted $prediction, the sample's label is $label"
kill -TERM $server
deadline=$((SECONDS + 30))
while alive; do
  [ $SECONDS -lt $deadline ] || fail docker-run "still running 30 s after SIGTERM"
  sleep 0.2
done
rc=0
wait $server || rc=$?
[ $rc -eq 0 ] || fail docker-run "exit code $rc after SIGTERM"
grep -q "shutdown complete" "$phase_log" || fail docker-run "no 'shutdown complete' line"
phase_end docker-run
echo "run: ${took[docker-run]} s: ready after $t_ready s on port $port (EXPOSE $expose), prediction $prediction, SIGTERM -> exit 0"

total=0
for k in "${!took[@]}"; do total=$((total + took[$k])); done
echo "$name: passed at ${commit:0:7} in $total s"
