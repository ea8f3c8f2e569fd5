"""Behaviour 3 with compiled code: examples/counter_ext is built against the *installed*
hpystate (cimporting hpystate.state; ``example_site`` in conftest.py) and imported through
CPython's extension loader (``counter_ext.counter`` is a real extension entry made by
``hpystate.build``)."""
import gc
import importlib
import inspect
import sys
import weakref

import pytest

import hpystate
from conftest import run_stubtest

@pytest.fixture
def fresh(example_site):
    def load():
        sys.modules.pop("counter_ext.counter", None)
        return importlib.import_module("counter_ext.counter")
    return load


def test_compiled_definition_gives_fresh_instances(fresh):
    a = fresh()
    b = fresh()
    assert type(a.__loader__).__name__ == "ExtensionFileLoader"     # CPython's own loader
    assert a is not b and a.Point is not b.Point and a.Overflow is not b.Overflow
    assert type(hpystate.state_of(a)).__name__ == "CounterState"
    assert isinstance(hpystate.state_of(a), hpystate.ModuleState)
    assert a.incr(5) == 5 and b.incr() == 1 and a.count() == 5
    with pytest.raises(b.Overflow):
        b.incr(2_000_000)
    assert importlib.reload(b) is b and b.count() == 1


def test_cdef_state_fields_and_cdef_base(fresh):
    m = fresh()
    s = hpystate.state_of(m)
    p = m.Point(3.0, 4.0)
    assert p.norm2() == 25.0 and p.x == 3.0
    assert p + p == m.Point(6.0, 8.0)
    assert repr(p) == "Point(3.0, 4.0)"
    assert s.points_made == 3 and p.made == 3      # p, p + p, and the Point compared
    s.count = 7                                      # a typed C field
    assert m.count() == 7
    with pytest.raises(TypeError):
        s.count = "not a long"


def test_compiled_impls_get_defining_instance_state(fresh):
    a, b = fresh(), fresh()

    class Both(a.Point, b.Point):
        pass

    both = Both(1.0, 2.0)                     # __init__ from a.Point: a's state counts it
    assert hpystate.state_of(a).points_made == 1
    b.Point.__init__(both, 0.0, 0.0)          # b's __init__ reached through Both
    assert hpystate.state_of(b).points_made == 1
    assert b.Point.made.__get__(both) == 1 and both.made == 1


def test_metadata_of_compiled_impls(fresh):
    m = fresh()
    assert str(inspect.signature(m.incr)) == "(n=1)"
    assert m.incr.__doc__.startswith("Add n to this module instance's counter")
    assert m.Point.__module__ == "counter_ext.counter"
    assert m.Point.__doc__.startswith("A 2-D point")
    assert m.__doc__.startswith("A counter whose state")


def test_compiled_module_state_freed(fresh):
    m = fresh()
    w = weakref.ref(hpystate.state_of(m))
    m.Point(1, 2)
    del sys.modules["counter_ext.counter"]
    del sys.modules["counter_ext"].counter        # importlib binds submodules on the package
    del m
    gc.collect()
    assert w() is None


def test_c_level_members(fresh):
    a, b = fresh(), fresh()
    sa = hpystate.state_of(a)
    p = a.Point(1.0, 2.0)
    assert -p == a.Point(-1.0, -2.0) and type(-p) is a.Point
    assert p.scaled(3) == a.Point(3.0, 6.0)
    assert type(a.Point.__dict__["scaled"]).__name__ == "method_descriptor"
    assert a.total() == sa.count + sa.points_made
    assert a.total.__self__ is a and a.total.__doc__.startswith("The counter")

    class Both(a.Point, b.Point):
        pass

    both = Both(1.0, 1.0)
    made_b = hpystate.state_of(b).points_made
    assert type(b.Point.__neg__(both)) is b.Point        # b's code makes b's Points
    assert hpystate.state_of(b).points_made == made_b + 1
    assert type(b.Point.scaled(both, 2)) is b.Point


def test_typing_stub_matches_the_compiled_module(example_site):
    # counter.pyi ships in the wheel (with py.typed) and says what the extension has.
    assert (example_site / "counter_ext" / "counter.pyi").is_file()
    assert (example_site / "counter_ext" / "py.typed").is_file()
    assert run_stubtest("counter_ext.counter", example_site) == ""
