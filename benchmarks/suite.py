"""The benchmark suite: what module state costs, per context and per approach.

Builds every approach (benchmarks/approaches.py lists them) into a temporary directory and
measures, on the running interpreter:

- **calls**: instructions per call under ``valgrind --tool=callgrind`` (deterministic; the
  real interpreter binary; one process per approach, each context measured between
  callgrind client requests at two iteration counts so fixed costs cancel, net of an empty
  loop) and wall-clock ns per call (interleaved repeats; median and spread), for a module
  function, methods, slots and a getter at Python-subclass depth 0, 1 and 10;
- **correctness**: with ``class Both(m1.Box, m2.Box)`` over two module instances, which
  instance's state each approach's m2 implementation saw;
- **creation**: a module instance of 10 types x 10 methods and 50 functions
  (benchmarks/big.py): instructions and wall-clock per create + destroy, memory per instance.

    python benchmarks/suite.py                  # full run (callgrind + wall-clock)
    python benchmarks/suite.py --quick          # smoke: tiny counts, no valgrind
    python benchmarks/suite.py --json out.json
"""
import argparse
import concurrent.futures
import glob
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = pathlib.Path(__file__).resolve().parent
EXT = HERE / "ext"
sys.path.insert(0, str(HERE))
import approaches  # noqa: E402
import big  # noqa: E402
from approaches import APPROACHES, CONTEXTS  # noqa: E402
from _measure import child_env, real_python  # noqa: E402

N1, N2 = 2_000, 12_000            # callgrind iteration counts per call context
CREATE_N1, CREATE_N2 = 2, 12      # callgrind create/destroy cycles


# -- building -----------------------------------------------------------------------------

