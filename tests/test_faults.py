"""Faults and lifetime edge cases: exceptions from every kind of implementation reach the
caller with a traceback into the user's code; failed initialisation leaves nothing behind
and a retry succeeds; exceptions in finalizers and a collection while a module's code is
running do not crash or leak."""
import gc
import importlib
import sys
import weakref

import pytest

import hpystate
from conftest import live_instances


class Boom(Exception):
    pass


def boom_def(name="faults.mod"):
    mod = hpystate.ModuleDef(name)

    @mod.function
    def func(state):
        raise Boom("function")

    @mod.type
    class Box:
        __slots__ = ()

        @hpystate.method
        def meth(state, self):
            raise Boom("method")

        @hpystate.classmethod
        def cmeth(state, cls):
            raise Boom("classmethod")

        @hpystate.staticmethod
        def smeth(state):
            raise Boom("staticmethod")

        @hpystate.slot
        def __add__(state, self, other):
            raise Boom("slot")

        @hpystate.slot
        def __len__(state, self):
            raise Boom("len")

        @hpystate.slot
        def __next__(state, self):
            raise Boom("next")

        @hpystate.getter
        def prop(state, self):
            raise Boom("getter")

        @prop.setter
        def prop(state, self, value):
            raise Boom("setter")

    return mod


CALLS = {
    "function": (lambda m, b: m.func(), "func"),
    "method": (lambda m, b: b.meth(), "meth"),
    "classmethod": (lambda m, b: m.Box.cmeth(), "cmeth"),
    "staticmethod": (lambda m, b: m.Box.smeth(), "smeth"),
    "slot": (lambda m, b: b + 1, "__add__"),
    "len": (lambda m, b: len(b), "__len__"),
    "next": (lambda m, b: next(b), "__next__"),
    "getter": (lambda m, b: b.prop, "prop"),
    "setter": (lambda m, b: setattr(b, "prop", 1), "prop"),
}


@pytest.mark.parametrize("kind", list(CALLS))
def test_exceptions_propagate_with_a_traceback_into_the_impl(kind):
    m = boom_def().create()
    call, impl_name = CALLS[kind]
    with pytest.raises(Boom, match=kind) as info:
        call(m, m.Box())
    # the innermost frame is the implementation's, at its raise line in this file
    last = info.traceback[-1]
    assert last.name == impl_name and str(last.path) == __file__
    assert "raise Boom" in str(last.statement)


