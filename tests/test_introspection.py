"""What users expect of functions, types and definitions: names, docs, signatures, reprs,
pickling by reference, immutability."""
import inspect
import pickle
import re
import sys
import weakref

import pytest

import hpystate
from conftest import make_def


def test_function_metadata(mod):
    m = mod.create()
    f = m.incr
    assert isinstance(f, hpystate.StateFunction)
    assert f.__name__ == "incr" and f.__qualname__ == "incr"
    assert f.__module__ == "demo.counter"
    assert f.__doc__ == "Add n to the counter."
    assert str(inspect.signature(f)) == "(n=1)"
    assert repr(f) == "<hpystate function demo.counter.incr>"
    assert f.__hpystate_state__ is hpystate.state_of(m)
    assert f.__hpystate_impl__(hpystate.state_of(m), 2) == 2


def test_type_and_method_metadata(mod):
    m = mod.create()
    Box = m.Box
    assert Box.__name__ == "Box" and Box.__qualname__ == "Box"
    assert Box.__module__ == "demo.counter"
    assert Box.__doc__ == "A box holding a value."
    assert repr(Box) == "<class 'demo.counter.Box'>"
    get = Box.__dict__["get"]
    assert isinstance(get, hpystate.StateMethod)
    assert Box.get is get
    assert get.__qualname__ == "Box.get" and get.__module__ == "demo.counter"
    assert str(inspect.signature(Box.get)) == "(self)"
    assert str(inspect.signature(Box(1).get)) == "()"
    assert str(inspect.signature(Box)) == "(value=0)"
    assert repr(get) == "<hpystate method Box.get of module 'demo.counter'>"
    size = Box.__dict__["size"]
    assert isinstance(size, hpystate.StateProperty)
    assert size.__qualname__ == "Box.size"
    assert repr(Box(3)) == "Box(3)"


def test_bindings_report_their_instances_module_name():
    """A binding's names are kept once per definition and shared by its instances; an
    instance created under another name reports that name."""
    d = hpystate.ModuleDef("names_demo")

    @d.function
    def f(state):
        return 1

    @d.type
    class T:
        @hpystate.method
        def m(state, self):
            return 2

        @hpystate.getter
        def g(state, self):
            return 3

        @hpystate.classmethod
        def c(state, cls):
            return 4

        @hpystate.staticmethod
        def s(state):
            return 5

    a, b, other = d.create(), d.create(), d.create("renamed.names_demo")
    for m, modname in ((a, "names_demo"), (b, "names_demo"), (other, "renamed.names_demo")):
        members = (m.f, m.T.__dict__["m"], m.T.__dict__["g"], m.T.__dict__["c"].__func__,
                   m.T.__dict__["s"].__func__)
        names = [(x.__name__, x.__qualname__, x.__module__) for x in members]
        assert names == [("f", "f", modname), ("m", "T.m", modname), ("g", "T.g", modname),
                         ("c", "T.c", modname), ("s", "T.s", modname)], names
        assert repr(m.f) == f"<hpystate function {modname}.f>"
        assert repr(m.T.__dict__["m"]) == f"<hpystate method T.m of module {modname!r}>"
        assert str(inspect.signature(m.T.__dict__["m"])) == "(self)"
        assert str(inspect.signature(m.f)) == "()"
        t = m.T()
        assert (m.f(), t.m(), t.g, m.T.c(), m.T.s()) == (1, 2, 3, 4, 5)
    assert a.T.__dict__["m"] is not b.T.__dict__["m"]
    assert hpystate.state_of(a) is a.T.__dict__["m"].__hpystate_state__
    assert hpystate.state_of(b) is b.T.__dict__["m"].__hpystate_state__


def test_a_type_without_a_docstring_documents_nothing():
    """``__doc__`` is None in the type's own dict, as for a class statement: neither the
    shared layout's nor a documented base's docstring shows through."""
    d = hpystate.ModuleDef("doc_demo")

    @d.type
    class Base:
        """Documented."""

    @d.type(base=Base)
    class Sub:
        pass

    for m in (d.create(), d.create()):
        assert m.Base.__doc__ == "Documented."
        assert m.Sub.__doc__ is None and m.Sub.__dict__["__doc__"] is None
        assert m.Sub().__doc__ is None


