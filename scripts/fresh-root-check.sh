#!/usr/bin/env bash
# Proves the README's two commands and the Debian package work on a fresh
# Debian 12: in minimal bookworm roots (scripts/lib/fresh-root.sh: mmdebstrap
# --variant=minbase, cached; chroot with /proc and /dev mounted) it runs
#
#   quick start  the README "## Quick start" block's line 1 in full, in a root
#                holding a clone of this checkout's committed HEAD; it must
#                print "prediction: 2"
#   tests        line 2 there, with SI_TEST_BUILD_ONLY=1: install and the
#                Release configure and build (build-test), no tests
#   package      `cpack -G DEB` in that build: the .deb of issue 12
#   deb install  in a new root without the sources: apt-get install of that
#                .deb alone (its Depends from Debian, no recommendations),
#                then `sparse-infer --version`, `import sparse_infer` and the
#                bundled digits MLP on its sample input through the installed
#                CLI and Python module, each to predict the sample's label
#
# `--deb FILE.deb` runs the deb install phase alone, on that package (built
# from this commit elsewhere, or altered to see the check fail).
#
# Needs root. Logs: build/fresh-root/*.log. A failure prints the log's first
# error line and exits non-zero. Uncommitted changes are not part of the check.
# scripts/dockerfile-check.sh does the same for deploy/Dockerfile.
set -euo pipefail
[ "${1:-}" = --deb ] && [ -n "${2:-}" ] && set -- --deb "$(realpath -- "$2")"  # before the cd
cd "$(dirname "$0")/.."
name=fresh-root-check
source scripts/lib/fresh-root.sh
src=/src/sparse-infer

deb=""
case ${1:-} in
  "") ;;
  --deb)
    [ $# -eq 2 ] && [ -s "$2" ] || die "usage: $0 [--deb FILE.deb]"
    deb=$2
    ;;
  *) die "usage: $0 [--deb FILE.deb]" ;;
esac
commit=$(git rev-parse HEAD)  # read once: others may commit while this runs
head=${commit:0:7}
for p in root quickstart test package; do took[$p]=0; done

