"""Render the suite's JSON results (``suite.py --json``, ``run.py --all-pythons``) as the
Markdown tables of docs/benchmarks.md.

    python benchmarks/report.py docs/data/suite-3.1*.json > /tmp/tables.md
    python benchmarks/report.py --dispatch docs/data/dispatch-3.1*.json   # bench_dispatch.py
"""
import json
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from approaches import APPROACHES, CONTEXTS, CORRECTNESS  # noqa: E402


def _num(v):
    v = v["median"] if isinstance(v, dict) else v
    return v if isinstance(v, (int, float)) else None


def calls_table(report, metric="callgrind"):
    cells = report[metric]
    keys = list(APPROACHES)
    head = "| context | C static (instr.) | " + " | ".join(APPROACHES[k][0] for k in keys[1:]) + " |"
    lines = [head, "|---" * len(keys) + "|---|"]
    for ctx in report.get("contexts", CONTEXTS):    # a result from before a context existed
        base = _num(cells["static"][ctx])
        row = [ctx, f"{base:.0f}" if base else "n/a"]
        for k in keys[1:]:
            v = _num(cells.get(k, {}).get(ctx))     # absent: an approach added since
            row.append(f"{v / base:.2f}" if v is not None and base else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def correctness_table(reports):
    lines = ["| approach | " + " | ".join(CORRECTNESS) + " |",
             "|---" * (len(CORRECTNESS) + 1) + "|"]
    ref = reports[-1]["correctness"]
    for k in APPROACHES:
        row = [APPROACHES[k][0]]
        for ctx in CORRECTNESS:
            seen = {r["correctness"].get(k, {}).get(ctx, "not measured") for r in reports}
            row.append(" / ".join(sorted(seen)) if len(seen) > 1 else seen.pop())
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def creation_table(reports):
    shapes = [s for s in reports[0]["creation"] if "note" not in reports[0]["creation"][s]]
    lines = ["| Python | " + " | ".join(f"{s}: instr. / µs / KiB" for s in shapes) + " |",
             "|---" * (len(shapes) + 1) + "|"]
    for r in reports:
        row = [r["python"]]
        for s in shapes:
            c = r["creation"][s]
            ins = f"{c['instructions'] / 1000:.0f}k" if "instructions" in c else "-"
            row.append(f"{ins} / {c['us']:.0f} / {c['bytes'] / 1024:.1f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def creation_scaling_table(reports):
    """hpystate's creation instructions and memory as a ratio to hand-written C, by the
    number of types (``creation_by_types``)."""
    reports = [r for r in reports if "creation_by_types" in r]
    if not reports:
        return "(no result has creation by number of types)"
    by = reports[0]["creation_by_types"]
    counts = list(by["C by hand"])
    shapes = [s for s in by if s != "C by hand"]
    head = "| Python | " + " | ".join(f"{s}, {n} type{'s' if n != '1' else ''}"
                                     for s in shapes for n in counts) + " |"
    lines = [head, "|---" * (1 + len(shapes) * len(counts)) + "|"]
    for r in reports:
        c = r["creation_by_types"]
        metric = "instructions" if "instructions" in c["C by hand"][counts[0]] else "us"
        row = [r["python"]]
        for s in shapes:
            for n in counts:
                row.append(f"{c[s][n][metric] / c['C by hand'][n][metric]:.2f} / "
                           f"{c[s][n]['bytes'] / c['C by hand'][n]['bytes']:.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def dispatch_table(paths):
    """bench_dispatch.py results: hpystate ÷ each reference, one column group per version."""
    reports = sorted((json.load(open(p)) for p in paths),
                     key=lambda r: tuple(int(x) for x in r["python"].split(".")))
    refs = ("by hand", "partial", "plain")
    head = "| context | " + " | ".join(f"{r['python']} ÷ {ref}" for r in reports
                                         for ref in refs) + " |"
    lines = [head, "|---" * (1 + len(reports) * len(refs)) + "|"]
    for ctx in reports[0]["results"]:
        row = [ctx]
        for r in reports:
            cell = r["results"][ctx]
            row += [f"{cell['hpystate'] / cell[ref]:.2f}" for ref in refs]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(paths):
    if paths and paths[0] == "--dispatch":
        print(dispatch_table(paths[1:]))
        return
    reports = sorted((json.load(open(p)) for p in paths),
                     key=lambda r: tuple(int(x) for x in r["python"].split(".")))
    for r in reports:
        print(f"### CPython {r['python']}: instructions per call, ratio to C static\n")
        if r["not_built"]:
            for k, why in r["not_built"].items():
                print(f"{APPROACHES[k][0]}: not built ({why}).\n")
        print(calls_table(r))
        print()
    print("### Correctness: `class Both(m1.Box, m2.Box)`, does m2's code see m2's state?\n")
    print(correctness_table(reports))
    print()
    print("### Module instance creation + destruction (10 types x 10 methods, 50 functions)\n")
    print(creation_table(reports))
    print()
    print("### Creation by number of types: instructions / memory, ratio to C by hand\n")
    print(creation_scaling_table(reports))


if __name__ == "__main__":
    main(sys.argv[1:])
