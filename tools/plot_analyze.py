#!/usr/bin/python3
"""Draws `sparse-infer analyze --json` output: per layer, the share of its
MACs reading exact zeros (bar colour: the path auto took) and its share of
the summed layer time in the auto and the dense session.

usage: plot_analyze.py REPORT.json OUT.png

`sparse-infer analyze --plot OUT.png` runs this with /usr/bin/python3; it
needs Debian's python3-matplotlib (scripts/install-deps.sh installs it).
"""
import json
import sys

COLOURS = {"sparse": "tab:green", "mixed": "tab:orange", "dense": "tab:blue"}


def short(name, width=32):
    if len(name) <= width:
        return name
    keep = width - 3
    return name[: keep // 2] + "..." + name[len(name) - (keep - keep // 2):]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-4])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_analyze.py: matplotlib is missing (apt-get install python3-matplotlib)")
    with open(sys.argv[1]) as f:
        report = json.load(f)
    layers = report["layers"]
    if not layers:
        sys.exit("plot_analyze.py: the report has no MatMul, Gemm or Conv layers to draw")
    names = [short(l["node"]) for l in layers]
    x = range(len(layers))
    colours = [COLOURS.get(l["path"], "tab:gray") for l in layers]
    total = {k: sum(l[k] or 0 for l in layers) or 1 for k in ("time_us_auto", "time_us_dense")}

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(max(6, 0.35 * len(layers) + 2), 6))
    top.bar(x, [100 * l["zero_input_fraction"] for l in layers], color=colours)
    top.set_ylabel("MACs reading zeros (%)")
    top.set_ylim(0, 100)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in list(COLOURS.values()) + ["tab:gray"]]
    top.legend(handles, list(COLOURS) + ["not eligible"], fontsize="small", loc="upper right")
    width = 0.4
    for k, (key, label, shade) in enumerate((("time_us_auto", "auto", "0.25"),
                                             ("time_us_dense", "dense", "0.7"))):
        bottom.bar([i + (k - 0.5) * width for i in x],
                   [100 * (l[key] or 0) / total[key] for l in layers], width, label=label,
                   color=shade)
    bottom.set_ylabel("share of layer time (%)")
    bottom.legend(fontsize="small")
    bottom.set_xticks(list(x))
    bottom.set_xticklabels(names, rotation=60, ha="right", fontsize="x-small")
    fig.suptitle(report["verdict"], fontsize="small")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
