"""Behaviour 3 and the failure half of 5: modules created through the import system."""
import importlib
import sys
import textwrap

import pytest

import hpystate
from conftest import make_def


def test_import_reimport_and_reload(registered):
    registered("hps_test_counter", make_def("hps_test_counter"))
    import hps_test_counter as first
    assert first.__name__ == "hps_test_counter"
    assert first.__spec__.origin == "hpystate"
    first.incr(3)
    assert importlib.import_module("hps_test_counter") is first     # cached like any module
    del sys.modules["hps_test_counter"]
    import hps_test_counter as second
    assert second is not first
    assert second.Box is not first.Box
    assert hpystate.state_of(second) is not hpystate.state_of(first)
    assert second.incr() == 1 and first.incr() == 4
    # reload keeps the instance and its state, as for a multi-phase C extension
    state = hpystate.state_of(second)
    assert importlib.reload(second) is second
    assert hpystate.state_of(second) is state and second.incr() == 2


def test_lazy_registration_by_string(tmp_path, monkeypatch, registered):
    pkg = tmp_path / "hps_lazy_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        import hpystate
        hpystate.register("hps_lazy_pkg.counter", "hps_lazy_pkg._defs:counter_def")
    """))
    (pkg / "_defs.py").write_text(textwrap.dedent("""
        import hpystate
        counter_def = hpystate.ModuleDef("hps_lazy_pkg.counter")
        @counter_def.function
        def where(state):
            return state.module.__name__
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import hps_lazy_pkg.counter as c
        assert c.where() == "hps_lazy_pkg.counter"
        assert "hps_lazy_pkg._defs" in sys.modules
    finally:
        hpystate.unregister("hps_lazy_pkg.counter")
        for name in [n for n in sys.modules if n.startswith("hps_lazy_pkg")]:
            del sys.modules[name]


def test_bad_lazy_target(registered):
    registered("hps_bad_target", "sys:path")
    with pytest.raises(ImportError, match="'sys:path' registered for 'hps_bad_target' is not a ModuleDef"):
        import hps_bad_target  # noqa: F401
    assert "hps_bad_target" not in sys.modules


def test_reregistering_a_name_to_another_definition_fails(registered):
    d1, d2 = hpystate.ModuleDef("a"), hpystate.ModuleDef("a")
    registered("hps_twice", d1)
    hpystate.register("hps_twice", d1)          # same definition: fine
    with pytest.raises(ValueError, match="already registered"):
        hpystate.register("hps_twice", d2)


def failing_def(name, where):
    class St(hpystate.ModuleState):
        def __init__(self):
            if where == "state":
                raise LookupError("state init failed")

    d = hpystate.ModuleDef(name, state=St)

    @d.exec
    def first(state, module):
        module.first_ran = True

    @d.exec
    def second(state, module):
        if where == "hook":
            raise ZeroDivisionError("hook failed")
    return d


@pytest.mark.parametrize("where, exc", [("hook", ZeroDivisionError), ("state", LookupError)])
def test_failing_initialisation_leaves_nothing_behind(registered, where, exc):
    registered("hps_failing", failing_def("hps_failing", where))
    with pytest.raises(exc) as info:
        import hps_failing  # noqa: F401
    assert "hps_failing" not in sys.modules
    if where == "hook" and sys.version_info >= (3, 11):
        assert any("exec hook" in n and "hps_failing" in n for n in info.value.__notes__)
    # the traceback leads into the user's code
    assert info.traceback[-1].name in ("second", "__init__")


def test_create_failure_propagates():
    d = failing_def("x.fail", "hook")
    with pytest.raises(ZeroDivisionError):
        d.create()


def test_exec_hooks_run_in_order_after_everything_exists():
    d = hpystate.ModuleDef("x.order")
    seen = []

    @d.type
    class T:
        pass

    @d.function
    def f(state):
        pass

    d.exception("E")

    @d.exec
    def one(state, module):
        seen.append(("one", hasattr(module, "T"), hasattr(module, "f"), hasattr(module, "E")))

    @d.exec
    def two(state, module):
        seen.append("two")

    d.create()
    assert seen == [("one", True, True, True), "two"]


def test_loader_directly():
    d = make_def("x.loader")
    spec = importlib.util.spec_from_loader("x.loader", hpystate.Loader(d))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    assert m.incr() == 1
    spec.loader.exec_module(m)          # a second exec keeps the instance
    assert m.incr() == 2
    with pytest.raises(TypeError, match="needs a ModuleDef"):
        hpystate.Loader(object())
