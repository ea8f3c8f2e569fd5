"""Behaviour 1: every instance has its own module, state, types, exceptions and functions."""
import sys

import pytest

import hpystate


def test_two_creates_give_distinct_everything(mod):
    m1, m2 = mod.create(), mod.create()
    assert m1 is not m2
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    assert s1 is not s2
    assert type(s1).__name__ == "Counter"
    assert m1.Box is not m2.Box
    assert m1.Error is not m2.Error
    assert m1.incr is not m2.incr
    assert issubclass(m1.Error, ValueError)


def test_state_mutation_is_per_instance(mod):
    m1, m2 = mod.create(), mod.create()
    assert m1.incr() == 1
    assert m1.incr(5) == 6
    assert m2.incr() == 1
    assert hpystate.state_of(m1).count == 6
    assert hpystate.state_of(m2).count == 1


def test_state_module_backlink_and_handles(mod):
    m1, m2 = mod.create(), mod.create()
    s1 = hpystate.state_of(m1)
    assert s1.module is m1
    Box, Error = mod["Box"], mod["Error"]
    assert Box.of(s1) is m1.Box
    assert Box.of(m2) is m2.Box
    assert Error.of(s1) is m1.Error
    assert mod["incr"].of(m2) is m2.incr
    with pytest.raises(TypeError, match="not a module instance"):
        Box.of(object())


def test_exceptions_are_per_instance(mod):
    m1, m2 = mod.create(), mod.create()
    b = m2.Box(1)
    with pytest.raises(m2.Error):
        b.fail()
    try:
        b.fail()
    except m1.Error:                     # another instance's class does not match
        pytest.fail("m2's exception caught by m1.Error")
    except m2.Error as e:
        assert str(e) == "boom"


def test_exec_hook_ran_per_instance(mod):
    m1 = mod.create()
    assert m1.CONSTANT == 42
    assert hpystate.state_of(m1).tag == "exec ran"


def test_state_of_accepts_types_and_rejects_others(mod):
    m1 = mod.create()
    assert hpystate.state_of(m1.Box) is hpystate.state_of(m1)
    for bad in (sys, object(), int, 3):
        with pytest.raises(TypeError, match="not a module instance or type created by"):
            hpystate.state_of(bad)


def test_create_with_name_and_default_state():
    d = hpystate.ModuleDef("plain.mod")
    m = d.create("other.name")
    assert m.__name__ == "other.name"
    assert type(hpystate.state_of(m)) is hpystate.ModuleState
    assert d.create().__name__ == "plain.mod"


def test_module_attributes(mod):
    m = mod.create()
    assert m.__doc__ == "A demo module."
    assert m.__name__ == "demo.counter"
    assert m.__spec__.name == "demo.counter"
    assert isinstance(m.__loader__, hpystate.Loader)
    assert "demo.counter" not in sys.modules


def test_property_getter_setter_deleter_receive_their_state():
    mod = hpystate.ModuleDef("props.mod")
    seen = []

    @mod.type
    class Box:
        __slots__ = ("v",)

        @hpystate.getter
        def value(state, self):
            seen.append(("get", state))
            return self.v

        @value.setter
        def value(state, self, v):
            seen.append(("set", state))
            self.v = v

        @value.deleter
        def value(state, self):
            seen.append(("del", state))
            del self.v

        @hpystate.getter
        def readonly(state, self):
            return state

    m1, m2 = mod.create(), mod.create()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    b = m1.Box()
    b.value = 3
    assert b.value == 3
    del b.value
    assert not hasattr(b, "v")
    m2.Box.value.__set__(b, 4)                 # m2's code through m1's instance
    m2.Box.value.__delete__(b)
    assert seen == [("set", s1), ("get", s1), ("del", s1), ("set", s2), ("del", s2)]
    with pytest.raises(AttributeError, match="has no setter"):
        b.readonly = 1
    with pytest.raises(AttributeError, match="has no deleter"):
        del b.readonly
    assert b.readonly is s1
