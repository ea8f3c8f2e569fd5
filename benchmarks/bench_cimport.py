"""What does module state cost a C-level implementation?

Three extensions doing the same operations (each returns its state's ``value``, or ``n``
for ``len``), measured per call:

- ``static``: hand-written C reading C static globals (benchmarks/ext/ref_ext.c with
  REF_STATIC): the non-isolated floor;
- ``cpython``: the same C with per-module state reached the way CPython recommends:
  ``PyModule_GetState(self)`` for module functions, METH_METHOD ``defining_class`` +
  ``PyType_GetModuleState`` for methods, ``PyType_GetModuleByDef(Py_TYPE(self), &def)``
  for slots (3.11+; reported as n/a on 3.10);
- ``hpystate``: Cython ``cdef`` implementations registered with hpystate's cimport API
  (benchmarks/ext/hps_bench.pyx): per-binding trampolines, no lookup.

Metric: instructions per call under callgrind, net of an empty loop. Python subclass
depth 0 and 10 for methods and slots.

    python benchmarks/bench_cimport.py [--json out.json] [--jobs N]
    python benchmarks/bench_cimport.py --quick     # CI smoke: build + wall-clock, tiny counts
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import timeit

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _measure import per_iteration  # noqa: E402

APPROACHES = ("static", "cpython", "hpystate")

SETUP = textwrap.dedent("""
    import sys
    import ref_static, ref_state, hps_bench
    mods = {{"static": ref_static, "cpython": ref_state, "hpystate": hps_bench.defn.create()}}
    mod = mods[{approach!r}]
    f = mod.get
    Box = mod.Box
    Deep = Box
    for i in range(10):
        Deep = type("Deep%d" % i, (Deep,), {{"__slots__": ()}})
    box, deep = Box(), Deep()
""")

CASES = {
    "function()": "f()",
    "method()": "box.get()",
    "method(x)": "box.take(1)",
    "nb_add": "box + 1",
    "nb_add reflected": "1 + box",
    "tp_richcompare": "box == 1",
    "sq_length": "len(box)",
    "method() depth 10": "deep.get()",
    "method(x) depth 10": "deep.take(1)",
    "nb_add depth 10": "deep + 1",
    "tp_richcompare depth 10": "deep == 1",
    "sq_length depth 10": "len(deep)",
}

LOOP = textwrap.dedent("""
    from itertools import repeat
    {setup}
    def loop(n, f=f, box=box, deep=deep):
        for _ in repeat(None, n):   # allocates nothing per iteration
            {stmt}
    loop(int(sys.argv[1]))
""")

SLOT_CONTEXTS = {ctx for ctx in CASES if not ctx.startswith(("function", "method"))}


def build(target):
    """Compile ref_static, ref_state and hps_bench into ``target``."""
    script = textwrap.dedent(f"""
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        ext = {str(HERE / "ext")!r}
        setup(script_args=["build_ext", "--inplace", "-q"], ext_modules=[
            Extension("ref_static", [ext + "/ref_ext.c"], define_macros=[("REF_STATIC", "1")]),
            Extension("ref_state", [ext + "/ref_ext.c"]),
        ] + cythonize([Extension("hps_bench", [ext + "/hps_bench.pyx"])], quiet=True,
                      build_dir={str(target)!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=target, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the benchmark extensions failed:\n{proc.stderr[-3000:]}")


def available(approach, ctx):
    return not (approach == "cpython" and ctx in SLOT_CONTEXTS and sys.version_info < (3, 11))


def program(approach, stmt):
    return LOOP.format(setup=SETUP.format(approach=approach), stmt=stmt)


def measure_callgrind(site, jobs):
    jobs_list = [(a, ctx) for a in APPROACHES for ctx in CASES if available(a, ctx)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        loops = {a: pool.submit(per_iteration, program(a, "pass"), 10_000, 110_000, [site])
                 for a in APPROACHES}
        cells = {(a, ctx): pool.submit(per_iteration, program(a, CASES[ctx]), 10_000, 110_000,
                                       [site])
                 for a, ctx in jobs_list}
        loop = {a: f.result() for a, f in loops.items()}
        return {key: f.result() - loop[key[0]] for key, f in cells.items()}


def measure_time(site, number, repeat):
    sys.path.insert(0, site)
    results = {}
    for a in APPROACHES:
        ns = {}
        exec(SETUP.format(approach=a), ns)
        for ctx, stmt in CASES.items():
            if available(a, ctx):
                t = min(timeit.repeat(stmt, globals=ns, number=number, repeat=repeat))
                results[(a, ctx)] = t / number * 1e9
    return results


def render(results, unit):
    head = (f"{'context':<24} {'static':>9} {'cpython':>9} {'hpystate':>9} "
            f"{'cpython/static':>15} {'hpystate/static':>16}")
    lines = [head, "-" * len(head)]
    for ctx in CASES:
        r = {a: results.get((a, ctx)) for a in APPROACHES}
        cell = lambda v: f"{v:>9.1f}" if v is not None else f"{'n/a':>9}"  # noqa: E731
        ratio = (lambda v: f"{v / r['static']:>14.2f}x" if v is not None else f"{'n/a':>15}")
        lines.append(f"{ctx:<24} {cell(r['static'])} {cell(r['cpython'])} "
                     f"{cell(r['hpystate'])} {ratio(r['cpython'])} {ratio(r['hpystate']):>16}")
    lines.append(f"({unit} per call, net of the loop)")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI smoke mode (wall-clock, tiny)")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    metric = "time" if args.quick or not shutil.which("valgrind") else "callgrind"
    print(f"hpystate cimport benchmark: Python {platform.python_version()}, metric {metric}")
    with tempfile.TemporaryDirectory() as site:
        build(site)
        if metric == "callgrind":
            results, unit = measure_callgrind(site, args.jobs), "instructions"
        else:
            results, unit = measure_time(site, 200 if args.quick else 200_000, 3), "ns"
    print(render(results, unit))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": platform.python_version(), "metric": metric, "unit": unit,
                       "results": {f"{a}|{c}": v for (a, c), v in results.items()}}, f,
                      indent=2)
    return results


if __name__ == "__main__":
    main()
