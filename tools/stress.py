"""Hardening checks too heavy for the unit tests: leaks over many module lifetimes, threads
racing re-imports, and many subinterpreters. Prints the figures and exits 1 on a failure.

    python tools/stress.py            # full: 10,000 cycles, 8 threads, 100 subinterpreters
    python tools/stress.py --quick    # reduced, for CI: 1,000 cycles, 4 threads, 10 interpreters
    python tools/stress.py --only leaks|threads|subinterpreters

Run it with hpystate installed (not from the source tree: it imports the installed build).
"""
import argparse
import gc
import os
import sys
import threading
import time
import tracemalloc
import weakref

import hpystate
from hpystate import testing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _stress_module import NAME, definition  # noqa: E402


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


def leaks(cycles):
    mod = definition()
    refs = weakref.WeakSet()
    for i in range(200):                      # warm caches, interned strings, free lists
        _cycle(mod, i, refs)
    gc.collect()
    tracemalloc.start()
    traced0, rss0 = tracemalloc.get_traced_memory()[0], rss_bytes()
    for i in range(cycles):
        _cycle(mod, i, refs)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - traced0
    rss = rss_bytes() - rss0
    tracemalloc.stop()
    alive = len(refs)
    print(f"leaks: {cycles} module lifetimes (6 holding patterns), tracemalloc "
          f"{traced:+,} bytes, RSS {rss / 1024:+,.0f} KiB, states alive: {alive}")
    failures = []
    if alive:
        failures.append(f"{alive} state objects never freed")
    if traced > 256 * 1024:
        failures.append(f"traced memory grew by {traced:,} bytes (bound 256 KiB)")
    if rss > 16 * 1024 * 1024:
        failures.append(f"RSS grew by {rss / 1024:,.0f} KiB (bound 16 MiB)")
    return failures


# -- threads ------------------------------------------------------------------------------

def threads(n_threads, iterations, timeout=120.0):
    """Workers call functions, methods, slots and getters of whatever instance is current,
    checking every result is that instance's state, while re-importers replace and drop
    the module; bounded loops, joined with a timeout."""
    mod = definition()
    hpystate.register(NAME, mod)
    import importlib
    current = [importlib.import_module(NAME)]
    errors, calls = [], [0]
    stop = threading.Event()

    def worker():
        try:
            for _ in range(iterations):
                m = current[0]
                s = hpystate.state_of(m)
                box = m.Box(1)
                assert m.whoami() is s and box.owner() is s and box.seen is s
                assert (box + 1).owner() is s and len(box) == 1
                calls[0] += 1
                if stop.is_set():
                    return
        except BaseException as exc:          # reported, and stops everyone
            errors.append(exc)
            stop.set()

    reimport_lock = threading.Lock()    # importlib itself does not support two threads
                                        # removing and re-importing one name at once

    def reimporter():
        try:
            for _ in range(iterations // 10):
                with reimport_lock:
                    sys.modules.pop(NAME, None)
                    current[0] = importlib.import_module(NAME)
                if stop.is_set():
                    return
                time.sleep(0)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)               # switch threads as often as possible
    try:
        ts = [threading.Thread(target=worker) for _ in range(n_threads)]
        ts += [threading.Thread(target=reimporter) for _ in range(2)]
        for t in ts:
            t.start()
        deadline = time.monotonic() + timeout
        for t in ts:
            t.join(max(0.0, deadline - time.monotonic()))
        hung = sum(t.is_alive() for t in ts)
        stop.set()
    finally:
        sys.setswitchinterval(old_interval)
        hpystate.unregister(NAME)
        sys.modules.pop(NAME, None)
    print(f"threads: {n_threads} callers x {iterations} iterations + 2 re-importers, "
          f"{calls[0]:,} checked call rounds, errors: {len(errors)}, hung: {hung}")
    return [f"thread error: {e!r}" for e in errors[:3]] + (
        [f"{hung} threads did not finish in {timeout} s"] if hung else [])


# -- subinterpreters ----------------------------------------------------------------------

_SUBINTERPRETERS = '''
import sys, time
import _stress_module as d
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
import hpystate, _stress_module as d
mod = d.definition()
for _ in range(20):
    m = mod.create()
    s = hpystate.state_of(m)
    box = m.Box(2)
    assert m.whoami() is s and box.owner() is s and (box + 1).seen is s
"""
main_mod = d.definition().create()              # the main interpreter uses it meanwhile
for i in range(COUNT):
    interp = make()
    try:
        interpreters.run_string(interp, code)
    finally:
        interpreters.destroy(interp)
    assert main_mod.whoami() is __import__("hpystate").state_of(main_mod)
result = COUNT
'''


def subinterpreters(count, timeout=600.0):
    isolated = testing.OWN_GIL
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    source = _SUBINTERPRETERS.replace("ISOLATED", str(isolated)).replace("COUNT", str(count))
    import subprocess
    proc = subprocess.run([sys.executable, "-c", source], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=here)
    ok = proc.returncode == 0
    kind = "own-GIL isolated" if isolated else "legacy (shared-GIL)"
    print(f"subinterpreters: {count} {kind} interpreters created, used (20 module instances "
          f"each) and destroyed: {'ok' if ok else f'FAILED (exit {proc.returncode})'}")
    return [] if ok else [f"subinterpreters: {proc.stderr[-2000:]}"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced counts (CI)")
    p.add_argument("--only", choices=("leaks", "threads", "subinterpreters"))
    args = p.parse_args(argv)
    q = args.quick
    checks = {
        "leaks": lambda: leaks(1_000 if q else 10_000),
        "threads": lambda: threads(4 if q else 8, 500 if q else 3_000),
        "subinterpreters": lambda: subinterpreters(10 if q else 100),
    }
    print(f"hpystate stress checks: Python {sys.version.split()[0]}"
          f"{' (quick)' if q else ''}")
    failures = []
    for name, run in checks.items():
        if args.only in (None, name):
            failures += run()
    for f in failures:
        print(f"FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
