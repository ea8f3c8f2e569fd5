"""What an adversarial user does with the Python API: each gets a clear error (or the
behaviour a user expects), never a crash and never another instance's state. The C-level
counterparts are in test_cimport.py (both dispatch paths)."""
import gc
import math
import sys
import types
import weakref

import pytest

import hpystate
from hpystate import _core

from conftest import run_child
from hpystate.testing import FREE_THREADED


@pytest.fixture
def d():
    return hpystate.ModuleDef("adv.mod")


# -- objects only hpystate makes -------------------------------------------------------------

@pytest.mark.parametrize("cls", [
    hpystate.CFunction, hpystate.CMethod, hpystate.TypeDef, hpystate.ExceptionDef,
    hpystate.FunctionDef, hpystate.StateFunction, hpystate.StateMethod,
    hpystate.StateProperty, _core._CImpl, _core._MemberDef])
def test_classes_only_hpystate_makes_refuse_construction(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"cannot create 'hpystate.{name}' instances directly"):
        cls()
    with pytest.raises(TypeError, match="cannot create"):
        cls.__new__(cls)


def test_module_def_init_twice_and_uninitialised(d):
    @d.function
    def f(state):
        return state

    m = d.create()
    with pytest.raises(TypeError, match="'adv.mod' is already initialised"):
        d.__init__("other")
    assert d.name == "adv.mod" and m.f() is hpystate.state_of(m)
    assert d.create().f() is not m.f()          # the definition still works
    raw = hpystate.ModuleDef.__new__(hpystate.ModuleDef)
    with pytest.raises(TypeError, match="never called"):
        raw.create()


# -- the loader --------------------------------------------------------------------------

def test_loader_refuses_foreign_modules(d):
    loader = hpystate.Loader(d)
    other = hpystate.ModuleDef("adv.other")
    for foreign in (math, types.ModuleType("plain"), other.create(), 42, None):
        with pytest.raises(TypeError, match="was not created by this loader"):
            loader.exec_module(foreign)
    with pytest.raises(TypeError, match="needs a module spec"):
        loader.create_module(object())
    with pytest.raises(AttributeError):
        loader.moddef = other                   # read-only: no mismatched definition
    m = d.create()
    loader.exec_module(m)                       # its own instance: a no-op, as on reload
    assert hpystate.state_of(m).module is m


# -- state objects -----------------------------------------------------------------------

def test_state_new_returning_an_existing_state():
    class Reuse(hpystate.ModuleState):
        made = []

        def __new__(cls):
            if not cls.made:
                cls.made.append(super().__new__(cls))
            return cls.made[0]

    d = hpystate.ModuleDef("adv.reuse", state=Reuse)
    first = d.create()
    with pytest.raises(TypeError, match="returned a state that belongs to module 'adv.reuse'"):
        d.create()
    assert hpystate.state_of(first).module is first

    class Other(hpystate.ModuleState):
        def __new__(cls):
            return hpystate.ModuleState()

    with pytest.raises(TypeError, match="not a new .*Other instance"):
        hpystate.ModuleDef("adv.other", state=Other).create()


def test_async_and_generator_hooks_are_refused():
    class AsyncInit(hpystate.ModuleState):
        async def __init__(self):
            pass

    with pytest.raises(TypeError, match="async or generator function"):
        hpystate.ModuleDef("adv.a", state=AsyncInit)
    d = hpystate.ModuleDef("adv.h")
    for hook in ("async def h(state, module): pass",
                 "def h(state, module):\n    yield",
                 "async def h(state, module):\n    yield"):
        ns = {}
        exec(hook, ns)
        with pytest.raises(TypeError, match="async or generator function"):
            d.exec(ns["h"])

    class Wrapped:                              # not detectable until it runs
        def __call__(self, state, module):
            return ns_coro(state)

    async def ns_coro(state):
        state.ran = True

    d.exec(Wrapped())
    with pytest.raises(TypeError, match="returned a coroutine"):
        d.create()


# -- names -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["__name__", "__dict__", "__spec__", "__path__", "__loader__",
                                  "__doc__", "__file__", "__all__"])