def flaky_def(name, where, attempts):
    """Fails the first time it is initialised, at ``where``."""
    class St(hpystate.ModuleState):
        def __init__(self):
            attempts.append(where)
            if where == "state" and len(attempts) == 1:
                raise LookupError("state")

    mod = hpystate.ModuleDef(name, state=St)

    class Meta(type):
        def __init__(cls, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if where == "exception" and len(attempts) == 1:
                raise KeyError("exception class")

    class Base(Exception, metaclass=Meta):
        pass

    mod.exception("Error", base=Base)

    @mod.type
    class Box:
        __slots__ = ()

    @mod.exec
    def hook(state, module):
        if where == "hook" and len(attempts) == 1:
            raise ZeroDivisionError("hook")

    @mod.function
    def ok(state):
        return state
    return mod


@pytest.mark.parametrize("where, exc", [("state", LookupError), ("exception", KeyError),
                                        ("hook", ZeroDivisionError)])
def test_failed_import_leaves_nothing_and_a_retry_succeeds(registered, where, exc):
    name = f"hps_flaky_{where}"
    attempts = []
    mod = flaky_def(name, where, attempts)
    registered(name, mod)
    with pytest.raises(exc):
        importlib.import_module(name)
    assert name not in sys.modules
    gc.collect()
    m = importlib.import_module(name)             # the second attempt works
    assert m.ok() is hpystate.state_of(m) and issubclass(m.Error, Exception)
    assert len(attempts) == 2


def test_exception_in_a_finalizer_is_reported_not_fatal(unraisable):
    class St(hpystate.ModuleState):
        pass

    mod = hpystate.ModuleDef("faults.del", state=St)

    @mod.type
    class Box:
        __slots__ = ("__dict__",)

    m = mod.create()

    class Sub(m.Box):
        def __del__(self):
            raise Boom("in __del__")

    obj = Sub()
    obj.cycle = obj                                # freed by the collector, in a cycle
    del obj, m, Sub
    gc.collect()
    assert [type(e) for e in unraisable] == [Boom]
    assert live_instances(St) == []


def test_state_class_finalizer_raising(unraisable):
    class St(hpystate.ModuleState):
        def __del__(self):
            raise Boom("state __del__")

    m = hpystate.ModuleDef("faults.statedel", state=St).create()
    del m
    gc.collect()
    assert [type(e) for e in unraisable] == [Boom]
    assert live_instances(St) == []


def test_collection_while_the_module_code_runs():
    # The implementation drops every outside reference to its module and collects: the
    # module, state and types stay alive for as long as the call needs them, and are
    # freed after it.
    mod = hpystate.ModuleDef("faults.gc")
    holder = {}

    @mod.type
    class Box:
        __slots__ = ()

        @hpystate.slot
        def __add__(state, self, other):
            holder.clear()                        # the last outside reference
            gc.collect()
            gc.collect()
            made = Box.of(state)()                # types and state still usable
            return (state, made, state.module)

    m = mod.create()
    holder["m"] = m
    w = weakref.ref(hpystate.state_of(m))
    box = m.Box()
    del m
    state, made, module = box + 1
    assert state is w() and type(made) is type(box) and module.Box is type(box)
    del state, made, module, box
    gc.collect()
    assert w() is None


class HoldingState(hpystate.ModuleState):
    """A state with a __dict__ (ModuleState itself has none)."""


def finalizer_def(name, log):
    mod = hpystate.ModuleDef(name, state=HoldingState)

    @mod.type
    class Res:
        __slots__ = ("what", "other")

        @hpystate.slot
        def __init__(state, self, what):
            self.what = what

        @hpystate.slot("tp_finalize")           # the C slot name works too
        def __del__(state, self):
            log.append((state, self.what))
            if self.what == "boom":
                raise Boom("in __del__")

    return mod


def test_finalizer_receives_its_state(unraisable):
    log = []
    mod = finalizer_def("faults.fin", log)
    m1, m2 = mod.create(), mod.create()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    r = m2.Res("plain")
    del r
    assert log == [(s2, "plain")]

    class Both(m1.Res, m2.Res):
        def __del__(self):
            log.append("Both")
            m2.Res.__del__(self)            # the true defining class's state: s2

    b = Both("mi")
    del b
    assert log[1:] == ["Both", (s2, "mi")]
    del Both
    # an instance outliving its module
    w = weakref.ref(s1)
    r = m1.Res("late")
    del m1, s1
    gc.collect()
    del r
    assert log[-1] == (w(), "late") and w() is not None
    log.clear()
    assert live_instances(HoldingState) == [s2]
    del m2, s2
    assert live_instances(HoldingState) == [] and not unraisable


def test_finalizer_in_a_cycle_with_its_module(unraisable):
    # Everything unreachable at once (the state holds the instance, which holds its type,
    # which holds the module): the collector runs finalizers before clearing anything, so
    # __del__ sees a whole state.
    log = []
    mod = finalizer_def("faults.fincycle", log)
    m = mod.create()
    state = hpystate.state_of(m)
    sid = id(state)
    r = m.Res("cycle")
    state.keep = r
    del m, state, r
    gc.collect()
    [(st, what)] = log
    assert id(st) == sid and what == "cycle" and st.module.Res.__name__ == "Res"
    del st                              # the log resurrected the state: free it again
    log.clear()
    assert live_instances(HoldingState) == [] and not unraisable


def test_finalizer_exception_is_unraisable(unraisable):
    log = []
    m = finalizer_def("faults.finboom", log).create()
    s = hpystate.state_of(m)
    r = m.Res("boom")
    del r
    assert log == [(s, "boom")] and [type(e) for e in unraisable] == [Boom]
    # in a cycle, by the collector
    r = m.Res("boom")
    r.other = r
    del r
    gc.collect()
    assert len(log) == 2 and [type(e) for e in unraisable] == [Boom, Boom]
    del m, s
    log.clear()
    assert live_instances(HoldingState) == []
    with pytest.raises(TypeError, match=r"slot __del__.*\(state, self\)"):
        class Bad:
            @hpystate.slot
            def __del__(state):
                pass
