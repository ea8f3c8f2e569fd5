"""Behaviour 2: code always receives the state of its true defining class's module instance:
subclasses at any depth, super(), reflected operators, and multiple inheritance across two
instances of one definition (where CPython's PyType_GetModuleByDef picks the wrong one)."""
import ctypes
import sys

import pytest

import hpystate


def subclass_chain(base, depth):
    cls = base
    for i in range(depth):
        cls = type(f"Sub{i}", (cls,), {})
    return cls


@pytest.mark.parametrize("depth", [0, 1, 10])
def test_subclasses_reach_defining_state(mod, depth):
    m1, m2 = mod.create(), mod.create()
    s1 = hpystate.state_of(m1)
    obj = subclass_chain(m1.Box, depth)(5)
    assert obj.whoami() is s1
    assert obj.get() == 5
    assert obj + 1 == (s1, "add", 6)
    assert 1 + obj == (s1, "radd", 6)
    assert obj - 1 == (s1, "sub", 4)
    assert obj.size == (s1, 5)
    obj.size = 7
    assert s1.tag == ("set", 7) and obj.value == 7
    assert repr(obj) == "Box(7)"
    assert hpystate.state_of(m2).tag == "exec ran"     # m2 untouched


def test_super_calls_reach_defining_state(mod):
    m1, m2 = mod.create(), mod.create()
    s2 = hpystate.state_of(m2)

    class Sub(m2.Box):
        def whoami(self):
            return ("sub", super().whoami())

        def __add__(self, other):
            return ("sub", super().__add__(other))

        @property
        def size(self):
            return ("sub", super().size)

    obj = Sub(3)
    assert obj.whoami() == ("sub", s2)
    assert obj + 2 == ("sub", (s2, "add", 5))
    assert obj.size == ("sub", (s2, 3))


def test_multiple_inheritance_across_instances(mod):
    m1, m2 = mod.create(), mod.create()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)

    class Both(m1.Box, m2.Box):
        pass

    both = Both(10)
    # Code of m2.Box reached through Both gets m2's state ...
    assert m2.Box.whoami(both) is s2
    assert m2.Box.__add__(both, 1) == (s2, "add", 11)
    assert m2.Box.__radd__(both, 1) == (s2, "radd", 11)
    assert m2.Box.__sub__(both, 1) == (s2, "sub", 9)
    assert m2.Box.size.__get__(both, Both) == (s2, 10)
    assert super(m1.Box, both).whoami() is s2
    # ... and code of m1.Box (first in the MRO) gets m1's.
    assert both.whoami() is s1
    assert m1.Box.whoami(both) is s1
    assert both + 1 == (s1, "add", 11)
    assert 1 + both == (s1, "radd", 11)
    assert both.size == (s1, 10)


def test_slot_inherited_from_second_instance_only():
    mod = hpystate.ModuleDef("mi.only")

    @mod.type
    class Plain:
        @hpystate.method
        def whoami(state, self):
            return state

    @mod.type
    class Minus:
        __slots__ = ("v",)

        @hpystate.slot
        def __sub__(state, self, other):
            return state

        @hpystate.slot
        def __len__(state, self):
            return len(state.module.__name__)

        @hpystate.slot
        def __neg__(state, self):
            return state

    m1, m2 = mod.create("mi.one"), mod.create("mi.second")

    class Both(m1.Plain, m2.Minus):
        pass

    both = Both()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    assert both.whoami() is s1
    assert both - 1 is s2                   # nb_subtract exists only on m2.Minus
    assert -both is s2
    assert len(both) == len("mi.second")


def test_cpython_module_by_def_is_wrong_where_we_are_right(mod):
    """Documents the bug hpystate avoids: CPython's lookup by definition returns the first
    matching module in the MRO, m1, for code that belongs to m2 (API of 3.11+)."""
    m1, m2 = mod.create(), mod.create()

    class Both(m1.Box, m2.Box):
        pass

    assert m2.Box.whoami(Both(0)) is hpystate.state_of(m2)  # hpystate: right
    api = ctypes.pythonapi
    if sys.version_info < (3, 11):
        assert not hasattr(api, "PyType_GetModuleByDef")
        return
    api.PyModule_GetDef.restype = ctypes.c_void_p
    api.PyModule_GetDef.argtypes = [ctypes.py_object]
    api.PyType_GetModuleByDef.restype = ctypes.py_object
    api.PyType_GetModuleByDef.argtypes = [ctypes.py_object, ctypes.c_void_p]
    moddef = api.PyModule_GetDef(m2)
    assert moddef == api.PyModule_GetDef(m1)           # one definition, two instances
    assert api.PyType_GetModuleByDef(Both, moddef) is m1   # CPython: wrong for m2's code


def test_classmethod_and_staticmethod_get_state():
    mod = hpystate.ModuleDef("cls.methods")

    @mod.type
    class T:
        @hpystate.classmethod
        def make(state, cls):
            return (state, cls)

        @hpystate.staticmethod
        def helper(state, x):
            return (state, x)

    m1, m2 = mod.create(), mod.create()
    s1 = hpystate.state_of(m1)
    Sub = type("Sub", (m1.T,), {})
    assert m1.T.make() == (s1, m1.T)
    assert Sub.make() == (s1, Sub)
    assert Sub().make() == (s1, Sub)
    assert m1.T.helper(3) == (s1, 3)
    assert m1.T().helper(3) == (s1, 3)
    assert m2.T.helper(3)[0] is hpystate.state_of(m2)


def test_type_outlives_module_and_keeps_its_state(mod):
    import gc
    m = mod.create()
    Box = m.Box
    s = hpystate.state_of(m)
    m.incr(4)
    del m
    gc.collect()
    b = Box(1)
    assert b.whoami() is s
    assert s.module.incr() == 5
    assert hpystate.state_of(Box) is s