def test_exception_metadata(mod):
    m = mod.create()
    assert m.Error.__module__ == "demo.counter"
    assert m.Error.__qualname__ == "Error"
    assert m.Error.__doc__ == "Demo error."


def test_definition_reprs(mod):
    assert repr(mod) == "<hpystate ModuleDef 'demo.counter'>"
    assert repr(mod["Box"]) == "<hpystate TypeDef demo.counter.Box>"
    assert repr(mod["Error"]) == "<hpystate ExceptionDef demo.counter.Error>"
    assert repr(mod["incr"]) == "<hpystate FunctionDef demo.counter.incr>"
    assert "Box" in mod and "nope" not in mod
    with pytest.raises(KeyError, match="defines no 'nope'"):
        mod["nope"]
    with pytest.raises(TypeError, match="is a function definition"):
        mod["incr"]()
    m = mod.create()
    assert repr(hpystate.state_of(m)) == "<Counter of module 'demo.counter'>"


def test_types_are_immutable_by_default():
    d = hpystate.ModuleDef("x.immutable")

    @d.type
    class Frozen:
        pass

    @d.type(mutable=True)
    class Open:
        pass

    m = d.create()
    with pytest.raises(TypeError, match="immutable"):
        m.Frozen.x = 1
    m.Open.x = 1
    assert m.Open.x == 1


def test_instances_dict_slots_weakrefs():
    d = hpystate.ModuleDef("x.layout")

    @d.type
    class WithDict:
        pass

    @d.type
    class Slotted:
        __slots__ = ("a", "b")

    @d.type
    class Both:
        __slots__ = ("a", "__dict__")

    m = d.create()
    w = m.WithDict()
    w.anything = 1
    assert w.__dict__ == {"anything": 1}
    s = m.Slotted()
    with pytest.raises(AttributeError):
        s.a                             # unset slot
    s.a, s.b = 1, 2
    with pytest.raises(AttributeError):
        s.c = 3                         # no __dict__
    b = m.Both()
    b.a, b.z = 1, 2
    assert vars(b) == {"z": 2}
    for obj in (w, s, b):
        assert weakref.ref(obj)() is obj


def test_gc_traverses_instance_fields():
    import gc
    d = hpystate.ModuleDef("x.gc")

    @d.type
    class Node:
        __slots__ = ("other",)

    m = d.create()
    a, b = m.Node(), m.Node()
    a.other, b.other = b, a             # a reference cycle through slots
    wa = weakref.ref(a)
    del a, b
    gc.collect()
    assert wa() is None


def test_type_bases_within_a_definition():
    d = hpystate.ModuleDef("x.bases")

    @d.type
    class Base:
        __slots__ = ("x",)

        @hpystate.method
        def who(state, self):
            return ("base", state)

    @d.type
    class Derived(Base):
        __slots__ = ("y",)

        @hpystate.method
        def who2(state, self):
            return ("derived", state)

    m1, m2 = d.create(), d.create()
    assert issubclass(m1.Derived, m1.Base) and not issubclass(m1.Derived, m2.Base)
    o = m1.Derived()
    o.x, o.y = 1, 2
    s1 = hpystate.state_of(m1)
    assert o.who() == ("base", s1) and o.who2() == ("derived", s1)

    class Mixed(m1.Derived, m2.Derived):    # MI across instances with inherited layouts
        pass
    mo = Mixed()
    assert m2.Derived.who2(mo) == ("derived", hpystate.state_of(m2))
    assert m2.Base.who(mo) == ("base", hpystate.state_of(m2))


def test_external_base_type():
    d = hpystate.ModuleDef("x.external")

    @d.type
    class MyDict(dict):
        @hpystate.method
        def total(state, self):
            return sum(self.values())

    m = d.create()
    x = m.MyDict(a=1, b=2)
    assert isinstance(x, dict) and x.total() == 3


@pytest.fixture
def imported():
    hpystate.register("hps_pickle_mod", make_def("hps_pickle_mod"))
    import hps_pickle_mod
    yield hps_pickle_mod
    hpystate.unregister("hps_pickle_mod")
    sys.modules.pop("hps_pickle_mod", None)


