"""What does delivering module state cost a Python-level implementation?

For each context (module function, method, slots, getter) this measures one call made
three ways, with the same implementation body:

- ``hpystate``: through hpystate (``m.f()``, ``box.get()``, ``box + 1``, ...), the
  implementation receiving its module instance's state;
- ``by hand``: the same implementation function called directly with the state passed
  explicitly (``impl(state, box)``): the floor for "call this function with its state";
- ``partial``: the implementation called through ``functools.partial(impl, state)``,
  CPython's own C-level object that prepends an argument: the cost of entering a Python
  function from C, which any C-level dispatcher pays on 3.11+ (where ``by hand``, a
  Python-to-Python call, is inlined by the interpreter);
- ``plain``: a plain Python function or class reading a module global: what code without
  per-module state pays for the same operation (for slots this includes Python's own
  dunder dispatch, which ``by hand`` skips).

Metric: instructions per call under ``valgrind --tool=callgrind`` (deterministic), net of
the loop (an empty loop is measured and subtracted), from two runs with different
iteration counts so start-up cancels out. Without valgrind (or with ``--metric time``),
wall-clock nanoseconds per call (median of interleaved repeats; noisy on small machines).

    python benchmarks/bench_dispatch.py                 # callgrind table
    python benchmarks/bench_dispatch.py --metric time   # wall-clock table
    python benchmarks/bench_dispatch.py --quick         # CI smoke: tiny counts, no valgrind
    python benchmarks/bench_dispatch.py --json out.json
"""
import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import statistics
import sys
import textwrap
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import per_iteration  # noqa: E402

SETUP = textwrap.dedent("""
    import hpystate

    class S(hpystate.ModuleState):
        def __init__(self):
            self.n = 0

    d = hpystate.ModuleDef("bench.mod", state=S)

    def f0(state):
        return state

    def f1(state, x):
        return x

    def get(state, self):
        return state

    def take(state, self, x):
        return x

    def add(state, self, other):
        return state

    def radd(state, self, other):
        return state

    def eq(state, self, other):
        return True

    def length(state, self):
        return 1

    def size(state, self):
        return state

    d.function(f0)
    d.function(f1)

    @d.type
    class Box:
        __slots__ = ()
        get = hpystate.method(get)
        take = hpystate.method(take)
        __add__ = hpystate.slot("__add__")(add)
        __radd__ = hpystate.slot("__radd__")(radd)
        __eq__ = hpystate.slot("__eq__")(eq)
        __len__ = hpystate.slot("__len__")(length)
        size = hpystate.getter(size)

    m = d.create()
    s = hpystate.state_of(m)
    box = m.Box()
    Deep = m.Box
    for i in range(10):
        Deep = type("Deep%d" % i, (Deep,), {"__slots__": ()})
    deep = Deep()

    # The plain-Python reference: a module-global "state" and an ordinary class.
    G = S.__new__(S)

    def pf0():
        return G

    def pf1(x):
        return x

    class Plain:
        __slots__ = ()

        def get(self):
            return G

        def take(self, x):
            return x

        def __add__(self, other):
            return G

        def __radd__(self, other):
            return G

        def __eq__(self, other):
            return True

        def __len__(self):
            return 1

        @property
        def size(self):
            return G

    PDeep = Plain
    for i in range(10):
        PDeep = type("PDeep%d" % i, (PDeep,), {"__slots__": ()})
    plain, pdeep = Plain(), PDeep()
    f0m, f1m = m.f0, m.f1

    import functools
    p_f0, p_f1, p_get, p_take, p_add, p_radd, p_eq, p_length, p_size = (
        functools.partial(f, s) for f in (f0, f1, get, take, add, radd, eq, length, size))
""")

# context -> (hpystate, by hand, partial, plain) statements
CASES = {
    "function()": ("f0m()", "f0(s)", "p_f0()", "pf0()"),
    "function(x)": ("f1m(1)", "f1(s, 1)", "p_f1(1)", "pf1(1)"),
    "method()": ("box.get()", "get(s, box)", "p_get(box)", "plain.get()"),
    "method(x)": ("box.take(1)", "take(s, box, 1)", "p_take(box, 1)", "plain.take(1)"),
    "method() depth 10": ("deep.get()", "get(s, deep)", "p_get(deep)", "pdeep.get()"),
    "nb_add": ("box + 1", "add(s, box, 1)", "p_add(box, 1)", "plain + 1"),
    "nb_add reflected": ("1 + box", "radd(s, box, 1)", "p_radd(box, 1)", "1 + plain"),
    "nb_add depth 10": ("deep + 1", "add(s, deep, 1)", "p_add(deep, 1)", "pdeep + 1"),
    "tp_richcompare": ("box == 1", "eq(s, box, 1)", "p_eq(box, 1)", "plain == 1"),
    "sq_length": ("len(box)", "length(s, box)", "p_length(box)", "len(plain)"),
    "getter": ("box.size", "size(s, box)", "p_size(box)", "plain.size"),
}
VARIANTS = ("hpystate", "by hand", "partial", "plain")

