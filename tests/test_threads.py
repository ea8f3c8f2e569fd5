"""Threads and the GIL: what hpystate guarantees when several threads define, create and use
modules at once (docs/threads.md), and how ``gil_used`` behaves on free-threaded builds.

Each check runs in a fresh interpreter process: on a free-threaded build, the first module
that needs the GIL enables it for the rest of the process (as CPython does), and this test
process has long since made such modules. The children's definitions say
``gil_used=False``, so there the races run with the GIL off. On builds with a GIL the same
checks run (and must pass) with it.
"""
import pathlib
import sys

import pytest

from hpystate.testing import FREE_THREADED

from conftest import run_child


RACES = '''
import threading, inspect
import hpystate

def run_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []
    def body(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:
            errors.append(repr(exc))
    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts: t.start()
    for t in ts: t.join(60)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    return errors

def fresh_def(name="race.mod"):
    d = hpystate.ModuleDef(name, gil_used=False)
    @d.type
    class Box:
        __slots__ = ("v",)
        @hpystate.method
        def owner(state, self):
            return state
    @d.function
    def f(state, x, *, y=1):
        return state
    return d
'''


def test_first_instances_share_one_layout():
    # Threads making the first instances of a definition at once: every instance's type
    # has the same layout type, so a class may inherit from two instances' types.
    out = run_child(RACES + '''
rounds = 60
conflicts = 0
for r in range(rounds):
    d = fresh_def()
    mods = [None] * 8
    def make(i):
        mods[i] = d.create()
    assert not run_threads(8, make)
    layouts = {m.Box.__mro__[1] for m in mods}
    if len(layouts) != 1:
        conflicts += 1
    class Both(mods[0].Box, mods[1].Box):
        __slots__ = ()
    b = Both()
    assert b.owner() is hpystate.state_of(mods[0])
result = [rounds, conflicts]
''')
    assert out["result"] == [60, 0]
    assert out["gil"] is (not FREE_THREADED) and out["warnings"] == []


def test_additions_racing_the_first_instance_are_all_or_nothing():
    # An addition either lands before the definition freezes (then every instance has it)
    # or fails with the frozen-definition TypeError; never added-but-missing.
    out = run_child(RACES + '''
rounds = 400
outcomes = {"added": 0, "refused": 0}
for r in range(rounds):
    d = fresh_def()
    got = {}
    def act(i):
        if i == 0:
            got["module"] = d.create()
        else:
            try:
                d.function(lambda state: state, name=f"g{i}")
                got[i] = "added"
            except TypeError as exc:
                assert "frozen" in str(exc), exc
                got[i] = "refused"
    assert not run_threads(4, act)
    m = got["module"]
    for i in (1, 2, 3):
        outcomes[got[i]] += 1
        assert hasattr(m, f"g{i}") == (got[i] == "added"), (r, i, got[i])
result = rounds * 3 == sum(outcomes.values())
''')
    assert out["result"] is True and out["gil"] is (not FREE_THREADED)


def test_concurrent_first_registrations_install_one_finder():
    out = run_child(RACES + '''
d = fresh_def()
assert not run_threads(8, lambda i: hpystate.register(f"race_name{i}", d))
from hpystate import _core
finders = [f for f in sys.meta_path if isinstance(f, _core._Finder)]
import importlib
mods = [importlib.import_module(f"race_name{i}") for i in range(8)]
result = [len(finders), sorted(finders[0].registry), len({id(m) for m in mods})]
''')
    assert out["result"] == [1, [f"race_name{i}" for i in range(8)], 8]


def test_concurrent_signatures_of_one_binding():
    # __signature__ is computed lazily and cached: racing first reads all get one object.
    out = run_child(RACES + '''
ok = 0
for r in range(200):
    m = fresh_def().create()
    sigs = [None] * 8
    def read(i):
        sigs[i] = m.f.__signature__
    assert not run_threads(8, read)
    assert len({id(s) for s in sigs}) == 1 and str(sigs[0]) == "(x, *, y=1)", sigs
    ok += 1
result = ok
''')
    assert out["result"] == 200