def test_module_machinery_names_are_refused(d, name):
    def impl(state):
        return 1

    with pytest.raises(ValueError, match=f"function name '{name}' is reserved"):
        d.function(impl, name=name)
    with pytest.raises(ValueError, match="reserved"):
        d.exception(name)
    m = d.create()
    assert m.__name__ == "adv.mod" and isinstance(m.__dict__, dict)


def test_module_getattr_and_dir_are_allowed(d):
    @d.function
    def __getattr__(state, name):
        return f"lazy {name}"

    @d.function
    def __dir__(state):
        return ["x"]

    m = d.create()
    assert m.anything == "lazy anything" and dir(m) == ["x"]


def test_private_slot_names_are_mangled(d):
    @d.type
    class Box:
        __slots__ = ("__secret", "plain")

        @hpystate.slot
        def __init__(state, self, v):
            self.__secret = v
            self.plain = -v

        @hpystate.method
        def secret(state, self):
            return self.__secret

    b = d.create().Box(5)
    assert b.secret() == 5 and b._Box__secret == 5 and b.plain == -5


def test_registered_name_wins_over_a_module_on_the_path(tmp_path, registered, d):
    (tmp_path / "adv_shadow.py").write_text("SHADOW = True\n")
    sys.path.insert(0, str(tmp_path))
    try:
        registered("adv_shadow", d)
        m = __import__("adv_shadow")
        assert not hasattr(m, "SHADOW") and hpystate.state_of(m).module is m
    finally:
        sys.path.remove(str(tmp_path))


def test_handles_used_before_their_objects_exist():
    seen = {}

    class St(hpystate.ModuleState):
        def __init__(self):
            for h in (Box, Err, f):
                try:
                    h.of(self)
                except RuntimeError as exc:
                    seen[h.name] = str(exc)

    d = hpystate.ModuleDef("adv.early", state=St)

    @d.type
    class Box:
        pass

    Err = d.exception("Err")

    @d.function
    def f(state):
        return state

    Box, f = d["Box"], d["f"]
    m = d.create()
    assert set(seen) == {"Box", "Err", "f"}
    assert "does not exist yet" in seen["Box"] and "does not exist yet" in seen["f"]
    assert Box.of(m) is m.Box and f.of(m) is m.f


class BadRepr:
    def __repr__(self):
        raise RuntimeError("repr is broken")


@pytest.mark.parametrize("call, exc", [
    (lambda d: d.function(BadRepr()), TypeError),
    (lambda d: hpystate.ModuleDef("x", state=BadRepr()), TypeError),
    (lambda d: d.exception("E", base=BadRepr()), TypeError),
    (lambda d: d.type(BadRepr()), TypeError),
    (lambda d: hpystate.Loader(BadRepr()), TypeError),
    (lambda d: d["Box"].of(BadRepr()), TypeError),
    (lambda d: hpystate.state_of(BadRepr()), TypeError),
    (lambda d: hpystate.register("adv.badrepr", BadRepr()), TypeError),
])
def test_an_argument_whose_repr_raises_keeps_the_intended_error(d, call, exc):
    @d.type
    class Box:
        pass

    with pytest.raises(exc, match="BadRepr object at 0x"):
        call(d)


# -- bindings ----------------------------------------------------------------------------

def test_bindings_are_callable_objects_with_weak_references(d):
    @d.function
    def f(state, x):
        return (state, x)

    @d.type
    class Box:
        @hpystate.method
        def m(state, self, x):
            return x

        @hpystate.getter
        def p(state, self):
            return 1

    m = d.create()
    st = hpystate.state_of(m)
    assert m.f.__call__(1) == (st, 1)
    assert m.Box.__dict__["m"].__call__(m.Box(), 2) == 2
    for obj in (m.f, m.Box.__dict__["m"], m.Box.__dict__["p"]):
        r = weakref.ref(obj)
        assert r() is obj


# -- leaks -------------------------------------------------------------------------------