if [ -z "$deb" ]; then
  # --- The README's two commands (as committed): the only ```sh block of
  # "## Quick start", comments after '#' dropped.
  block=$(git show "$commit:README.md" | awk '
    /^## / { sec = ($0 == "## Quick start"); next }
    !sec { next }
    /^```/ { if (inb) { inb = 0 } else { inb = 1; blocks++; if ($0 != "```sh") bad = 1 }; next }
    inb { print }
    END { if (blocks != 1 || bad) exit 3 }
  ') || die "README.md: '## Quick start' must hold exactly one \`\`\`sh code block"
  mapfile -t commands < <(printf '%s\n' "$block" | sed -E 's/(^|[[:space:]])#.*$//; s/[[:space:]]+$//' | grep -v '^$')
  [ ${#commands[@]} -eq 2 ] || die "README.md: the Quick start block must hold two commands (quick start, tests), found ${#commands[@]}"
  echo "$name: commit $head; quick start: '${commands[0]}'; tests: '${commands[1]}'"

  # Root: the cached tarball and a clone of the commit.
  phase_begin root
  new_root root
  git clone -q --no-hardlinks "$repo" "$root$src" >>"$phase_log" 2>&1 || fail root "git clone"
  git -C "$root$src" checkout -q --detach "$commit" >>"$phase_log" 2>&1 || fail root "git checkout"
  phase_end root
  echo "root: ${took[root]} s ($root_how)"

  # Quick start, in full.
  phase_begin quickstart
  in_root "$phase_log" $src "${commands[0]}" || fail "quick start" "'${commands[0]}' exited non-zero"
  grep -q "prediction: 2" "$phase_log" || fail "quick start" "'${commands[0]}' did not print 'prediction: 2'"
  phase_end quickstart
  took[qs_install]=$(installed_seconds "$phase_log")
  echo "quick start: ${took[quickstart]} s: install ${took[qs_install]} s, build and run $((took[quickstart] - took[qs_install])) s"

  # Tests: install, Release configure and build (CMakePresets.json's release:
  # build-test, with the Python module and the server).
  phase_begin test
  in_root "$phase_log" $src "${commands[1]}" SI_TEST_BUILD_ONLY=1 ||
    fail "tests" "SI_TEST_BUILD_ONLY=1 '${commands[1]}' exited non-zero"
  phase_end test
  took[test_install]=$(installed_seconds "$phase_log")
  echo "tests: ${took[test]} s: install ${took[test_install]} s, configure and build $((took[test] - took[test_install])) s"

  # Package: cpack over that build (everything is built already).
  phase_begin package
  in_root "$phase_log" $src/build-test "cpack -G DEB" || fail package "cpack -G DEB exited non-zero"
  debs=("$root$src"/build-test/sparse-infer_*.deb)
  [ ${#debs[@]} -eq 1 ] && [ -s "${debs[0]}" ] || fail package "expected one sparse-infer_*.deb in build-test"
  deb=${debs[0]}
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends" >>"$phase_log"
  if tr ',' '\n' <<<"$depends" | grep -qE '^ *[^ ]+-dev( |$)'; then
    fail package "the .deb depends on a -dev package: $depends"
  fi
  phase_end package
  echo "package: ${took[package]} s: ${deb##*/}, Depends: $depends"
fi

# Deb install: a new root holding the .deb and the bundled model's files,
# not the sources. --no-install-recommends: the Depends alone must suffice.
phase_begin deb-install
new_root root-deb
check=/root/check
mkdir -p "$root$check"
cp "$deb" "$root$check/"
for f in models/digits_mlp.onnx models/digits_mlp/input_0.bin models/digits_mlp/labels.txt; do
  git show "$commit:$f" >"$root$check/${f##*/}"
done
version=$(git show "$commit:CMakeLists.txt" | sed -n 's/^project(sparse_infer VERSION \([0-9.]*\).*/\1/p')
label=$(head -n 1 "$root$check/labels.txt")  # the sample's true label, from the data set
[ -n "$version" ] && [ -n "$label" ] || fail "deb install" "cannot read the project version or the sample's label"
t_install=$SECONDS
in_root "$phase_log" $check "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ./${deb##*/}" ||
  fail "deb install" "apt-get install ./${deb##*/} exited non-zero"
t_install=$((SECONDS - t_install))
# expect WHAT PATTERN COMMAND: COMMAND in the root must succeed and print a
# line matching PATTERN (grep -x).
expect() {
  local out
  out=$(mktemp)
  echo "\$ $3" >>"$phase_log"
  in_root "$out" $check "$3" || { cat "$out" >>"$phase_log"; rm -f "$out"; fail "deb install" "$1: '$3' exited non-zero"; }
  cat "$out" >>"$phase_log"
  grep -qx -- "$2" "$out" || { rm -f "$out"; fail "deb install" "$1: '$3' printed no line '$2'"; }
  rm -f "$out"
}
expect "the CLI" "sparse-infer $version" "sparse-infer --version"
expect "the Python module" "$version" "python3 -c 'import sparse_infer; print(sparse_infer.__version__)'"
expect "CLI inference" " *prediction: $label" "sparse-infer digits_mlp.onnx input_0.bin"
expect "Python inference" "prediction: $label" "python3 -c '
import numpy as np, sparse_infer as ort
sess = ort.InferenceSession(\"digits_mlp.onnx\")
x = np.fromfile(\"input_0.bin\", dtype=np.float32).reshape(1, 64)
(logits,) = sess.run(None, {sess.get_inputs()[0].name: x})
print(\"prediction:\", int(logits.argmax()))'"
phase_end deb-install
echo "deb install: ${took[deb-install]} s: apt-get install $t_install s; sparse-infer $version, import sparse_infer, prediction $label by the CLI and the module"

total=$((took[root] + took[quickstart] + took[test] + took[package] + took[deb-install]))
echo "$name: passed at $head in $total s"
