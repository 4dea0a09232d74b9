#!/usr/bin/env bash
# Proves the README's two commands work on a fresh Debian 12: builds a minimal
# bookworm root (mmdebstrap --variant=minbase), clones this checkout's
# committed HEAD into it, and runs, in a chroot with /proc and /dev mounted,
# the two lines of the README's "## Quick start" code block:
#
#   line 1 (quick start)  in full; it must print "prediction: 2"
#   line 2 (tests)        with SI_TEST_BUILD_ONLY=1: install and the Release
#                         configure and build, no tests (scripts/test.sh)
#
# Needs root. The base root is cached as build/fresh-root/bookworm-minbase.tar
# (delete it to download afresh); each run extracts a new copy, and deletes it
# at the end once nothing is mounted in it (SI_FRESH_ROOT_KEEP=1 keeps it).
# Logs: build/fresh-root/*.log. A failure prints the log's first error line and
# exits non-zero. Uncommitted changes are not part of the check.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

die() { echo "fresh-root-check: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mount)"

work=$repo/build/fresh-root
tarball=$work/bookworm-minbase.tar
root=$work/root
src=/src/sparse-infer
case $root in *[[:space:]]*) die "the checkout's path must not contain spaces: $root" ;; esac
mkdir -p "$work"

# --- The README's two commands (as committed): the only ```sh block of
# "## Quick start", comments after '#' dropped.
commit=$(git rev-parse HEAD)  # read once: others may commit while this runs
block=$(git show "$commit:README.md" | awk '
  /^## / { sec = ($0 == "## Quick start"); next }
  !sec { next }
  /^```/ { if (inb) { inb = 0 } else { inb = 1; blocks++; if ($0 != "```sh") bad = 1 }; next }
  inb { print }
  END { if (blocks != 1 || bad) exit 3 }
') || die "README.md: '## Quick start' must hold exactly one \`\`\`sh code block"
mapfile -t commands < <(printf '%s\n' "$block" | sed -E 's/(^|[[:space:]])#.*$//; s/[[:space:]]+$//' | grep -v '^$')
[ ${#commands[@]} -eq 2 ] || die "README.md: the Quick start block must hold two commands (quick start, tests), found ${#commands[@]}"
head=${commit:0:7}
echo "fresh-root-check: commit $head; quick start: '${commands[0]}'; tests: '${commands[1]}'"

# --- Mounts. Everything mounted lies under $root; nothing is deleted while
# anything is still mounted there.
mounts_under() { findmnt -rn -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1'; }
release_root() {
  [ -d "$root" ] || return 0
  # Processes left running inside the root (their root directory is $root).
  local p pids=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  local m
  for m in dev proc; do
    if mountpoint -q "$root/$m"; then
      umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m"
    fi
  done
  if [ -n "$(mounts_under "$root")" ]; then
    echo "fresh-root-check: still mounted under $root; not deleting it:" >&2
    mounts_under "$root" >&2
    return 1
  fi
}
delete_root() {
  release_root || return 1
  rm -rf --one-file-system "$root"
}
on_exit() {
  local rc=$?
  trap - EXIT
  if [ "${SI_FRESH_ROOT_KEEP:-0}" = 1 ]; then
    release_root || rc=1
    [ -d "$root" ] && echo "fresh-root-check: root kept (unmounted) at $root"
  else
    delete_root || rc=1
  fi
  exit $rc
}
trap on_exit EXIT
trap 'echo "fresh-root-check: hangup" >&2; exit 129' HUP
trap 'echo "fresh-root-check: interrupted" >&2; exit 130' INT
trap 'echo "fresh-root-check: terminated" >&2; exit 143' TERM

# --- Phases
declare -A took
phase_log=""
fail() {  # fail PHASE MESSAGE: the first error line of the phase's log, its tail, exit 1
  local first
  first=$(grep -m1 -E '(^|[^[:alnum:]_./-])(error|Error|ERROR|fatal|Fatal|FATAL)([: ]|$)|^E: ' "$phase_log" || true)
  [ -n "$first" ] || first=$(tail -n 1 "$phase_log")
  [ -n "$first" ] || first="(the log is empty)"
  echo "fresh-root-check: FAILED: $1: $2" >&2
  echo "  first error: $first" >&2
  echo "  log: $phase_log; its last 30 lines:" >&2
  tail -n 30 "$phase_log" | sed 's/^/  | /' >&2
  exit 1
}
# in_root LOG COMMAND [VAR=VALUE ...]: bash -c COMMAND in the checkout inside the
# root, with a clean environment plus the given variables, at low priority.
# Waited for in the background, so a signal to this script runs its traps at
# once (release_root then ends what still runs in the root).
in_root() {
  local log=$1 cmd=$2
  shift 2
  nice -n 10 chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" \
    /bin/bash -c "cd $src && $cmd" >"$log" 2>&1 </dev/null &
  wait $!
}
# installed_seconds LOG: the seconds scripts/install-deps.sh reported installing.
installed_seconds() {
  sed -n 's/^install-deps: installed .* in \([0-9]*\) s$/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# Root: the cached tarball, or a new one made from this machine's apt sources
# (a bookworm deb822 or one-line list; else deb.debian.org) and its proxy and
# Release-validity settings.
phase_log=$work/root.log
t0=$SECONDS
delete_root || die "cannot clear the previous root at $root"
root_how="from the cached $tarball"
if [ ! -s "$tarball" ]; then
  if ! command -v mmdebstrap >/dev/null; then
    echo "installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends mmdebstrap >"$phase_log" 2>&1 || fail root "installing mmdebstrap"
  fi
  sources=()
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -qw bookworm "$f"; then sources=("$f"); break; fi
  done
  aptopts=()
  apt-config dump | grep -E '^Acquire::((https?|ftp)::Proxy|Check-Valid-Until|Check-Date)[: ]' \
    >"$work/apt.conf" || true
  [ -s "$work/apt.conf" ] && aptopts=(--aptopt="$work/apt.conf")
  echo "root: mmdebstrap --variant=minbase bookworm (sources: ${sources[*]:-deb.debian.org})"
  mmdebstrap --variant=minbase --format=tar "${aptopts[@]}" bookworm "$tarball.part" \
    "${sources[@]}" >>"$phase_log" 2>&1 </dev/null || fail root "mmdebstrap"
  mv "$tarball.part" "$tarball"
  root_how="created by mmdebstrap, cached as $tarball"
fi
mkdir "$root"
tar -xf "$tarball" -C "$root" || fail root "extracting $tarball"
for f in /etc/resolv.conf /etc/hosts; do
  [ -e "$f" ] && cp -L "$f" "$root$f"
done
git clone -q --no-hardlinks "$repo" "$root$src" >>"$phase_log" 2>&1 || fail root "git clone"
git -C "$root$src" checkout -q --detach "$commit" >>"$phase_log" 2>&1 || fail root "git checkout"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"  # unmounting in the root never reaches the machine's /dev
took[root]=$((SECONDS - t0))
echo "root: $((took[root])) s ($root_how)"

# Quick start, in full.
phase_log=$work/quickstart.log
t0=$SECONDS
in_root "$phase_log" "${commands[0]}" || fail "quick start" "'${commands[0]}' exited non-zero"
grep -q "prediction: 2" "$phase_log" || fail "quick start" "'${commands[0]}' did not print 'prediction: 2'"
took[qs]=$((SECONDS - t0))
took[qs_install]=$(installed_seconds "$phase_log")
echo "quick start: $((took[qs])) s: install $((took[qs_install])) s, build and run $((took[qs] - took[qs_install])) s"

# Tests: install, Release configure and build.
phase_log=$work/test.log
t0=$SECONDS
in_root "$phase_log" "${commands[1]}" SI_TEST_BUILD_ONLY=1 ||
  fail "tests" "SI_TEST_BUILD_ONLY=1 '${commands[1]}' exited non-zero"
took[test]=$((SECONDS - t0))
took[test_install]=$(installed_seconds "$phase_log")
echo "tests: $((took[test])) s: install $((took[test_install])) s, configure and build $((took[test] - took[test_install])) s"

echo "fresh-root-check: passed at $head in $((took[root] + took[qs] + took[test])) s"
