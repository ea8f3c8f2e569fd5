"""Draw the suite's results (JSON files from ``suite.py --json``) as one PNG: per Python
version, instructions per call relative to the C static-global floor, for each approach
and a selection of contexts. Needs matplotlib (``pip install ".[chart]"``).

    python benchmarks/chart.py results/3.1*.json -o results/chart.png
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from approaches import APPROACHES  # noqa: E402  (the tables' column names)

CONTEXTS = ("function()", "method()", "method(x, y)", "nb_add", "nb_add reflected",
            "tp_richcompare", "sq_length", "tp_hash", "tp_iternext", "getter",
            "nb_add depth 10", "sq_length depth 10", "getter depth 10")


def ratios(report, metric):
    """{approach: [ratio or nan per context]} against the C static global."""
    cells = report[metric]
    base = cells["static"]
    out = {}
    for key, row in cells.items():
        values = []
        for ctx in CONTEXTS:
            v, b = row.get(ctx), base.get(ctx)
            v = v["median"] if isinstance(v, dict) else v
            b = b["median"] if isinstance(b, dict) else b
            ok = isinstance(v, (int, float)) and isinstance(b, (int, float)) and b > 0
            values.append(v / b if ok else math.nan)
        out[key] = values
    return out


def draw(reports, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(reports), 1, figsize=(15, 3.6 * len(reports)),
                             squeeze=False)
    for ax, report in zip(axes[:, 0], reports):
        metric = "callgrind" if "callgrind" in report else "time"
        data = ratios(report, metric)
        keys = list(data)
        width = 0.8 / len(keys)
        for i, key in enumerate(keys):
            xs = [c + (i - (len(keys) - 1) / 2) * width for c in range(len(CONTEXTS))]
            name = APPROACHES[key][0] if key in APPROACHES else key
            label = name + (" (not built)" if key in report.get("not_built", {}) else "")
            ax.bar(xs, data[key], width, label=label)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(CONTEXTS)))
        ax.set_xticklabels(CONTEXTS, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(f"{'instructions' if metric == 'callgrind' else 'ns'} / C static")
        ax.set_title(f"CPython {report['python']}: cost per call relative to a C static "
                     f"global (lower is better; log scale)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", nargs="+", help="JSON files written by suite.py --json")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    args = p.parse_args(argv)
    reports = []
    for name in args.reports:
        with open(name) as f:
            reports.append(json.load(f))
    reports.sort(key=lambda r: tuple(int(x) for x in r["python"].split(".")[:2]))
    draw(reports, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
