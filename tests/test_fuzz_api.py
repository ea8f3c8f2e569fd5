"""Fuzzing the public API (hypothesis): every object hpystate exports, and every method of
the objects they make, called with arbitrary arguments, then repr'd, pickled and
collected. Any exception is fine except SystemError (an internal error); the process never
dies. Objects made along the way (definitions, instances, bindings, handles) join the pool
of arguments of later steps, so calls get hpystate's own objects in the wrong places too."""
import gc
import math
import pickle
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import hpystate


class BadRepr:
    def __repr__(self):
        raise RuntimeError("repr")


class BadEq:
    def __eq__(self, other):
        raise RuntimeError("eq")

    __hash__ = object.__hash__


class State(hpystate.ModuleState):
    pass


def _plain(state, *args, **kwargs):
    return state


def _base_definition():
    d = hpystate.ModuleDef("fuzz.base", state=State, gil_used=False)  # GIL stays off on 3.14t

    @d.type
    class Box:
        __slots__ = ("v",)

        @hpystate.method
        def get(state, self):
            return state

        @hpystate.getter
        def p(state, self):
            return 1

        @hpystate.slot
        def __add__(state, self, other):
            return other

    d.exception("Err")
    d.function(_plain, name="f")
    return d


BASE = _base_definition()
BASE_MODULE = BASE.create()

ATOMS = [None, 0, -1, 2**70, 1.5, math.nan, "", "x", "fuzz.name", "nb_add", "__add__",
         "__name__", "tp_richcompare", b"bytes", (), [], {}, object(), BadRepr(), BadEq(),
         State, hpystate.ModuleState, object, type, int, Exception, _plain, lambda: 0,
         math, types.ModuleType("plain"), BASE, BASE["Box"], BASE["Err"], BASE["f"],
         BASE_MODULE, BASE_MODULE.Box, BASE_MODULE.Box(), BASE_MODULE.f,
         BASE_MODULE.Box.__dict__["get"], BASE_MODULE.Box.__dict__["p"],
         hpystate.state_of(BASE_MODULE)]
ATOMS += [getattr(hpystate, name) for name in hpystate.__all__]

EXPORTS = [getattr(hpystate, name) for name in hpystate.__all__]
METHODS = ["function", "type", "exception", "exec", "create", "of", "__getitem__",
           "__contains__", "create_module", "exec_module", "setter", "deleter", "__get__",
           "__set__", "__delete__", "__call__", "__reduce__", "__class_getitem__",
           "__mro_entries__"]
KEYWORDS = ["name", "state", "doc", "base", "mutable", "gil_used", "multiple_interpreters"]

def _check(exc):
    assert not isinstance(exc, SystemError), repr(exc)


def _poke(obj):
    """repr, pickle and the common attributes of whatever a call returned."""
    for what in (repr, str, lambda o: pickle.dumps(o), lambda o: getattr(o, "__name__", None),
                 lambda o: getattr(o, "__doc__", None), lambda o: getattr(o, "__module__", None),
                 lambda o: getattr(o, "__signature__", None)):
        try:
            what(obj)
        except Exception as exc:
            _check(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_calling_anything_with_anything(data):
    # A short program: each step calls an export (or something an earlier step made, or
    # one of its methods) with arguments from the pool and the earlier results.
    made = []
    for _ in range(data.draw(st.integers(1, 6))):
        target = data.draw(st.sampled_from(EXPORTS + made))
        values = st.sampled_from(ATOMS + made)
        args = data.draw(st.lists(values, max_size=4))
        kwargs = data.draw(st.dictionaries(st.sampled_from(KEYWORDS), values, max_size=2))
        method = data.draw(st.sampled_from([None] * 3 + METHODS))
        try:
            func = getattr(target, method) if method else target
            result = func(*args, **kwargs)
        except Exception as exc:
            _check(exc)
            continue
        finally:
            for name in [n for n in sys.modules if n.startswith("fuzz.")]:
                del sys.modules[name]
        _poke(result)
        if result is not None:
            made.append(result)
    del made
    gc.collect()


@pytest.fixture(autouse=True, scope="module")
def _undo_registrations():
    before = set(hpystate._core._finder().registry)
    yield
    for name in set(hpystate._core._finder().registry) - before:
        hpystate.unregister(name)
    gc.collect()


def test_pool_survives_collection():
    # After all that, the base definition still works and collection is clean.
    gc.collect()
    gc.collect()
    m = BASE.create()
    assert m.f() is hpystate.state_of(m) and m.Box().get() is hpystate.state_of(m)
