#!/usr/bin/env python3
"""Rewrites skip.txt from a full conformance run.

Every case the engine reports as unsupported (an operator it does not run, a
dtype it does not hold) is listed with that reason. Cases that FAIL are never
skipped by the script: they are bugs to fix, or entries written by hand with
a reason, which are kept for as long as the case still fails.

    tests/conformance/update_skip_list.py BUILD_DIR [DATA_ROOT]
"""
import pathlib
import re
import subprocess
import sys

build = pathlib.Path(sys.argv[1])
root = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/libonnx-testdata/data"
runner = build / "tests" / "conformance" / "si_conformance"
run = subprocess.run([str(runner), "--summary", root], capture_output=True, text=True, check=True)

out = pathlib.Path(__file__).with_name("skip.txt")
by_hand = {}
if out.exists():
    for line in out.read_text().splitlines():
        if line and not line.startswith("#"):
            case, _, reason = line.partition(" ")
            by_hand[case] = reason.strip()

entries, failed = [], []
for line in run.stderr.splitlines():
    outcome, case, *rest = line.split(" ", 2)
    detail = rest[0] if rest else ""
    if outcome == "unsupported":
        op = re.search(r"unsupported operator (\S+)", detail)
        dtype = re.search(r"has dtype (\w+)", detail)
        if op:
            reason = f"operator {op.group(1)} not implemented"
        elif dtype:
            reason = f"dtype {dtype.group(1)} not supported"
        else:
            reason = detail.split(".onnx: ", 1)[-1]
        entries.append(f"{case}  {reason[:160]}")
    elif outcome == "failed":
        if case in by_hand:
            entries.append(f"{case}  {by_hand[case]}")
        else:
            failed.append(f"{case}: {detail}")

header = ("# ONNX backend cases not run, one per line: <folder>/<case>  <reason>.\n"
          "# Regenerate with tests/conformance/update_skip_list.py BUILD_DIR.\n")
out.write_text(header + "\n".join(sorted(entries)) + "\n")
print(run.stdout, end="")
print(f"{len(entries)} cases skipped; {len(failed)} failing without a hand-written entry:")
for f in failed:
    print("  " + f)