LOOP = textwrap.dedent("""
    import sys
    from itertools import repeat
    {setup}
    def loop(n, {names}):
        for _ in repeat(None, n):   # allocates nothing per iteration
            {stmt}
    loop(int(sys.argv[1]), {names})
""")
NAMES = ("f0m", "f1m", "f0", "f1", "pf0", "pf1", "s", "box", "deep", "plain", "pdeep",
         "get", "take", "add", "radd", "eq", "length", "size", "p_f0", "p_f1", "p_get",
         "p_take", "p_add", "p_radd", "p_eq", "p_length", "p_size")


def program(stmt):
    names = ", ".join(f"{n}={n}" for n in NAMES)
    return LOOP.format(setup=SETUP, names=names, stmt=stmt)


def measure_callgrind(cases, n1, n2, jobs):
    stmts = {"pass"} | {stmt for triple in cases.values() for stmt in triple}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {stmt: pool.submit(per_iteration, program(stmt), n1, n2)
                   for stmt in sorted(stmts)}
        per_iter = {stmt: f.result() for stmt, f in futures.items()}
    loop = per_iter["pass"]
    return {ctx: {v: per_iter[stmt] - loop for v, stmt in zip(VARIANTS, triple)}
            for ctx, triple in cases.items()}, loop


def measure_time(cases, number, repeat):
    namespace = {}
    exec(SETUP, namespace)
    empty = timeit.Timer("pass", globals=namespace)
    timers = {(ctx, v): timeit.Timer(stmt, globals=namespace)
              for ctx, triple in cases.items() for v, stmt in zip(VARIANTS, triple)}
    samples = {key: [] for key in timers}
    loop_samples = []
    for _ in range(repeat):                 # interleave to spread machine noise evenly
        loop_samples.append(empty.timeit(number) / number * 1e9)
        for key, timer in timers.items():
            samples[key].append(timer.timeit(number) / number * 1e9)
    loop = statistics.median(loop_samples)
    results = {}
    for (ctx, v), values in samples.items():
        results.setdefault(ctx, {})[v] = statistics.median(values) - loop
        results[ctx][v + " spread"] = (max(values) - min(values))
    return results, loop


def render(results, unit):
    head = (f"{'context':<18} {'hpystate':>9} {'by hand':>9} {'partial':>9} {'plain':>9}"
            f" {'/by hand':>9} {'/partial':>9} {'/plain':>7}")
    lines = [head, "-" * len(head)]
    for ctx, r in results.items():
        lines.append(
            f"{ctx:<18} {r['hpystate']:>9.1f} {r['by hand']:>9.1f} {r['partial']:>9.1f}"
            f" {r['plain']:>9.1f} {r['hpystate'] / r['by hand']:>8.2f}x"
            f" {r['hpystate'] / r['partial']:>8.2f}x {r['hpystate'] / r['plain']:>6.2f}x")
    lines.append(f"({unit} per call, net of the loop; ratios: hpystate / column)")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metric", choices=("callgrind", "time"), default=None,
                   help="default: callgrind when valgrind is installed, else time")
    p.add_argument("--quick", action="store_true",
                   help="smoke mode for CI: tiny iteration counts, wall-clock only")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)

    metric = args.metric or ("callgrind" if shutil.which("valgrind") and not args.quick
                             else "time")
    if args.quick:
        metric = "time"
    print(f"hpystate dispatch benchmark: Python {platform.python_version()}, metric {metric}")
    if metric == "callgrind":
        results, loop = measure_callgrind(CASES, 10_000, 110_000, args.jobs)
        unit = "instructions"
    else:
        number, repeat = (200, 3) if args.quick else (200_000, 9)
        results, loop = measure_time(CASES, number, repeat)
        unit = "ns"
    print(render(results, unit))
    print(f"empty loop iteration: {loop:.1f} {unit}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": platform.python_version(), "metric": metric, "unit": unit,
                       "loop": loop, "results": results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()