# -- gil_used on free-threaded builds ---------------------------------------------------

USE = '''
import hpystate
d = hpystate.ModuleDef("gil_mod", gil_used={gil_used})
@d.function
def f(state):
    return 1
'''


@pytest.mark.parametrize("route", ["create", "register"])
@pytest.mark.parametrize("gil_used", [True, False])
def test_gil_used_through_create_and_register(route, gil_used):
    load = ("m = d.create()" if route == "create" else
            "hpystate.register('gil_mod', d)\nimport importlib\n"
            "m = importlib.import_module('gil_mod')")
    out = run_child(USE.format(gil_used=gil_used) + load + "\nresult = m.f()\n")
    assert out["result"] == 1
    if FREE_THREADED and gil_used:
        # what CPython does for an extension that needs the GIL, naming this module
        assert out["gil"] is True
        assert out["warnings"] == [
            "RuntimeWarning: The global interpreter lock (GIL) has been enabled to load "
            "module 'gil_mod', whose hpystate.ModuleDef has not declared that it can run "
            "safely without the GIL (gil_used=False). To override this behavior and keep "
            "the GIL disabled (at your own risk), run with PYTHON_GIL=0 or -Xgil=0."]
    else:
        assert out["warnings"] == []
        assert out["gil"] is (not FREE_THREADED)


def test_importing_hpystate_keeps_the_gil_off():
    out = run_child("import hpystate, hpystate.testing, hpystate.build\nresult = 0\n")
    assert out["warnings"] == [] and out["gil"] is (not FREE_THREADED)


def test_python_gil_0_keeps_it_off():
    out = run_child(USE.format(gil_used=True) + "result = d.create().f()\n",
                    env={"PYTHON_GIL": "0"} if FREE_THREADED else None)
    assert out["result"] == 1 and out["warnings"] == []
    assert out["gil"] is (not FREE_THREADED)


def test_thread_safe_state_example():
    # examples/threads/counter.py, the worked example of docs/threads.md: no increment is
    # lost, each instance counts its own, and the GIL stays off on free-threaded builds.
    example = (pathlib.Path(__file__).resolve().parent.parent / "examples" / "threads"
               / "counter.py")
    out = run_child(f'''
import importlib.util
spec = importlib.util.spec_from_file_location("threads_counter", {str(example)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
result = list(mod.main(threads=8, increments=5_000))
''')
    assert out["result"] == [8 * 5_000, 2 * 8 * 5_000]
    assert out["warnings"] == [] and out["gil"] is (not FREE_THREADED)


def test_method_calls_are_specialised():
    # CPython specialises ``b.get()`` for hpystate's method descriptors (3.11+); on
    # free-threaded builds only because hpystate enables deferred reference counting on its
    # bindings (without it 3.14t leaves a generic LOAD_ATTR). Run with the GIL off there.
    out = run_child('''
import dis, hpystate
d = hpystate.ModuleDef("spec_mod", gil_used=False)
@d.type
class Box:
    __slots__ = ()
    @hpystate.method
    def get(state, self):
        return state
b = d.create().Box()
def f(b):
    for _ in range(100):
        b.get()
for _ in range(50):
    f(b)
if sys.version_info >= (3, 11):
    ops = [i.opname for i in dis.get_instructions(f, adaptive=True)]
    result = [op for op in ops if op.startswith("LOAD_") and ("ATTR" in op or "METHOD" in op)]
else:
    result = None
''')
    if sys.version_info >= (3, 12):
        assert out["result"] == ["LOAD_ATTR_METHOD_NO_DICT"]
    elif sys.version_info >= (3, 11):
        assert out["result"] == ["LOAD_METHOD_NO_DICT"]
    else:                                   # 3.10 has no specialising interpreter
        assert out["result"] is None
    assert out["gil"] is (not FREE_THREADED)