def test_instance_names_are_not_kept_forever(d):
    @d.type
    class Box:
        pass

    # Each distinct create(name) once kept a type-name buffer for the definition's life.
    # The buffer now belongs to the instance: the definition holds nothing per name.
    td = d["Box"]
    for i in range(200):
        m = d.create(f"adv.name{i}")
        assert m.Box.__module__ == f"adv.name{i}"
        assert type(m.Box).__name__ == "type" and m.Box.__qualname__ == "Box"
        del m
    gc.collect()
    r = run_child("""
        import gc, tracemalloc, hpystate
        d = hpystate.ModuleDef("adv.leak")

        @d.type
        class Box:
            pass

        for i in range(200):                # warm up
            d.create(f"warm{i}")
        gc.collect()
        tracemalloc.start()
        def traced_after(names):
            for i in names:
                d.create(f"adv.name.{i:06d}.{'x' * 40}")
            gc.collect()
            return tracemalloc.get_traced_memory()[0]
        first = traced_after(range(1000))
        grew = traced_after(range(1000, 5000)) - first
        # What CPython itself keeps per distinct module name (free-threaded builds intern
        # such strings for good): the same names given to plain classes.
        def control(names):
            for i in names:
                type("Box", (), {"__module__": f"ctl.name.{i:06d}.{'x' * 40}"})
            gc.collect()
            return tracemalloc.get_traced_memory()[0]
        first = control(range(1000))
        result = {"hpystate": grew, "cpython": control(range(1000, 5000)) - first}
    """)
    res = r["result"]
    # The bug was +850 kB (about 210 bytes a name). Free-threaded builds intern module and
    # type names for good, in a global table whose resizes land in the measured window or
    # not depending on what was interned before; the plain-class control does not intern
    # the same strings, so there the margin is wider (+470 kB measured on 3.14t, against a
    # +167 kB control of spec types; still far below the bug). Pinning this down exactly is
    # left open (session note).
    margin = 600_000 if FREE_THREADED else 100_000
    assert res["hpystate"] < res["cpython"] + margin, r
    assert td.name == "Box"


# -- allocation failures -----------------------------------------------------------------

def test_allocation_failures_inside_create_never_crash():
    # Every allocation create() makes, failed in turn: each raises (MemoryError, or an
    # error CPython derives from it), never crashes, never leaves an exception unset.
    r = run_child("""
        import _testcapi, gc, hpystate
        d = hpystate.ModuleDef("adv.oom")

        @d.type
        class Box:
            __slots__ = ("v",)

            @hpystate.method
            def get(state, self):
                return state

        @d.function
        def f(state):
            return state

        d.create()                          # the layout type exists
        kinds = {}
        for n in range(1, 400):             # the n-th allocation from here fails
            _testcapi.set_nomemory(n, n + 1)
            try:
                m = d.create()
                m.f(), m.Box().get()
            except BaseException as exc:
                _testcapi.remove_mem_hooks()
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                continue
            _testcapi.remove_mem_hooks()
            assert m.f() is hpystate.state_of(m)
            kinds["ok"] = kinds.get("ok", 0) + 1
        gc.collect()
        result = kinds
    """)
    res = r["result"]
    assert res.get("MemoryError", 0) > 5 and res.get("ok", 0) > 0, res
    assert set(res) <= {"MemoryError", "ok"}, res       # no SystemError: an exception is set


@pytest.mark.parametrize("call", [
    lambda: hpystate.ModuleDef.create(5), lambda: hpystate.ModuleDef.function(5, len),
    lambda: hpystate.ModuleDef.type(5, int), lambda: hpystate.ModuleDef.exec(5, len),
    lambda: hpystate.ModuleDef.exception(5, "E"), lambda: hpystate.TypeDef.of(int, 1),
    lambda: hpystate.ExceptionDef.of("x", 1), lambda: hpystate.FunctionDef.of(5, 6),
    lambda: hpystate.TypeDef.__mro_entries__(5, ()),
    lambda: hpystate.Loader.create_module(3, 4), lambda: hpystate.Loader.exec_module(3, 4),
    lambda: hpystate.ModuleState.__reduce__(5), lambda: hpystate.StateFunction.__reduce__(5),
])
def test_methods_called_through_the_class_check_self(call):
    # Cython's def methods do not check ``self`` when called through the class; hpystate's
    # do, as method descriptors would.
    with pytest.raises(TypeError, match="doesn't apply to a"):
        call()
