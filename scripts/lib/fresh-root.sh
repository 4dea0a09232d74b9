# Fresh Debian 12 roots for scripts/fresh-root-check.sh and
# scripts/dockerfile-check.sh (sourced by both, from the checkout's top):
# one cached minimal bookworm root (mmdebstrap --variant=minbase), extracted
# anew for each root, commands run in it by chroot with /proc and /dev
# mounted, timed phases whose failure prints the log's first error line, and
# every root released (its processes ended, nothing left mounted) and deleted
# on every exit path (SI_FRESH_ROOT_KEEP=1 keeps them, unmounted).
#
# The sourcing script sets `name` (the prefix of its messages) first.
# Needs root. Logs and roots live in build/fresh-root/; the cached root is
# build/fresh-root/bookworm-minbase.tar (delete it to download afresh).

repo=$(pwd)
work=$repo/build/fresh-root
tarball=$work/bookworm-minbase.tar

die() { echo "$name: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mount)"
case $work in *[[:space:]]*) die "the checkout's path must not contain spaces: $work" ;; esac
mkdir -p "$work"
# One run of each check at a time: a run deletes the roots it is about to
# make (their names are the check's own), ending every process in them.
exec 9>"$work/$name.lock"
flock -n 9 || die "another $name holds $work/$name.lock"

# --- Roots and mounts. Everything mounted lies under a root; nothing is
# deleted while anything is still mounted there.
roots=()  # every root new_root made: released at exit
root=""   # the current one, where in_root runs
mounts_under() { findmnt -rn -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1'; }
# release_root DIR: ends the processes running in DIR, unmounts /proc and /dev.
release_root() {
  local r=$1 p m pids=()
  [ -d "$r" ] || return 0
  for p in /proc/[0-9]*; do  # processes whose root directory is $r
    [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] && pids+=("${p#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  for m in dev proc; do
    if mountpoint -q "$r/$m"; then
      umount -R "$r/$m" 2>/dev/null || umount -R -l "$r/$m"
    fi
  done
  if [ -n "$(mounts_under "$r")" ]; then
    echo "$name: still mounted under $r; not deleting it:" >&2
    mounts_under "$r" >&2
    return 1
  fi
}
delete_root() {
  release_root "$1" || return 1
  rm -rf --one-file-system "$1"
}
on_exit() {
  local rc=$? r
  trap - EXIT
  for r in "${roots[@]}"; do
    if [ "${SI_FRESH_ROOT_KEEP:-0}" = 1 ]; then
      release_root "$r" || rc=1
      [ -d "$r" ] && echo "$name: root kept (unmounted) at $r"
    else
      delete_root "$r" || rc=1
    fi
  done
  exit $rc
}
trap on_exit EXIT
trap 'echo "$name: hangup" >&2; exit 129' HUP
trap 'echo "$name: interrupted" >&2; exit 130' INT
trap 'echo "$name: terminated" >&2; exit 143' TERM

# --- Phases: phase_begin NAME sets phase_log (build/fresh-root/NAME.log) and
# starts the clock; phase_end NAME records took[NAME] in seconds.
declare -A took
phase_log=""
phase_t0=0
phase_begin() { phase_log=$work/$1.log; : >"$phase_log"; phase_t0=$SECONDS; }
phase_end() { took[$1]=$((SECONDS - phase_t0)); }
fail() {  # fail PHASE MESSAGE: the first error line of the phase's log, its tail, exit 1
  local first
  first=$(grep -m1 -E '(^|[^[:alnum:]_./-])(error|Error|ERROR|fatal|Fatal|FATAL)([: ]|$)|^E: ' "$phase_log" || true)
  [ -n "$first" ] || first=$(tail -n 1 "$phase_log")
  [ -n "$first" ] || first="(the log is empty)"
  echo "$name: FAILED: $1: $2" >&2
  echo "  first error: $first" >&2
  echo "  log: $phase_log; its last 30 lines:" >&2
  tail -n 30 "$phase_log" | sed 's/^/  | /' >&2
  exit 1
}

# The environment of every command in a root: a clean one, as a container's.
root_env=(/usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
# in_root LOG DIR COMMAND [VAR=VALUE ...]: COMMAND by /bin/sh -c in DIR inside
# $root, with root_env plus the given variables, at low priority, output
# appended to LOG. Waited for in the background, so a signal to the script
# runs its traps at once (release_root then ends what still runs in the root).
in_root() {
  local log=$1 dir=$2 cmd=$3
  shift 3
  nice -n 10 chroot "$root" "${root_env[@]}" "$@" /bin/sh -c "cd $dir && $cmd" \
    >>"$log" 2>&1 </dev/null &
  wait $!
}
# installed_seconds LOG: the seconds scripts/install-deps.sh reported installing.
installed_seconds() {
  sed -n 's/^install-deps: installed .* in \([0-9]*\) s$/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# ensure_tarball: the cached base root, or a new one made from this
# machine's apt sources (a bookworm deb822 or one-line list; else
# deb.debian.org) and its proxy and Release-validity settings. Sets root_how.
ensure_tarball() {
  root_how="from the cached $tarball"
  [ -s "$tarball" ] && return 0
  exec 8>"$work/tarball.lock"
  flock 8  # the other check may be making it
  [ -s "$tarball" ] && return 0
  if ! command -v mmdebstrap >/dev/null; then
    echo "installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends mmdebstrap >>"$phase_log" 2>&1 || fail root "installing mmdebstrap"
  fi
  local f sources=() aptopts=()
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -qw bookworm "$f"; then sources=("$f"); break; fi
  done
  apt-config dump | grep -E '^Acquire::((https?|ftp)::Proxy|Check-Valid-Until|Check-Date)[: ]' \
    >"$work/apt.conf" || true
  [ -s "$work/apt.conf" ] && aptopts=(--aptopt="$work/apt.conf")
  echo "root: mmdebstrap --variant=minbase bookworm (sources: ${sources[*]:-deb.debian.org})"
  mmdebstrap --variant=minbase --format=tar "${aptopts[@]}" bookworm "$tarball.part" \
    "${sources[@]}" >>"$phase_log" 2>&1 </dev/null || fail root "mmdebstrap"
  mv "$tarball.part" "$tarball"
  root_how="created by mmdebstrap, cached as $tarball"
}

# new_root NAME: a new root at build/fresh-root/NAME from the cached tarball
# (made first if missing), with the machine's resolver and hosts, /proc and
# /dev mounted; it becomes $root. Call it inside a phase.
new_root() {
  ensure_tarball
  root=$work/$1
  delete_root "$root" || die "cannot clear the previous root at $root"
  roots+=("$root")
  mkdir "$root"
  tar -xf "$tarball" -C "$root" || fail root "extracting $tarball"
  local f
  for f in /etc/resolv.conf /etc/hosts; do
    [ -e "$f" ] && cp -L "$f" "$root$f"
  done
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"  # unmounting in the root never reaches the machine's /dev
}
