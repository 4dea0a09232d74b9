#!/usr/bin/env python3
"""Turns the kernel sweep and the FFN-stack results into bench/RESULTS.md and
bench/speedup.png (speedup of the sparse path over oneDNN dense vs density).

    bench/plot_results.py KERNEL_JSON FFN_JSON OUT_DIR

KERNEL_JSON: sparse_matmul_bench --benchmark_format=json output.
FFN_JSON: bench/run_models.sh's ffn_results.json (may be missing).
"""
import json
import os
import platform
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NAME = re.compile(r"(dense|sparse)/K(\d+)xN(\d+)/b(\d+)/t(\d+)(?:/d([0-9.]+))?")


def load_sweep(path):
    data = json.load(open(path))
    dense, sparse, read_gbps = {}, {}, {}
    for b in data["benchmarks"]:
        m = NAME.match(b["name"])
        if not m or b.get("error_occurred"):
            continue
        kind, k, n, batch, threads, d = m.groups()
        key = (int(k), int(n), int(batch), int(threads))
        read_gbps[int(threads)] = b.get("read_GBps", 0)
        if kind == "dense":
            dense[key] = b["p50_us"]
        else:
            sparse[key + (float(d),)] = (b["p50_us"], b.get("density", 0), b.get("efficiency", 0))
    return data.get("context", {}), dense, sparse, read_gbps


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    sweep_path, ffn_path, out_dir = sys.argv[1:4]
    ctx, dense, sparse, read_gbps = load_sweep(sweep_path)
    ffn = json.load(open(ffn_path))["rows"] if os.path.exists(ffn_path) else []
    densities = sorted({key[4] for key in sparse}, reverse=True)
    shapes = sorted({key[:2] for key in dense})
    batches = sorted({key[2] for key in dense})
    threads = sorted({key[3] for key in dense})

    lines = ["# Benchmark results", "",
             f"Machine: {machine()}. Date: {ctx.get('date', '?')}. Commit: {commit()}.",
             "Read bandwidth (sum over 256 MiB): " +
             ", ".join(f"{read_gbps[t]:.1f} GB/s with {t} thread(s)" for t in sorted(read_gbps)) + ".",
             "",
             "Every figure is a median over 60 timed calls, sparse and dense measured in the same",
             "run on the same weights (a rotating set larger than 64 MiB) and inputs (16 batches,",
             "independent random active sets per row, so the active rows change every call).",
             "Speedup = oneDNN prepacked dense p50 / sparse-path p50 (including the pass that finds",
             "the active rows). Above the crossover the engine takes the dense path, so auto mode is",
             "never slower than dense by more than the cost of that pass.", ""]
    for (k, n) in shapes:
        for t in threads:
            lines += [f"## K×N = {k}×{n}, {t} thread(s): speedup of the sparse kernel over dense", "",
                      "| batch | dense p50 µs | " + " | ".join(f"d={d:g}" for d in densities) + " |",
                      "|---|---|" + "---|" * len(densities)]
            for b in batches:
                if (k, n, b, t) not in dense:
                    continue
                dp50 = dense[(k, n, b, t)]
                cells = []
                for d in densities:
                    s = sparse.get((k, n, b, t, d))
                    cells.append(f"{dp50 / s[0]:.2f}×" if s and s[0] > 0 else "-")
                lines.append(f"| {b} | {dp50:.0f} | " + " | ".join(cells) + " |")
            eff = [sparse[(k, n, 1, t, d)][2] for d in densities
                   if (k, n, 1, t, d) in sparse and d >= 0.05]
            if eff:
                lines += ["", f"Batch 1 efficiency (bytes read / read bandwidth) for d ≥ 0.05: "
                          f"{min(eff):.0%} to {max(eff):.0%}."]
            lines.append("")
    if ffn:
        lines += ["## FFN stack, end to end (bench/run_models.sh)", "",
                  "| model | zeros | threads | auto p50 µs | --dense p50 µs | dense/auto | ORT/auto |",
                  "|---|---|---|---|---|---|---|"]
        for r in ffn:
            ort = f"{r['ort_over_auto']:.2f}×" if "ort_over_auto" in r else "-"
            lines.append(f"| {r['model']} | {r['zeros']:.3f} | {r['threads']} | {r['p50_auto_us']:.0f} | "
                         f"{r['p50_dense_us']:.0f} | {r['dense_over_auto']:.2f}× | {ort} |")
        lines.append("")

    fig, axes = plt.subplots(1, len(threads), figsize=(6 * len(threads), 4.5), squeeze=False)
    for ax, t in zip(axes[0], threads):
        for (k, n) in shapes:
            for b in batches:
                pts = [(d, dense[(k, n, b, t)] / sparse[(k, n, b, t, d)][0]) for d in densities
                       if (k, n, b, t, d) in sparse and d > 0 and (k, n, b, t) in dense]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3,
                            label=f"{k}×{n} b{b}")
        for r in ffn:
            if r["threads"] == t and r["model"].startswith("relu"):
                ax.scatter([1 - r["zeros"]], [r["dense_over_auto"]], marker="*", s=120, zorder=5,
                           color="black")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(1, color="gray", lw=0.8)
        ax.set_xlabel("density (fraction of non-zero inputs)")
        ax.set_ylabel("speedup over oneDNN dense")
        ax.set_title(f"{t} thread(s); ★ = FFN stack end to end")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "speedup.png"), dpi=110)
    lines += ["![speedup vs density](speedup.png)", ""]
    open(os.path.join(out_dir, "RESULTS.md"), "w").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