def test_pickling_by_reference(imported):
    m = imported
    for obj in (m.incr, m.Box, m.Error, m.Box.get, m.Box.__dict__["size"]):
        assert pickle.loads(pickle.dumps(obj)) is obj
    box = pickle.loads(pickle.dumps(m.Box(5)))
    assert type(box) is m.Box and box.value == 5
    with pytest.raises(TypeError, match="cannot pickle 'Counter'"):
        pickle.dumps(hpystate.state_of(m))


def test_created_modules_are_not_picklable_by_reference(mod):
    m = mod.create("not.importable")
    with pytest.raises((pickle.PicklingError, ModuleNotFoundError, AttributeError)):
        pickle.dumps(m.incr)


def test_hpystate_classes_are_immutable():
    # hpystate's own classes are heap types (Cython type specs, for subinterpreters) made
    # immutable like static types; a mutable descriptor class would also stop CPython from
    # specialising ``obj.method()`` (3.11+; checked in test_threads.py, with the GIL off on
    # free-threaded builds).
    for cls in (hpystate.StateMethod, hpystate.StateFunction, hpystate.StateProperty,
                hpystate.ModuleDef, hpystate.TypeDef, hpystate.CMethod, hpystate.ModuleState):
        with pytest.raises(TypeError, match="immutable"):
            cls.extra = 1

    class Sub(hpystate.ModuleState):        # subclasses stay ordinary classes
        pass
    Sub.extra = 1


def test_public_classes_document_themselves_and_their_instances_keep_the_impls_doc():
    # help() on a binding class shows what it is; on an instance, the implementation's doc
    import pydoc
    for cls in (hpystate.StateFunction, hpystate.StateMethod, hpystate.StateProperty,
                hpystate.CFunction, hpystate.CMethod, hpystate.ModuleDef, hpystate.TypeDef,
                hpystate.ExceptionDef, hpystate.FunctionDef, hpystate.ModuleState,
                hpystate.Loader):
        assert isinstance(cls.__doc__, str) and len(cls.__doc__) > 40, cls
        text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
        assert "__reduce_cython__" not in text and "__setstate_cython__" not in text, cls
    for meth in (hpystate.FunctionDef.of, hpystate.TypeDef.of, hpystate.ExceptionDef.of):
        assert meth.__doc__, meth
    d = hpystate.ModuleDef("doc_kinds")

    @d.function
    def incr(state, n=1):
        """Add n."""

    @d.type
    class Box:
        __slots__ = ()

        @hpystate.method
        def get(state, self):
            """The value."""

        @hpystate.getter
        def doubled(state, self):
            """Twice the value."""

    m = d.create()
    assert isinstance(m.incr, hpystate.StateFunction) and m.incr.__doc__ == "Add n."
    assert isinstance(m.Box.__dict__["get"], hpystate.StateMethod)
    assert m.Box.get.__doc__ == "The value." and m.Box().get.__doc__ == "The value."
    assert isinstance(m.Box.__dict__["doubled"], hpystate.StateProperty)
    assert m.Box.__dict__["doubled"].__doc__ == "Twice the value."


def test_module_def_has_a_signature():
    sig = inspect.signature(hpystate.ModuleDef)
    assert list(sig.parameters) == ["name", "state", "doc", "multiple_interpreters",
                                    "gil_used"]
    assert sig.parameters["multiple_interpreters"].kind is inspect.Parameter.KEYWORD_ONLY


def test_help_shows_real_signatures_and_no_cython_internals():
    import pydoc
    generic = ("(self, /, *args, **kwargs)", "(...)")
    internals = ("__pyx_vtable__", "__reduce_cython__", "__setstate_cython__", "__pyx_")
    for name in hpystate.__all__:
        obj = getattr(hpystate, name)
        if not isinstance(obj, type):
            assert not any(g in str(inspect.signature(obj)) for g in generic), name
            continue
        text = pydoc.render_doc(obj, renderer=pydoc.plaintext)
        assert not [w for w in internals if w in text], name
        assert "__init__(self, /, *args, **kwargs)" not in text, name
        assert not re.search(r"^ \|  \w+\(\.\.\.\)$", text, re.M), name
    # the classes users construct say how
    assert str(inspect.signature(hpystate.Loader)) == "(moddef)"
    assert str(inspect.signature(hpystate.ModuleState)) == "()"
    assert str(inspect.signature(hpystate.ModuleDef.__init__)).startswith("(self, /, name, state=None")
    assert str(inspect.signature(hpystate.ModuleDef.__getitem__)) == "(self, name, /)"
