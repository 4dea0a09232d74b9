#!/usr/bin/env python3
"""Rewrites skip.txt from a full conformance run.

Every case the engine reports as unsupported (an operator it does not run, a
dtype it does not hold) is listed with that reason. Cases that FAIL are never
skipped here: they are bugs to fix, or entries to add by hand with a reason.

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
        failed.append(f"{case}: {detail}")

out = pathlib.Path(__file__).with_name("skip.txt")
header = ("# ONNX backend cases not run, one per line: <folder>/<case>  <reason>.\n"
          "# Regenerate with tests/conformance/update_skip_list.py BUILD_DIR.\n")
out.write_text(header + "\n".join(sorted(entries)) + "\n")
print(run.stdout, end="")
print(f"{len(entries)} cases skipped; {len(failed)} failing:")
for f in failed:
    print("  " + f)
