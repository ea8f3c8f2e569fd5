"""Hardening checks too heavy for the unit tests: leaks over many module lifetimes, threads
racing re-imports, and many subinterpreters. Prints the figures and exits 1 on a failure.

    python tools/stress.py            # full: 10,000 cycles, 8 threads, 100 subinterpreters
    python tools/stress.py --quick    # reduced, for CI: 1,000 cycles, 4 threads, 10 interpreters
    python tools/stress.py --only leaks|threads|subinterpreters
    python tools/stress.py --only threads --threads 16 --iterations 10000

Every check runs two modules with the same members: one implemented in Python with the
decorator API (_stress_module.py), one in C through the cimport API (_stress_cext.pyx, which
this script compiles first with hpystate.build.cythonize: Cython, setuptools and a C
compiler are needed, as for ``pip install ".[test]"``).

Run it with hpystate installed (not from the source tree: it imports the installed build).
"""
import argparse
import gc
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
import weakref

import hpystate
from hpystate import testing

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _stress_module  # noqa: E402


def build_cext(where):
    """Compile _stress_cext.pyx into ``where`` and import it."""
    shutil.copy(os.path.join(HERE, "_stress_cext.pyx"), where)
    script = textwrap.dedent("""
        from setuptools import setup
        import hpystate.build
        setup(script_args=["build_ext", "--inplace"],
              ext_modules=hpystate.build.cythonize(["_stress_cext.pyx"], quiet=True,
                                                   freethreading_compatible=True))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=where, capture_output=True,
                          text=True)
    if proc.returncode:
        raise SystemExit("stress: building _stress_cext failed:\n" + proc.stdout[-3000:]
                         + proc.stderr[-3000:])
    sys.path.insert(0, where)
    return importlib.import_module("_stress_cext")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- leaks --------------------------------------------------------------------------------

def _cycle(mod, i, refs):
    """One module lifetime; what is held past the module varies with i."""
    m = mod.create()
    state = hpystate.state_of(m)
    refs.add(state)                           # a WeakSet: it forgets freed states
    box = m.Box(i)
    assert m.whoami() is state and box.owner() is state and (box + 1).seen is state
    kind = i % 6
    if kind == 0:
        held = None
    elif kind == 1:
        held = box                            # an instance outlives its module
    elif kind == 2:
        try:
            box.fail()
        except ValueError as exc:
            held = exc                        # a raised exception (traceback, frames)
    elif kind == 3:
        held = box.owner                      # a bound method
    elif kind == 4:
        held = m.Box                          # the type
    else:
        held = (m.whoami, state)              # a function and the state itself
    del m, state, box
    if held is not None and kind == 5:
        func, st = held
        assert func() is st                   # still valid without a module reference
    del held
    if i % 10 == 0:
        gc.collect()


def leaks(cycles, label, module):
    mod = module.definition()
    counts = getattr(module, "counts", None)      # the C module's finalizer count
    refs = weakref.WeakSet()
    for i in range(200):                      # warm caches, interned strings, free lists
        _cycle(mod, i, refs)
    gc.collect()
    counts0 = counts() if counts else None
    tracemalloc.start()
    traced0, rss0 = tracemalloc.get_traced_memory()[0], rss_bytes()
    for i in range(cycles):
        _cycle(mod, i, refs)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - traced0
    rss = rss_bytes() - rss0
    tracemalloc.stop()
    alive = len(refs)
    fin = ""
    failures = []
    if counts:
        created, finalized = (b - a for a, b in zip(counts0, counts()))
        fin = f", C finalizers run: {finalized:,} of {created:,} objects"
        if created != finalized or created < 2 * cycles:
            failures.append(f"{label}: {created:,} objects created, {finalized:,} finalized")
    print(f"leaks ({label}): {cycles:,} module lifetimes (6 holding patterns), tracemalloc "
          f"{traced:+,} bytes, RSS {rss / 1024:+,.0f} KiB, states alive: {alive}{fin}")
    if alive:
        failures.append(f"{label}: {alive} state objects never freed")
    if traced > 256 * 1024:
        failures.append(f"{label}: traced memory grew by {traced:,} bytes (bound 256 KiB)")
    if rss > 16 * 1024 * 1024:
        failures.append(f"{label}: RSS grew by {rss / 1024:,.0f} KiB (bound 16 MiB)")
    return failures


# -- threads ------------------------------------------------------------------------------

def threads(n_threads, iterations, modules, timeout=120.0):
    """Workers call functions, methods, slots and getters of whatever instances are current
    (one per module), checking every result is that instance's state, while re-importers
    replace and drop the modules and definers make new definitions, create instances of
    them and drop them; bounded loops, joined with a timeout. On a free-threaded build all
    of it runs with the GIL off (the modules declare gil_used=False)."""
    names = [m.NAME for m in modules]
    for m in modules:
        hpystate.register(m.NAME, m.definition())
    current = {name: importlib.import_module(name) for name in names}
    errors, calls = [], []
    stop = threading.Event()

    def worker():
        rounds = 0                  # per thread: `calls[0] += 1` loses counts without the GIL
        try:
            for _ in range(iterations):
                for name in names:
                    m = current[name]
                    s = hpystate.state_of(m)
                    box = m.Box(1)
                    assert m.whoami() is s and box.owner() is s and box.seen is s
                    assert (box + 1).owner() is s and len(box) == 1
                rounds += 1
                if stop.is_set():
                    break
        except BaseException as exc:          # reported, and stops everyone
            errors.append(exc)
            stop.set()
        calls.append(rounds)

    reimport_lock = threading.Lock()    # importlib itself does not support two threads
                                        # removing and re-importing one name at once

    def reimporter():
        try:
            for i in range(iterations // 10):
                name = names[i % len(names)]
                with reimport_lock:
                    sys.modules.pop(name, None)
                    current[name] = importlib.import_module(name)
                if stop.is_set():
                    return
                time.sleep(0)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    made = []

    def definer(k):
        n = 0
        try:
            for i in range(iterations // 10):
                mod = _stress_module.definition(f"hps_stress_def_{k}_{i}")
                for m in (mod.create(), mod.create()):
                    s = hpystate.state_of(m)
                    box = m.Box(i)
                    assert m.whoami() is s and box.owner() is s and (box + 1).seen is s
                    n += 1
                if stop.is_set():
                    break
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        made.append(n)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)               # switch threads as often as possible
    try:
        # daemon threads: a hung one is reported, and cannot keep the process from exiting
        ts = [threading.Thread(target=worker, daemon=True) for _ in range(n_threads)]
        ts += [threading.Thread(target=reimporter, daemon=True) for _ in range(2)]
        ts += [threading.Thread(target=definer, args=(k,), daemon=True) for k in range(2)]
        for t in ts:
            t.start()
        deadline = time.monotonic() + timeout
        for t in ts:
            t.join(max(0.0, deadline - time.monotonic()))
        hung = sum(t.is_alive() for t in ts)
        stop.set()
    finally:
        sys.setswitchinterval(old_interval)
        for name in names:
            hpystate.unregister(name)
            sys.modules.pop(name, None)
    gil = _gil_state()
    print(f"threads: {n_threads} callers x {iterations:,} iterations over {len(names)} "
          f"modules ({', '.join(names)}) + 2 re-importers + 2 definers ({sum(made):,} "
          f"instances of new definitions), {sum(calls):,} checked call rounds, errors: "
          f"{len(errors)}, hung: {hung}; GIL: {gil}")
    return [f"thread error: {e!r}" for e in errors[:3]] + (
        [f"{hung} threads did not finish in {timeout} s"] if hung else []) + (
        ["the GIL was enabled on a free-threaded build"] if gil == "enabled (free-threaded)"
        else [])


def _gil_state():
    if not testing.FREE_THREADED:
        return "yes (not a free-threaded build)"
    return "enabled (free-threaded)" if sys._is_gil_enabled() else "off (free-threaded)"


# -- subinterpreters ----------------------------------------------------------------------

_SUBINTERPRETERS = '''
import sys, time
import _stress_module as d, _stress_cext as c
if sys.version_info >= (3, 13):
    import _interpreters as interpreters
    make = lambda: interpreters.create("isolated" if ISOLATED else "legacy")
elif sys.version_info >= (3, 12):
    import _xxsubinterpreters as interpreters
    make = lambda: interpreters.create(isolated=ISOLATED)
else:
    import _xxsubinterpreters as interpreters
    make = lambda: interpreters.create()
code = """
import hpystate, _stress_module as d, _stress_cext as c
for mod in (d.definition(), c.definition()):
    for _ in range(10):
        m = mod.create()
        s = hpystate.state_of(m)
        box = m.Box(2)
        assert m.whoami() is s and box.owner() is s and (box + 1).seen is s
"""
main_mods = [d.definition().create(), c.definition().create()]  # used meanwhile
for i in range(COUNT):
    interp = make()
    try:
        interpreters.run_string(interp, code)
    finally:
        interpreters.destroy(interp)
    for m in main_mods:
        assert m.whoami() is __import__("hpystate").state_of(m)
result = COUNT
'''


def subinterpreters(count, cext_dir, timeout=600.0):
    isolated = testing.OWN_GIL
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [HERE, cext_dir, os.environ.get("PYTHONPATH", "")])}
    source = _SUBINTERPRETERS.replace("ISOLATED", str(isolated)).replace("COUNT", str(count))
    proc = subprocess.run([sys.executable, "-c", source], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=HERE)
    ok = proc.returncode == 0
    kind = "own-GIL isolated" if isolated else "legacy (shared-GIL)"
    print(f"subinterpreters: {count} {kind} interpreters created, used (10 instances of "
          f"each module, Python and C) and destroyed: "
          f"{'ok' if ok else f'FAILED (exit {proc.returncode})'}")
    return [] if ok else [f"subinterpreters: {proc.stderr[-2000:]}"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced counts (CI)")
    p.add_argument("--only", choices=("leaks", "threads", "subinterpreters"))
    p.add_argument("--threads", type=int, help="callers in the threads check (default 8)")
    p.add_argument("--iterations", type=int, help="iterations per caller (default 3,000)")
    args = p.parse_args(argv)
    q = args.quick
    print(f"hpystate stress checks: Python {sys.version.split()[0]}"
          f"{' free-threaded' if testing.FREE_THREADED else ''}{' (quick)' if q else ''}",
          flush=True)
    cext_dir = tempfile.mkdtemp(prefix="hpystate-stress-")
    try:
        cext = build_cext(cext_dir)
        modules = [_stress_module, cext]
        n = 1_000 if q else 10_000
        checks = {
            "leaks": lambda: leaks(n, "Python", _stress_module) + leaks(n, "cimport", cext),
            "threads": lambda: threads(args.threads or (4 if q else 8),
                                       args.iterations or (500 if q else 3_000), modules),
            "subinterpreters": lambda: subinterpreters(10 if q else 100, cext_dir),
        }
        failures = []
        for name, run in checks.items():
            if args.only in (None, name):
                failures += run()
    finally:
        shutil.rmtree(cext_dir, ignore_errors=True)
    for f in failures:
        print(f"FAILED: {f}", flush=True)
    if any("did not finish" in f for f in failures):
        os._exit(1)         # skip interpreter shutdown, which would wait on the hung threads
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
