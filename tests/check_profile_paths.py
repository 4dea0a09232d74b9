#!/usr/bin/env python3
"""Runs `sparse-infer ARGS... --profile` and checks that the op type OP
appears COUNT times in the profile and every one of its rows took PATH.
OP@TEXT counts only the rows of op OP whose node name contains TEXT.

    check_profile_paths.py SPARSE_INFER OP[@TEXT] COUNT PATH ARGS...
"""
import subprocess
import sys

exe, op, count, path, *args = sys.argv[1:]
run = subprocess.run([exe, *args, "--profile"], capture_output=True, text=True, timeout=600)
if run.returncode != 0:
    sys.exit(f"sparse-infer failed ({run.returncode}): {run.stderr}")
op, _, node_text = op.partition("@")
rows = [line.split() for line in run.stdout.splitlines()
        if line.split()[:1] == [op] and node_text in line.split()[1]]
print("\n".join(" ".join(r) for r in rows))
if len(rows) != int(count):
    sys.exit(f"expected {count} {op} rows in the profile, found {len(rows)}:\n{run.stdout}")
wrong = [r for r in rows if r[-1] != path]
if wrong:
    sys.exit(f"{len(wrong)} {op} rows did not take the {path} path:\n{run.stdout}")
print(f"ok: all {count} {op} rows took the {path} path")