def build(site):
    """Build every approach into ``site``; returns {approach: reason} for those that
    could not be built (reported as such, never dropped)."""
    have_cg = os.path.exists("/usr/include/valgrind/callgrind.h")
    script = textwrap.dedent(f"""
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        ext = {str(EXT)!r}
        c = [Extension("ref_static", [ext + "/ref_ext.c"], define_macros=[("REF_STATIC", "1")]),
             Extension("ref_state", [ext + "/ref_ext.c"])]
        if {have_cg!r}:
            c.append(Extension("cgmark", [ext + "/cgmark.c"]))
        import hpystate
        cy = cythonize([Extension(n, [ext + "/" + n + ".pyx"])
                        for n in ("cy_globals", "hps_c", "hps_cydef")],
                       quiet=True, build_dir={str(site)!r},
                       include_path=[hpystate.cython_include()])
        # As users ship them (for subinterpreters): Cython's module state and type specs.
        import shutil, hpystate.build
        shutil.copy(ext + "/hps_cydef.pyx", "hps_cydef_iso.pyx")    # a module of its own
        iso = hpystate.build.cythonize(
            [Extension("cy_isolated", [ext + "/cy_isolated.pyx"]),
             Extension("hps_cydef_iso", ["hps_cydef_iso.pyx"])],
            quiet=True, build_dir={str(site)!r})
        setup(script_args=["build_ext", "--inplace", "-q"], ext_modules=c + cy + iso)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=site, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the benchmark extensions failed:\n{proc.stderr[-3000:]}")
    for name in ("hps_py.py", "plain_py.py"):
        shutil.copy(EXT / name, site)
    failed = {}
    try:
        import _hpy
        _hpy.build(site)
    except Exception as exc:   # reported in the tables, e.g. "hpy not installed"
        failed["hpy"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    big.build(site)
    return failed


# -- call contexts ------------------------------------------------------------------------

def _callgrind_sections(args, site):
    """Run ``python args...`` under callgrind; return ({label: instructions} of every
    section the program dumped through cgmark, its stdout) or raise RuntimeError."""
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg",
             "--dump-line=no", real_python(), *args],
            capture_output=True, text=True, cwd=out, env=child_env([site, str(HERE)]))
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1][:60])
        counts = {}
        for path in glob.glob(f"{out}/cg.*"):
            with open(path) as f:
                text = f.read(4096)
            label = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.M)
            total = re.search(r"^summary: (\d+)$", text, re.M)
            if label and total:
                counts[label.group(1)] = int(total.group(1))
    return counts, proc.stdout


def _per_iteration(counts, label, n1, n2):
    return (counts[f"{label}|{n2}"] - counts[f"{label}|{n1}"]) / (n2 - n1)


def _run_callgrind(key, site):
    try:
        counts, stdout = _callgrind_sections(
            [str(HERE / "approaches.py"), key, site, str(N1), str(N2)], site)
    except RuntimeError as exc:
        return None, f"failed: {exc}"
    unavailable = json.loads(stdout.strip().splitlines()[-1])
    per_iter = {ctx: _per_iteration(counts, ctx, N1, N2)
                for ctx in ["loop", *CONTEXTS] if ctx not in unavailable}
    loop = per_iter.pop("loop")
    return {ctx: v - loop for ctx, v in per_iter.items()}, unavailable


def measure_callgrind(keys, site, jobs):
    """{approach: {context: instructions or reason string}}"""
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {k: pool.submit(_run_callgrind, k, site) for k in keys}
        for k, fut in futures.items():
            cells, unavailable = fut.result()
            if cells is None:
                results[k] = {ctx: unavailable for ctx in CONTEXTS}
                continue
            results[k] = {ctx: cells.get(ctx, _short(unavailable.get(ctx)))
                          for ctx in CONTEXTS}
    return results


def _cython_version():
    try:
        import Cython
        return Cython.__version__
    except ImportError:
        return None


def _short(reason):
    return f"n/a ({reason[:70]})" if reason else "n/a"


def measure_time(keys, site, number, repeat):
    """{approach: {context: {"median", "min", "max"}}} in ns per call, net of an empty
    loop, all cells interleaved so machine noise spreads evenly."""
    loops, results = {}, {}
    for k in keys:
        ready, unavailable = approaches.prepared_loops(
            approaches.namespace(approaches.new_instance(k, site)))
        loops.update({(k, ctx): loop for ctx, loop in ready.items()})
        results[k] = {ctx: _short(reason) for ctx, reason in unavailable.items()}
    samples = {cell: [] for cell in loops}
    for _ in range(repeat):
        for cell, loop in loops.items():
            t0 = time.perf_counter_ns()
            loop(number)
            samples[cell].append((time.perf_counter_ns() - t0) / number)
    for (k, ctx), values in samples.items():
        base = statistics.median(samples[(k, "loop")])
        if ctx != "loop":
            results[k][ctx] = {"median": statistics.median(values) - base,
                               "min": min(values) - base, "max": max(values) - base}
    return results


def measure_correctness(keys, site):
    out = {}
    for k in keys:
        try:
            out[k] = approaches.correctness(k, site)
        except Exception as exc:
            out[k] = {ctx: f"n/a ({type(exc).__name__})" for ctx in approaches.CORRECTNESS}
    return out


# -- module creation ----------------------------------------------------------------------

def measure_creation(site, metric, quick):
    """({shape: {"instructions"?, "us", "bytes"}} for big.SHAPES at the headline 10 types,
    {shape: {types: row}} at every count of big.TYPE_COUNTS)."""
    by_types = {shape: {} for shape in big.SHAPES}
    for n in big.TYPE_COUNTS:
        for shape in big.SHAPES:
            types = ["--types", str(n)]
            row = json.loads(_python(["create-time", shape, site, "3" if quick else "30",
                                      *types], site))
            row.update(json.loads(_python(["memory", shape, site, *types], site)))
            if metric == "callgrind":
                row["instructions"] = _create_callgrind(shape, site, n)
            by_types[shape][str(n)] = row
    out = {shape: dict(by_types[shape][str(big.N_TYPES)]) for shape in big.SHAPES}
    out["Cython (cdef globals)"] = {"note": "n/a: one instance per process"}
    return out, by_types


def _python(args, site):
    proc = subprocess.run([sys.executable, str(HERE / "big.py"), *args], capture_output=True,
                          text=True, env=child_env([site, str(HERE)]), cwd=site)
    if proc.returncode != 0:
        raise RuntimeError(f"big.py {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def _create_callgrind(shape, site, n_types):
    counts, _ = _callgrind_sections([str(HERE / "big.py"), "create-callgrind", shape, site,
                                     str(CREATE_N1), str(CREATE_N2), "--types", str(n_types)],
                                    site)
    return (_per_iteration(counts, "cycle", CREATE_N1, CREATE_N2)
            - _per_iteration(counts, "gc", CREATE_N1, CREATE_N2))


# -- output -------------------------------------------------------------------------------

W = 10    # column width (labels this wide or wider take two header lines)


def _fmt(v, width=W, ratio=False):
    if isinstance(v, dict):
        v = v["median"]
    if isinstance(v, str):
        return f"{'n/a':>{width}}"
    return f"{v:>{width - 1}.2f}x" if ratio else f"{v:>{width}.1f}"


# The per-call tables: C static (the floor) first in each, then the approaches compared
# with it, C-level implementations in one table, Python-level ones in the other (so each
# fits 100 columns).
CALL_TABLES = (("C-level implementations", ("cpython", "hps-c", "hps-stub", "hps-fb", "hpy")),
               ("def implementations, Cython or Python",
                ("cython", "cython-iso", "hps-cydef", "hps-cydef-plain", "hps-py", "python")))
CTX_W = max(len(c) for c in CONTEXTS) + 1


def render_calls(results, unit, keys):
    """The per-call tables: C static's absolute cost, every other approach as a ratio."""
    unit_short = unit.split(" ")[0]
    out = []
    for title, group in CALL_TABLES:
        cols = [k for k in group if k in keys]
        heads = [_two_lines(APPROACHES[k][0]) for k in ["static", *cols]]
        lines = [f"Per call, {title} ({unit_short}: C static, the others: ratio to it)",
                 (" " * CTX_W + "".join(f"{h[0]:>{W}}" for h in heads)).rstrip(),
                 f"{'context':<{CTX_W}}" + "".join(f"{h[1]:>{W}}" for h in heads)]
        lines.append("-" * len(lines[-1]))
        ratios = {k: _ratios(results, k) for k in cols}
        for ctx in CONTEXTS:
            row = [_fmt(results["static"][ctx])]
            for k in cols:
                r = ratios[k].get(ctx)
                row.append(_fmt(r, ratio=True) if r is not None else _fmt("n/a"))
            lines.append(f"{ctx:<{CTX_W}}" + "".join(row))
        notes = {}
        for k in cols:
            for ctx in CONTEXTS:
                if isinstance(results[k][ctx], str) and results[k][ctx] != "n/a":
                    notes.setdefault(k, results[k][ctx])
        for k, note in notes.items():
            lines += textwrap.wrap(f"{APPROACHES[k][0]}: {note}", 96, initial_indent="  ",
                                   subsequent_indent="    ")
        out.append("\n".join(lines))
    out.append("\n".join(textwrap.wrap(
        f"({unit} net of the empty loop; depth N: an instance of a Python subclass N "
        "levels down)", 96)))
    return "\n\n".join(out)


def _two_lines(label):
    """A column label as two header lines ("hps fallback" -> "hps", "fallback"), split where
    both fit a column with a space before them."""
    if len(label) < W:
        return ("", label)
    words = label.split(" ")
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    return min(splits, key=lambda s: max(map(len, s)))


def _label_width(keys):
    return max(len(APPROACHES[k][0]) for k in keys) + 2


def render_correctness(correct, keys):
    ctxs = list(approaches.CORRECTNESS)
    w = _label_width(keys)
    lines = ["class Both(m1.Box, m2.Box): does m2's implementation see m2's state?",
             f"{'approach':<{w}}" + "".join(f"{c:>20}" for c in ctxs)]
    for k in keys:
        lines.append(f"{APPROACHES[k][0]:<{w}}" + "".join(f"{correct[k][c][:19]:>20}"
                                                          for c in ctxs))
    return "\n".join(lines)


def render_creation(creation):
    lines = ["module instance of 10 types x 10 methods + 50 functions: create + destroy",
             f"{'shape':<22}{'instructions':>14}{'us (median)':>13}{'bytes/instance':>16}"]
    for shape, row in creation.items():
        if "note" in row:
            lines.append(f"{shape:<22}{row['note']:>43}")
            continue
        ins = f"{row['instructions']:>14,.0f}" if "instructions" in row else f"{'-':>14}"
        lines.append(f"{shape:<22}{ins}{row['us']:>13.1f}{row['bytes']:>16,.0f}")
    return "\n".join(lines)


def render_creation_scaling(by_types):
    """hpystate's creation cost and memory against the hand-written C module, by types."""
    counts = list(by_types["C by hand"])
    metric = "instructions" if "instructions" in by_types["C by hand"][counts[0]] else "us"
    what = "instr." if metric == "instructions" else "time"
    lines = [f"creation by number of types (10 methods each, 50 functions), ratio to C by "
             f"hand ({what})",
             f"{'':<20}" + "".join(f"{n + (' type' if n == '1' else ' types'):>18}"
                                   for n in counts),
             f"{'shape':<20}" + f"{what:>9}{'memory':>9}" * len(counts)]
    base = by_types["C by hand"]
    for shape, rows in by_types.items():
        if shape == "C by hand":
            continue
        cells = "".join(f"{rows[n][metric] / base[n][metric]:>8.2f}x"
                        f"{rows[n]['bytes'] / base[n]['bytes']:>8.2f}x" for n in counts)
        lines.append(f"{shape:<20}{cells}")
    return "\n".join(lines)


def _ratios(results, key):
    """{context: ratio to C static} of one approach's numeric cells."""
    out = {}
    for ctx in CONTEXTS:
        v, base = results[key][ctx], results["static"][ctx]
        v = v["median"] if isinstance(v, dict) else v
        base = base["median"] if isinstance(base, dict) else base
        if not isinstance(v, str) and not isinstance(base, str) and base:
            out[ctx] = v / base
    return out


def render_headline(results, correct, unit):
    """The answers first: each approach's range against the floor, and who is wrong."""
    lines = [f"Headline ({unit} per call, as a ratio to C static: hand-written C reading "
             "a static global):"]
    w = _label_width(list(APPROACHES)) - 2
    for k in APPROACHES:
        if k == "static":
            continue
        r = _ratios(results, k)
        r.pop("type_of()", None)        # a checked lookup against a field read: own row
        wrong = [c for c, seen in correct.get(k, {}).items() if seen.startswith("WRONG")]
        if not r:
            why = next((v for v in results[k].values() if isinstance(v, str)), "")
            lines.append(f"  {APPROACHES[k][0]:<{w}} {why or 'not measured'}")
            continue
        span = f"{min(r.values()):.2f}-{max(r.values()):.2f}x"
        seen = set(correct.get(k, {}).values())
        verdict = (f"WRONG state in {len(wrong)} of {len(correct[k])} correctness checks"
                   if wrong else "right state everywhere" if seen == {"right"} else
                   seen.pop() if len(seen) == 1 else "")
        lines.append(f"  {APPROACHES[k][0]:<{w}} {span:>13} over {len(r):>2} contexts"
                     + (f"; {verdict}" if verdict else ""))
    return "\n".join(lines)


def render_legend(keys):
    lines = ["Columns:"]
    w = _label_width(keys)
    for k in keys:
        lines += textwrap.wrap(APPROACHES[k][3], 96, initial_indent=f"  {APPROACHES[k][0]:<{w}}",
                               subsequent_indent=" " * (w + 2))
    return "\n".join(lines)


def plot(report, path):
    """Draw ``report`` with chart.py; returns the line that says where (or why not)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return (f"chart: not drawn, matplotlib is not installed (pip install \".[chart]\" "
                "from the checkout)")
    import chart
    chart.draw([report], path)
    return f"chart: {path}"


def _step(what):
    print(f"  {what} ...", end="", flush=True)
    return time.perf_counter()


def _done(t0):
    print(f" {time.perf_counter() - t0:.0f} s", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke mode (CI): tiny counts, wall-clock only, no valgrind")
    p.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    p.add_argument("--wall-clock", "--wall", action="store_true",
                   help="also print the wall-clock tables (noisy: always in --json)")
    p.add_argument("--plot", metavar="FILE",
                   help="also draw this run as a PNG chart (needs the chart extra)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    metric = "callgrind" if shutil.which("valgrind") and not args.quick else "time"
    measuring = ("instructions (callgrind)" if metric == "callgrind"
                 else "wall-clock only (no valgrind, or --quick)")
    print(f"hpystate benchmark suite: Python {platform.python_version()} "
          f"({platform.machine()}), {measuring}", flush=True)
    keys = list(APPROACHES)
    with tempfile.TemporaryDirectory() as site:
        t = _step(f"building the {len(keys)} approaches")
        failed = build(site)
        _done(t)
        for k, reason in failed.items():
            print(f"    {APPROACHES[k][0]}: not built: {reason}")
        sys.path.insert(0, site)
        built = [k for k in keys if k not in failed]
        report = {"python": platform.python_version(), "machine": platform.machine(),
                  "cython": _cython_version(),
                  "approaches": {k: APPROACHES[k][3] for k in keys},
                  "not_built": failed, "contexts": CONTEXTS}

        def blank(results):
            for k in failed:
                results[k] = {ctx: f"not built: {failed[k]}" for ctx in CONTEXTS}
            return results

        number, repeat = (200, 3) if args.quick else (20_000, 7)
        t = _step(f"wall-clock, {len(CONTEXTS)} contexts x {len(built)} approaches")
        report["time"] = blank(measure_time(built, site, number, repeat))
        _done(t)
        if metric == "callgrind":
            t = _step(f"instructions under callgrind, {args.jobs} at a time")
            report["callgrind"] = blank(measure_callgrind(built, site, args.jobs))
            _done(t)
        t = _step("correctness: class Both(m1.Box, m2.Box)")
        correct = measure_correctness(built, site)
        for k in failed:
            correct[k] = {c: "not built" for c in approaches.CORRECTNESS}
        report["correctness"] = correct
        _done(t)
        t = _step("module creation and memory")
        report["creation"], report["creation_by_types"] = measure_creation(
            site, metric, args.quick)
        _done(t)
    main_metric, unit = (("callgrind", "instructions") if metric == "callgrind"
                         else ("time", "ns (median of interleaved repeats)"))
    print()
    if args.quick:
        print("(smoke mode: a few hundred calls per cell, so the numbers below say nothing)")
    print(render_headline(report[main_metric], correct, unit.split(" ")[0]))
    print()
    print(render_correctness(correct, keys))
    print()
    print(render_legend(keys))
    print()
    print(render_calls(report[main_metric], unit, keys))
    if args.wall_clock and metric == "callgrind":
        print()
        print(render_calls(report["time"], "ns (median of interleaved repeats)", keys))
    print()
    print(render_creation(report["creation"]))
    print()
    print(render_creation_scaling(report["creation_by_types"]))
    if metric == "callgrind" and not args.wall_clock:
        print("\n(wall-clock tables: --wall-clock; every number: --json FILE; "
              "docs/benchmarks.md reads them)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.plot:
        print()
        print(plot(report, args.plot))
    wrong = [f"{APPROACHES[k][0]} {ctx}: {seen}" for k in keys if k.startswith("hps-")
             for ctx, seen in correct[k].items() if seen != "right"]
    if wrong:       # hpystate's promise; the smoke run in CI fails on it
        sys.exit("hpystate delivered the wrong state: " + "; ".join(wrong))
    return report


if __name__ == "__main__":
    main()
