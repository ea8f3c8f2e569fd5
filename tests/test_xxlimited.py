"""examples/xxlimited: CPython's Modules/xxlimited.c ported to the checked cimport API, built
against the installed hpystate like a downstream package (pip, a real extension entry), and
held to xxlimited's behaviour: two instances side by side, re-imports, a subinterpreter."""
import gc
import importlib
import inspect
import pathlib
import sys
import weakref

import pytest

import hpystate
from hpystate import testing
from conftest import installed_example, run_stubtest

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "xxlimited"
NAME = "xxlimited_hps.xxlimited"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    yield from installed_example(tmp_path_factory, EXAMPLE, "xxlimited_hps")


@pytest.fixture
def fresh(site):
    def load():
        sys.modules.pop(NAME, None)
        return importlib.import_module(NAME)
    return load


def test_module_like_xxlimited(fresh):
    xx = fresh()
    assert type(xx.__loader__).__name__ == "ExtensionFileLoader"
    assert xx.__doc__ == "This is a template module just for instruction."
    assert xx.foo(2, 3) == 5
    with pytest.raises(OverflowError):
        xx.foo(2**70, 1)                # C long arithmetic, as PyArg_ParseTuple("ll")
    with pytest.raises(TypeError, match="foo expected 2 arguments, got 1"):
        xx.foo(1)
    assert str(inspect.signature(xx.foo)) == "(i, j, /)"
    assert xx.foo.__doc__ == "Return the sum of i and j."
    assert xx.new.__doc__ == "new() -> new Xx object"
    assert issubclass(xx.Error, Exception) and xx.Error.__module__ == NAME
    s = xx.Str("abc")
    assert isinstance(s, str) and s == "abc" and type(s).__module__ == NAME


def test_xxo_attributes_live_in_its_dict(fresh):
    xx = fresh()
    o = xx.new()
    assert type(o) is xx.Xxo
    o.spam = 1
    assert o.spam == 1
    del o.spam
    with pytest.raises(AttributeError, match="delete non-existing Xxo attribute"):
        del o.spam
    with pytest.raises(AttributeError):
        o.spam
    assert o.demo("s") == "s" and o.demo(o) is o and o.demo(1) is None
    assert str(inspect.signature(xx.Xxo.demo)) == "(self, o, /)"


def test_buffer_exports_are_counted(fresh):
    xx = fresh()
    o = xx.Xxo()
    assert o.x_exports == 0
    with memoryview(o) as mv:
        assert len(mv) == 10 and bytes(mv) == bytes(10) and not mv.readonly
        mv[0] = 7                       # writable, as in the C template
        assert o.x_exports == 1
        mv2 = memoryview(o)
        assert o.x_exports == 2 and mv2[0] == 7
        mv2.release()
    assert o.x_exports == 0


def test_two_instances_side_by_side(fresh):
    a, b = fresh(), fresh()
    assert a is not b and a.Xxo is not b.Xxo and a.Error is not b.Error
    assert a.Str is not b.Str
    oa, ob = a.new(), b.new()
    assert type(oa) is a.Xxo and type(ob) is b.Xxo
    assert oa.demo(ob) is None and ob.demo(oa) is None      # demo knows its own Xxo
    assert oa.demo(oa) is oa and a.Xxo.demo(oa, oa) is oa

    class Both(b.Xxo, a.Xxo):
        __slots__ = ()

    both = Both()
    assert a.Xxo.demo(both, oa) is oa and a.Xxo.demo(both, ob) is None  # a's demo, a's Xxo
    assert b.Xxo.demo(both, ob) is ob and b.Xxo.demo(both, oa) is None
    assert importlib.reload(b) is b and b.foo(1, 1) == 2     # b is the one in sys.modules


def test_instances_are_freed(fresh):
    gc.collect()
    xx = fresh()
    w = weakref.ref(hpystate.state_of(xx))
    o = xx.new()
    o.cycle = o                         # a cycle through the attribute dict
    del o, xx
    sys.modules.pop(NAME, None)
    vars(sys.modules["xxlimited_hps"]).pop("xxlimited", None)   # the package's attribute
    gc.collect()
    assert w() is None


def test_in_a_subinterpreter(site):
    if not testing.OWN_GIL:
        result = testing.run_in_subinterpreter(SUB, isolated=False)
    else:
        result = testing.run_in_subinterpreter(SUB)
    assert result == [5, True, 1, 0, True]


SUB = '''
import xxlimited_hps.xxlimited as xx
o = xx.new()
with memoryview(o) as mv:
    exports = o.x_exports
result = [xx.foo(2, 3), o.demo(o) is o, exports, o.x_exports, isinstance(xx.Str(""), str)]
'''


def test_typing_stub_matches_the_compiled_module(site):
    assert (site / "xxlimited_hps" / "xxlimited.pyi").is_file()
    assert run_stubtest(NAME, site) == ""
