"""The cimport API: C-level implementations registered from Cython receive their own module
instance's state, through trampolines or, when a table is exhausted, the fallback path."""
import gc
import pathlib
import platform
import sys
import textwrap
import weakref

import pytest

import hpystate
from hpystate import _core

from conftest import build_in_place, live_instances, run_child
from hpystate.testing import FREE_THREADED

CEXT = pathlib.Path(__file__).resolve().parent / "cext" / "hps_cext.pyx"


@pytest.fixture(scope="module")
def cext(tmp_path_factory):
    build = tmp_path_factory.mktemp("cext")
    (build / "hps_cext.pyx").write_text(CEXT.read_text())
    script = textwrap.dedent("""
        import hpystate
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        setup(script_args=["build_ext", "--inplace", "-q"],
              ext_modules=cythonize([Extension("hps_cext", ["hps_cext.pyx"])], quiet=True,
                                    include_path=[hpystate.cython_include()]))
    """)
    build_in_place(build, script)
    sys.path.insert(0, str(build))
    import hps_cext
    yield hps_cext
    sys.path.remove(str(build))


# The three ways a C-level binding is served, tested as one suite run three times:
# "trampolines" (static, the first of each kind), "stubs" (every binding past the static
# tables: stubs made at run time) and "fallback" (no entry at all: the descriptors).
MODES = ["trampolines", "stubs", "fallback"]


def _set_mode(mode):
    """Set the entry limits for ``mode``; returns what _restore_mode takes."""
    return (_core._trampoline_limit(None if mode == "trampolines" else 0),
            _core._stub_limit(0 if mode == "fallback" else None))


def _restore_mode(old):
    _core._trampoline_limit(old[0])
    _core._stub_limit(old[1])


# ... and in a child process's script
_MODE_CODE = {"trampolines": "pass", "stubs": "hpystate._core._trampoline_limit(0)",
              "fallback": "hpystate._core._trampoline_limit(0); hpystate._core._stub_limit(0)"}


@pytest.fixture(params=MODES)
def mode(request):
    old = _set_mode(request.param)
    yield request.param
    _restore_mode(old)


def test_stubs_exist_where_promised():
    # Runtime stubs are x86-64 System V code: there, no binding ever takes the fallback
    # for want of an entry; elsewhere the "stubs" runs of this suite test the fallback.
    promised = platform.machine() in ("x86_64", "AMD64") and sys.platform == "linux"
    assert _core._STUBS == promised


@pytest.fixture
def pair(cext, mode):
    m1, m2 = cext.defn.create(), cext.defn.create()
    return m1, m2, hpystate.state_of(m1), hpystate.state_of(m2)


def test_module_functions(pair, mode):
    m1, m2, s1, s2 = pair
    if mode != "fallback":          # a builtin function whose ml_meth is a trampoline
        assert type(m1.noargs).__name__ == "builtin_function_or_method"
        assert m1.noargs.__self__ is m1
    else:
        assert isinstance(m1.noargs, hpystate.CFunction)
    assert m1.noargs() is s1 and m2.noargs() is s2 and s1.calls == 1
    assert m1.one(5) == (s1, 5)
    assert m1.fast(1, 2) == (s1, (1, 2))
    assert m1.fastkw(1, a=2) == (s1, (1,), {"a": 2})
    assert m1.noargs.__doc__ == "Count a call."
    assert m1.noargs.__module__ == "hps_cext" and m1.noargs.__name__ == "noargs"
    with pytest.raises(TypeError, match=r"noargs\(\) takes no arguments \(1 given\)"):
        m1.noargs(1)
    with pytest.raises(TypeError, match="exactly one argument"):
        m1.one()
    with pytest.raises(TypeError, match="no keyword arguments"):
        m1.fast(x=1)
    with pytest.raises(ValueError, match="failed in hps_cext"):
        m1.fail()


def test_signatures_on_both_paths(pair, mode):
    """C functions and methods have text signatures (help(), inspect.signature): from a
    docstring's signature line, else from the calling convention."""
    import inspect
    m1, m2, s1, s2 = pair
    sig = lambda f: str(inspect.signature(f))
    assert sig(m1.one) == "(x, /)" and m1.one.__doc__ == "Return (state, x)."
    assert m1.one.__text_signature__ == "($module, x, /)"
    assert sig(m1.noargs) == "()" and m1.noargs.__doc__ == "Count a call."
    assert sig(m1.fast) == "(*args)" and sig(m1.fastkw) == "(*args, **kwargs)"
    assert sig(m1.fail) == "()" and m1.fail.__doc__ is None
    assert m1.old_style.__doc__ == "old_style(x) -> x, a docstring of the old style"
    assert sig(m1.Box.cpython_style) == "(self, n, /)"       # "$self, n, /" as CPython writes
    assert sig(m1.Box.self_first) == "(self, /, a, b=2)"     # self: positional-only
    assert sig(m1.old_style) == "(arg, /)"      # no signature line: the convention's
    assert sig(m1.Box.take) == "(self, item, /)" and sig(m1.Box(1).take) == "(item, /)"
    assert m1.Box.take.__doc__ == "Return (state, item)."
    assert sig(m1.Box.who) == "(self, /)" and sig(m1.Box(1).who) == "()"
    assert sig(m1.Box.fastkw) == "(self, /, *args, **kwargs)"
    assert "take(self, item, /)" in _help(m1.Box)
    if mode == "fallback":              # slot adapters: the slot table's parameters
        assert sig(m1.Box.__add__) == "(self, other, /)"
        assert sig(m1.Box.__call__) == "(self, /, *args, **kwargs)"


def _help(obj):
    import pydoc
    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


def test_type_of_and_exception_of(cext):
    """This instance's type/exception from C code: what ``Box.of(st)`` gives, or its error."""
    m1, m2 = cext.defn.create(), cext.defn.create()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    assert cext.c_type_of(cext.Box, s1) is m1.Box and cext.c_type_of(cext.Box, s2) is m2.Box
    assert cext.c_exception_of(cext.Err, s2) is m2.Err and m2.Err is not m1.Err
    with pytest.raises(TypeError, match="not a module instance of 'hps_cext' or its state"):
        cext.c_type_of(cext.Box, hpystate.state_of(cext.every_slot({}).create()))
    with pytest.raises(TypeError, match="the handle is None"):
        cext.c_type_of(None, s1)
    with pytest.raises(TypeError, match="'Box': the state is None"):
        cext.c_type_of(cext.Box, None)
    with pytest.raises(TypeError, match="Cannot convert"):     # Cython's argument check
        cext.c_type_of(cext.Err, s1)


def test_buffer_protocol(pair, mode):
    import io
    """memoryview(obj) through a C bf_getbuffer/bf_releasebuffer: exports are counted and
    released, and each module instance's state reaches both functions (on the fallback
    path, generic slot functions find the bindings through the MRO)."""
    m1, m2, s1, s2 = pair
    s1.log.clear(), s2.log.clear()
    b = m1.Buf(b"hello")
    mv = memoryview(b)
    assert bytes(mv) == b"hello" and mv.readonly and mv.obj is b and b.exports == 1
    mv2 = memoryview(b)
    assert b.exports == 2
    mv.release()
    assert b.exports == 1
    del mv2
    assert b.exports == 0
    assert s1.log == [("get", 1), ("get", 2), ("release", 1), ("release", 0)] and s2.log == []
    c = m2.Buf(b"xy")
    assert bytes(c) == b"xy" and c.exports == 0     # bytes() exports and releases
    assert s2.log == [("get", 1), ("release", 0)]
    ro = m1.Buf(b"ro")
    with pytest.raises(TypeError, match="read-write bytes-like"):  # a writable export:
        io.BytesIO(b"ab").readinto(ro)          # PyBuffer_FillInfo raised, nothing counted
    assert ro.exports == 0
    # a subclass cannot pass something else off as the binding (it would be called as
    # bf_getbuffer's C function): refused, on the fallback path where the name is looked up
    Sub = type("Sub", (m1.Buf,), {"__slots__": (), "__hpystate_bf_getbuffer__":
                                  m1.Box.__dict__["take"], "__hpystate_bf_releasebuffer__": 1})
    if mode == "fallback":
        with pytest.raises(TypeError, match="Sub.__hpystate_bf_getbuffer__ is not hpystate's "
                                            "binding for this object"):
            memoryview(Sub(b"x"))
    else:
        assert bytes(memoryview(Sub(b"x"))) == b"x"     # the slot itself: no lookup
    Both = type("Both", (m2.Buf, m1.Buf), {"__slots__": ()})
    s1.log.clear(), s2.log.clear()
    assert bytes(memoryview(Both(b"z"))) == b"z"    # the first base's binding, as CPython
    assert s2.log and not s1.log                    # inherits the slot


def test_async_protocol(pair, mode):
    import asyncio
    m1, m2, s1, s2 = pair

    async def main(m):
        awaited = await m.Aw()
        items = [x async for x in m.AIt(3)]
        return awaited, items

    assert asyncio.run(main(m1)) == ((s1, "awaited"), [(s1, 2), (s1, 1), (s1, 0)])
    assert asyncio.run(main(m2)) == ((s2, "awaited"), [(s2, 2), (s2, 1), (s2, 0)])


def test_attribute_access_and_descriptors(pair, mode):
    m1, m2, s1, s2 = pair
    s1.log.clear()
    a = m1.Attr()
    assert a.virtual == (s1, "virtual")
    a.real = 5
    assert a.real == 5
    del a.real
    with pytest.raises(AttributeError):
        a.real
    with pytest.raises(AttributeError):
        a.other = 1                     # no such field: the generic setattr refuses
    assert s1.log == [("setattr", "real", 5), ("setattr", "real", "<del>"),
                      ("setattr", "other", 1)]
    d = m2.Descr()
    H = type("H", (), {"d": d})
    h = H()
    assert h.d == (s2, "get", h) and H.d == (s2, "get", None)
    s2.log.clear()
    h.d = 7
    del h.d
    assert s2.log == [("set", 7), ("delete",)]


def test_methods_and_descriptor_kind(pair, mode):
    m1, m2, s1, s2 = pair
    b = m1.Box(3)
    assert b.who() is s1 and b.pywho() is s1
    assert b.take(9) == (s1, 9)
    assert b.fast(1, 2, 3) == (s1, 3)
    assert b.fastkw(1, k=2) == (s1, 1, ("k",))
    kind = type(m1.Box.__dict__["who"]).__name__
    assert kind == ("method_descriptor" if mode != "fallback" else "CMethod")
    assert m1.Box.who.__doc__ == "The state this method receives."


def test_slots(pair):
    m1, m2, s1, s2 = pair
    b = m1.Box(5)
    assert b + 1 == (s1, "add", b, 1)
    assert 1 + b == (s1, "add", 1, b)          # the slot's C semantics: b is the 2nd operand
    x = b
    x += 2
    assert x == (s1, "iadd", 2)
    assert b ** 2 == (s1, "pow", b, 2, None)
    assert pow(b, 2, 7) == (s1, "pow", b, 2, 7)
    assert -b == (s1, "neg")
    assert repr(b) == "CBox(5)"
    assert (b < 1) == (s1, "cmp", 0) and (b == 1) == (s1, "cmp", 2)
    assert (b >= 1) == (s1, "cmp", 5)
    assert len(b) == 7 and hash(b) == 4242
    assert bool(b) and not m1.Box(0)
    assert 5 in b and 6 not in b
    with pytest.raises(KeyError, match="boom"):
        "boom" in b
    assert b["k"] == (s1, "getitem", "k")
    b["k"] = 1
    del b["k"]
    assert s1.log == [("set", "k", 1), ("del", "k")]
    assert b(1, x=2) == (s1, "call", (1,), {"x": 2})
    assert list(b) == [(s1, 1), (s1, 2), (s1, 3)]


def test_hash_follows_richcompare_on_both_paths(pair, mode):
    # A type defining comparison but not __hash__ is unhashable, as a class statement or a
    # spec makes it, whichever path installs the slots; a later tp_hash (or a C tp_hash
    # beside a Python-level __eq__) makes it hashable again.
    m1, m2, s1, s2 = pair
    c = m1.Cmp()
    assert (c == 1) == (s1, 2) and m1.Cmp.__hash__ is None
    with pytest.raises(TypeError, match="unhashable"):
        hash(c)
    assert hash(m1.CmpHash()) == 4242 and (m1.CmpHash() < 0) == (s1, 0)
    e = m1.EqHash()
    assert hash(e) == 4242 and e == e and not e == m1.EqHash()


def test_sequence_index_on_both_paths(pair, mode):
    m1, m2, s1, s2 = pair
    q = m1.Seq()
    assert q[0] == (s1, 0) and q[-1] == (s1, 6) and q[-7] == (s1, 0)
    assert m1.Seq.__getitem__(q, -2) == (s1, 5)
    with pytest.raises(IndexError):
        q[-8]
    with pytest.raises(IndexError):
        q[7]
    with pytest.raises(TypeError):
        q["x"]
    assert list(q) == [(s1, i) for i in range(7)]


def test_descriptors_check_self_on_both_paths(pair, mode):
    # Called through the class with a foreign object, a C method or slot dunder raises
    # TypeError whichever path installed it (the implementation relies on self's type).
    m1, m2, s1, s2 = pair
    for call in (lambda: m1.Box.who(12345), lambda: m1.Box.take("x", 1),
                 lambda: m1.Box.__neg__(12345), lambda: m1.Box.__add__(object(), 1),
                 lambda: m1.Box.__len__([]), lambda: m1.Seq.__getitem__(m1.Box(1), 0)):
        with pytest.raises(TypeError, match="doesn't apply to a|requires a"):
            call()
    assert m1.Box.who(m1.Box(1)) is s1          # and the right object still works


def test_c_methods_named_like_dunders_on_both_paths(pair, mode):
    # add_method(T, "__sub__", ...) makes ``o - 1`` call it, whichever path installed it
    # (as a class statement's __sub__ would); a dunder whose result type CPython checks
    # (__len__ must return an int) fails the same way on both.
    m1, m2, s1, s2 = pair
    o = m1.DBox()
    assert o - 1 == (s1, 1) and m1.DBox.__sub__(o, 2) == (s1, 2)
    with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
        len(o)


def test_getsets(pair):
    m1, m2, s1, s2 = pair
    b = m1.Box(1)
    assert b.cvalue == (s1, 1)
    b.cvalue = 10
    assert b.value == 10 and s1.log == [("setattr", 10)]
    with pytest.raises(AttributeError):
        del b.cvalue
    with pytest.raises(AttributeError):
        b.ro = 1
    assert m1.Box.cvalue.__doc__ == "value, via C"


def test_true_defining_class_for_c_impls(pair):
    m1, m2, s1, s2 = pair

    class Both(m1.Box, m2.Box):
        pass

    both = Both(4)
    assert m2.Box.who(both) is s2 and m1.Box.who(both) is s1 and both.who() is s1
    assert m2.Box.__add__(both, 1)[0] is s2
    assert m2.Box.__neg__(both)[0] is s2
    assert m2.Box.__len__(both) == 7
    assert m2.Box.cvalue.__get__(both) == (s2, 4)
    assert both + 1 == (s1, "add", both, 1)
    deep = m2.Box
    for i in range(10):
        deep = type(f"D{i}", (deep,), {})
    d = deep(2)
    assert d.who() is s2 and d + 1 == (s2, "add", d, 1) and -d == (s2, "neg")


def test_c_finalizer(cext, pair, mode, unraisable):
    m1, m2, s1, s2 = pair
    fin = cext.finalized
    fin.clear()
    f = m2.Fin("plain")
    assert type(m2.Fin.__dict__["__del__"]).__name__ == (
        "wrapper_descriptor" if mode != "fallback" else "CMethod")
    del f
    assert fin == [(s2, "plain")]
    # a subclass; an explicit __del__() call runs the finalizer, and so does the free
    class Sub(m1.Fin):
        pass
    f = Sub("sub")
    f.__del__()
    del f
    assert fin[1:] == [(s1, "sub"), (s1, "sub")]
    fin.clear()
    # in a reference cycle, with its module otherwise unreachable: the collector finalizes
    # it before clearing anything, so the state is whole
    states = len(live_instances(cext.St))
    m3 = cext.defn.create()
    s3 = id(hpystate.state_of(m3))
    f = m3.Fin()
    f.value = ["cycle", f]
    del f, m3
    gc.collect()
    [(st, what)] = fin
    assert id(st) == s3 and what == "cycle" and st.module.Fin.__name__ == "Fin"
    del st                          # the finalizer's record resurrected the state
    fin.clear()
    assert len(live_instances(cext.St)) == states


def test_c_finalizer_errors_are_unraisable(cext, pair, mode, unraisable):
    m1, m2, s1, s2 = pair
    cext.finalized.clear()
    f = m1.Fin("boom")
    del f
    assert cext.finalized == [(s1, "boom")]
    assert [type(e) for e in unraisable] == [KeyError]
    f = m1.Fin("noexc")
    del f
    assert type(unraisable[1]) is SystemError
    assert "without setting an exception" in str(unraisable[1])
    # called explicitly, as for any C type's tp_finalize, it reports rather than raises
    f = m1.Fin("boom")
    f.__del__()
    assert type(unraisable[2]) is KeyError
    f.value = "quiet"
    del f
    unraisable[2:] = []
    # an exception pending when the finalizer runs survives it
    with pytest.raises(ValueError, match="pending while finalizing"):
        cext.drop_with_error([m2.Fin("boom")])
    assert cext.finalized[-1] == (s2, "boom") and type(unraisable[2]) is KeyError
    cext.finalized.clear()


def test_c_finalizer_resurrection(cext, pair, mode):
    m1, m2, s1, s2 = pair
    cext.finalized.clear()
    f = m1.Fin("resurrect")
    w = weakref.ref(f)
    del f
    assert s1.log == [w()] and cext.finalized == [(s1, "resurrect")]
    s1.log.clear()                  # freed now, and not finalized twice
    gc.collect()
    assert w() is None and cext.finalized == [(s1, "resurrect")]
    cext.finalized.clear()


def test_collection_while_a_c_method_runs(cext, mode):
    # The only reference to the module instance is through the instance whose C method is
    # running: a collection inside it frees nothing the call uses; afterwards, all is freed.
    m = cext.defn.create()
    w = weakref.ref(hpystate.state_of(m))
    b = m.Box(1)
    del m
    st, module, seen = b.collect()
    assert st is w() and seen is st and module.Box is type(b)
    del st, module, seen, b
    gc.collect()
    assert w() is None


def test_entries_released_with_the_module(cext):
    gc.collect()
    before = _core._trampolines_in_use()
    m = cext.defn.create()
    during = _core._trampolines_in_use()
    # 6 functions, 10 methods, 31 slots; and EqHash's Python-level __eq__ its own C slot
    assert sum(during) - sum(before) == 6 + 10 + 31 + 1
    w = weakref.ref(hpystate.state_of(m))
    b = m.Box(1)
    del m
    gc.collect()
    assert w() is not None and b.who() is w()      # an instance keeps everything alive
    del b
    gc.collect()
    assert w() is None
    assert _core._trampolines_in_use() == before


def test_partial_exhaustion_mixes_paths_correctly(cext):
    # One more static entry per kind, then one more stub, then the fallback: bindings of
    # one module instance on all three paths, each with its own instance's state.
    gc.collect()
    used, dyn = _core._trampolines_in_use(), _core._trampolines_in_use(dynamic=True)
    old = (_core._trampoline_limit(max(used) + 1), _core._stub_limit(max(dyn) + 1))
    try:
        ms = [cext.defn.create() for _ in range(3)]
        assert sum(_core._trampolines_in_use(dynamic=True)) > sum(dyn)     # stubs taken
        for m in ms:
            st, b = hpystate.state_of(m), m.Box(1)
            assert b.who() is st and (b + 0)[0] is st and b.fast(1) == (st, 1)
            assert (0 + b)[0] is st and b.take(2) == (st, 2)
        kinds = {type(m.Box.__dict__[n]).__name__ for m in ms for n in ("who", "fast", "take")}
        assert kinds == {"method_descriptor", "CMethod"}
    finally:
        _restore_mode(old)


def test_entries_past_the_static_tables_are_released_and_reused(cext):
    # Stub entries are given back with their module instance and taken again by the next:
    # the chunks (executable pages) do not grow with create/destroy cycles.
    old = _set_mode("stubs")
    try:
        gc.collect()
        before = _core._trampolines_in_use(dynamic=True)
        for _ in range(3):
            ms = [cext.defn.create() for _ in range(40)]
            assert sum(_core._trampolines_in_use(dynamic=True)) - sum(before) == 40 * (6 + 10 + 31 + 1)
            chunks = _core._stub_chunks()
            for m in ms:
                assert m.Box(1).who() is hpystate.state_of(m)
            del ms, m
            gc.collect()
            assert _core._trampolines_in_use(dynamic=True) == before
        ms = [cext.defn.create() for _ in range(40)]
        assert _core._stub_chunks() == chunks                   # reused, not grown
    finally:
        _restore_mode(old)


def test_no_cliff_hundreds_of_instances_never_fall_back(cext):
    # More live instances than the static tables serve (256 per kind; the module has 31
    # slots and 10 methods): with stubs, not one binding is a fallback descriptor, and
    # every instance sees its own state (functions, methods, slots, subclass instances).
    if not _core._STUBS:
        pytest.fail("no runtime stubs on this platform: test_stubs_exist_where_promised says why")
    gc.collect()
    ms = [cext.defn.create() for _ in range(300)]
    assert sum(_core._trampolines_in_use(dynamic=True)) >= 300 * (6 + 10 + 31) - 256 * 19
    for m in ms:
        st = hpystate.state_of(m)
        assert not any(isinstance(v, (hpystate.CMethod, hpystate.CFunction))
                       for v in list(vars(m.Box).values()) + list(vars(m).values()))
        class Sub(m.Box):
            pass
        b, sb = m.Box(1), Sub(2)
        assert m.noargs() is st and b.who() is st and sb.who() is st
        assert (b + 0)[0] is st and (0 + sb)[0] is st and len(b) >= 0
    m2 = ms[-1]
    class Both(ms[0].Box, m2.Box):
        __slots__ = ()
    o = Both(1)
    assert m2.Box.who(o) is hpystate.state_of(m2) and o.who() is hpystate.state_of(ms[0])


def test_bad_registrations_fail_at_definition_time(cext):
    errors = cext.bad_registrations()
    expect = {
        "unknown slot": (ValueError, "unknown or unsupported C slot 'nb_plus'"),
        "slot conflicts with Python dunder": (ValueError, "conflicts with Python-level __add__"),
        "bad flags": (ValueError, "flags must be METH_NOARGS"),
        "NULL impl": (ValueError, "implementation pointer is NULL"),
        "bad name": (ValueError, "valid Python identifier"),
        "duplicate function": (ValueError, "duplicate name 'f'"),
        "slot twice": (ValueError, "'tp_richcompare' is already implemented"),
        "method and slot for one dunder": (
            ValueError, "duplicate member name '__sub__': C slot 'nb_subtract' and C method "
                        "'__sub__' both set it"),
        "two slots for one dunder": (
            ValueError, "duplicate member name '__len__': C slot 'mp_length' and C slot "
                        "'sq_length' both set it"),
        "after create": (TypeError, "frozen"),
        "function on None": (TypeError, "add_function_o() needs a ModuleDef, not None"),
        "method on None": (TypeError, "add_method_noargs() needs a TypeDef (what ``@mod.type`` "
                                      "returns, or ``mod[name]``), not None"),
        "slot on None": (TypeError, "set_nb_add() needs a TypeDef"),
        "getset on None": (TypeError, "add_getset() needs a TypeDef"),
        "NULL impl, checked": (ValueError, "method T.m: the implementation pointer is NULL"),
        "function on a TypeDef": (TypeError, "add_function_o() needs a ModuleDef, not "
                                             "<hpystate TypeDef hps_cext_bad.T>"),
        "method on a class": (TypeError, "needs a TypeDef (what ``@mod.type`` returns, or "
                                       "``mod[name]``), not <class 'int'>"),
        "slot on a ModuleDef": (TypeError, "set_nb_add() needs a TypeDef (what ``@mod.type`` "
                                           "returns, or ``mod[name]``), not <hpystate ModuleDef"),
        "METH_O signature with two parameters": (
            ValueError, "C function 's2': METH_O takes exactly one positional argument, always "
                        "given, not (a, b)"),
        "METH_NOARGS signature with a parameter": (
            ValueError, "C method 's3': METH_NOARGS takes no arguments, not (a)"),
        "METH_FASTCALL signature with keywords": (
            ValueError, "METH_FASTCALL takes no keyword arguments, not (a, *, b)"),
        "invalid signature": (ValueError, "signature (a, ,) is not valid"),
        "METH_O signature with a default": (
            ValueError, "METH_O takes exactly one positional argument, always given, not (a=1)"),
        "state class mismatch": (
            TypeError, "hpystate module 'hps_cext_other_state': C function 'f' was compiled for "
                       "another state class than the definition's 'Other'"),
    }
    assert set(errors) == set(expect)
    for name, (exc_type, text) in expect.items():
        assert isinstance(errors[name], exc_type), (name, errors[name])
        assert text in str(errors[name]), (name, str(errors[name]))


DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "cimport.md"


def test_documented_example_compiles_and_works(tmp_path):
    """docs/cimport.md's worked example is real code: compile it and use it."""
    import re
    source = re.findall(r"```cython\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    (tmp_path / "doc_example.pyx").write_text(source)
    script = textwrap.dedent("""
        import hpystate
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        setup(script_args=["build_ext", "--inplace", "-q"],
              ext_modules=cythonize([Extension("doc_example", ["doc_example.pyx"])],
                                    quiet=True, include_path=[hpystate.cython_include()]))
    """)
    build_in_place(tmp_path, script)
    sys.path.insert(0, str(tmp_path))
    try:
        import doc_example
        m1, m2 = doc_example.counter_def.create(), doc_example.counter_def.create()
        assert m1.incr(5) == 5 and m2.incr(1) == 1 and m1.incr(1) == 6
        b = m1.Box(3)
        assert b.get() == 3
        assert b + m1.Box(4) == 6 + 3          # state count (6) + the Box operand's value
        assert b.doubled == 6
        b.doubled = 10
        assert b.get() == 5
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("doc_example", None)


def test_state_class_from_a_module_built_without_type_specs(cext):
    # hpystate's own module is built with Cython's type specs (ModuleState is a heap type,
    # one per interpreter); this test extension is built with plain cythonize, so its cdef
    # state class is a static type deriving from it. Freeing such states must not drop
    # references to the static type (Cython's own dealloc would, and crash the process).
    St = type(hpystate.state_of(cext.defn.create()))
    assert not St.__flags__ & (1 << 9)                      # Py_TPFLAGS_HEAPTYPE
    assert hpystate.ModuleState.__flags__ & (1 << 9)
    gc.collect()
    before = sys.getrefcount(St)
    refs = []
    for _ in range(300):
        refs.append(weakref.ref(hpystate.state_of(cext.defn.create())))
        gc.collect()
    assert all(r() is None for r in refs)
    assert sys.getrefcount(St) == before


def test_python_subclass_of_a_static_state_class(cext):
    # A Python subclass of that static state class: CPython's subtype_dealloc drops the
    # reference to it, so ModuleState's dealloc must not drop another one.
    St = type(hpystate.state_of(cext.defn.create()))

    class PySt(St):
        pass

    d = hpystate.ModuleDef("hps_pysub_state", state=PySt)
    # Free-threaded builds count type references deferred (getrefcount shows a huge
    # number that does not move): there only the 300 lifetimes below can tell.
    exact = not FREE_THREADED
    gc.collect()
    before = sys.getrefcount(PySt)
    m = d.create()
    del m
    gc.collect()
    assert sys.getrefcount(PySt) == before or not exact     # no reference lost
    for _ in range(300):                        # was a segfault after a few
        assert type(hpystate.state_of(d.create())) is PySt
        gc.collect()
    assert sys.getrefcount(PySt) == before or not exact


# -- one semantics: every C slot of the slot table, through trampolines and the fallback ---

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tools"))
import slot_table  # noqa: E402

C_SLOTS = {s.name: s.kind for s in slot_table.SLOTS if s.kind}


class _Holder:
    """The class of _through_a_class: outcomes name it and its instances ("H", "H()")."""


def _through_a_class(o, use):
    """``use(H)`` for a new class H holding descriptor ``o``."""
    return use(type("H", (_Holder,), {"d": o}))


def _descr_set(o):
    def assign(H):
        h = H()
        h.d = 5
    return _through_a_class(o, assign)


def _descr_delete(o):
    def delete(H):
        h = H()
        del h.d
    return _through_a_class(o, delete)


def _await(o):
    async def run():
        return await o
    coro = run()
    try:
        coro.send(None)
    finally:
        coro.close()


aiter_ = lambda o: aiter(o)             # noqa: E731 (3.10+ builtins, looked up per call)
anext_ = lambda o: anext(o)             # noqa: E731
_BIN = {"add": "+", "sub": "-", "mul": "*", "mod": "%", "lshift": "<<", "rshift": ">>",
        "and": "&", "xor": "^", "or": "|", "floordiv": "//", "truediv": "/", "matmul": "@"}


def _inplace(op):
    def run(o):
        x = o
        exec(f"x {op}= 1", {}, loc := {"x": x})
        return loc["x"]
    return run


# What each Python-level method of a slot does to an instance ``o`` of the type that
# implements only that slot: the operations that reach the slot, and the explicit dunder.
OPS = {
    **{f"__{n}__": [lambda o, s=s: eval(f"o {s} 1"), lambda o, n=n: getattr(type(o), f"__{n}__")(o, 1)]
       for n, s in _BIN.items()},
    **{f"__r{n}__": [lambda o, s=s: eval(f"1 {s} o"), lambda o, n=n: getattr(type(o), f"__r{n}__")(o, 1)]
       for n, s in _BIN.items()},
    **{f"__i{n}__": [_inplace(s)] for n, s in _BIN.items()},
    "__divmod__": [lambda o: divmod(o, 1)], "__rdivmod__": [lambda o: divmod(1, o)],
    "__pow__": [lambda o: o ** 2, lambda o: pow(o, 2, 5), lambda o: type(o).__pow__(o, 2)],
    "__rpow__": [lambda o: 2 ** o, lambda o: type(o).__rpow__(o, 2)],
    "__ipow__": [_inplace("**")],
    "__neg__": [lambda o: -o], "__pos__": [lambda o: +o], "__abs__": [abs],
    "__invert__": [lambda o: ~o], "__bool__": [bool, lambda o: not o], "__int__": [int],
    "__float__": [float], "__index__": [lambda o: [10, 20, 30, 40][o]],
    "__repr__": [repr], "__str__": [str, lambda o: f"{o}"], "__hash__": [hash],
    "__call__": [lambda o: o(), lambda o: o(1, k=2), lambda o: type(o).__call__(o, 3)],
    "__iter__": [iter], "__next__": [next, lambda o: list(zip(range(5), iter(lambda: next(o), None)))],
    **{d: [lambda o, op=op: eval(f"o {op} 1"), lambda o, d=d: getattr(type(o), d)(o, 1)]
       for d, op in (("__lt__", "<"), ("__le__", "<="), ("__eq__", "=="), ("__ne__", "!="),
                     ("__gt__", ">"), ("__ge__", ">="))},
    "__init__": [lambda o: type(o)(1, k=2), lambda o: type(o).__init__(o, 3)],
    "__del__": [lambda o: o.__del__()],
    "__len__": [len, bool],
    "__getitem__": [lambda o: o[0], lambda o: o[-1], lambda o: o[5], lambda o: o["k"],
                    lambda o: type(o).__getitem__(o, 1)],
    "__setitem__": [lambda o: o.__setitem__("k", 1)],
    "__delitem__": [lambda o: o.__delitem__("k")],
    "__contains__": [lambda o: "yes" in o, lambda o: "no" in o, lambda o: "boom" in o],
    "__getattribute__": [lambda o: o.foo, lambda o: getattr(o, "bar", "dflt"),
                         lambda o: type(o).__getattribute__(o, "baz")],
    "__getattr__": [lambda o: hasattr(o, "missing")],
    "__setattr__": [lambda o: setattr(o, "a", 1), lambda o: type(o).__setattr__(o, "b", 2)],
    "__delattr__": [lambda o: delattr(o, "a"), lambda o: type(o).__delattr__(o, "b")],
    "__get__": [lambda o: _through_a_class(o, lambda H: H().d),
                lambda o: _through_a_class(o, lambda H: H.d),
                lambda o: o.__get__(None, int), lambda o: o.__get__(1),
                lambda o: o.__get__(None), lambda o: o.__get__(None, None),
                lambda o: type(o).__get__(o, 2, int)],
    "__set__": [_descr_set, lambda o: o.__set__(1, 2)],
    "__delete__": [_descr_delete, lambda o: o.__delete__(1)],
    "__await__": [lambda o: o.__await__(), _await],
    "__aiter__": [lambda o: o.__aiter__(), aiter_],
    "__anext__": [lambda o: o.__anext__(), anext_],
    "__buffer__": [lambda o: bytes(memoryview(o)), lambda o: memoryview(o).readonly],
    "__release_buffer__": [lambda o: memoryview(o).release()],
}
# the r-variant of pow with a modulus: 3.14 made pow(2, o, 5) call __rpow__; before, no slot
# function of CPython's calls it for a class defined in Python (nor for the fallback).
if sys.version_info >= (3, 14):
    OPS["__rpow__"].append(lambda o: pow(2, o, 5))


def _outcome(op, o, state):
    def norm(x):
        if x is state:
            return "STATE"
        if x is o:
            return "OBJ"
        if isinstance(x, _Holder):
            return "H()"
        if isinstance(x, type) and issubclass(x, _Holder):
            return "H"
        if isinstance(x, tuple):
            return tuple(norm(v) for v in x)
        if isinstance(x, list):
            return [norm(v) for v in x]
        return x
    try:
        result = op(o)
    except Exception as exc:
        import re
        return ("raises", type(exc).__name__, re.sub(r"0x[0-9a-f]+", "ADDR", str(exc)))
    if isinstance(result, type(o)) and result is not o:
        result = "NEW"
    elif hasattr(type(result), "__next__") and result is not o:
        result = ("iterator", list(result))
    return ("returns", norm(result), norm(list(state.log)))


def _outcomes(cext, slot):
    out = {}
    for mode in MODES:
        old = _set_mode(mode)
        try:
            m = cext.every_slot({slot: C_SLOTS[slot]}).create()
            T, st = getattr(m, f"T_{slot}"), hpystate.state_of(m)
            assert (type(T.__dict__.get(slot_table_dunder(slot))).__name__ == "CMethod") == \
                (mode == "fallback"), mode
            res = []
            for dunder in (d.name for s in slot_table.SLOTS if s.name == slot for d in s.dunders):
                for op in OPS[dunder]:
                    st.log.clear()
                    o = T.__new__(T)
                    res.append((dunder, _outcome(op, o, st)))
            out[mode] = res
        finally:
            _restore_mode(old)
    return out


def slot_table_dunder(slot):
    """The attribute the fallback installs first: the slot's first dunder, or for a slot no
    dunder stands in for (the buffer protocol) its hidden binding."""
    s = next(s for s in slot_table.SLOTS if s.name == slot)
    return f"__hpystate_{slot}__" if s.hidden else s.dunders[0].name


def test_every_slot_has_operations():
    dunders = {d.name for s in slot_table.SLOTS if s.kind for d in s.dunders}
    assert dunders <= set(OPS), dunders - set(OPS)


@pytest.mark.parametrize("slot", sorted(C_SLOTS))
def test_every_slot_behaves_the_same_on_every_path(cext, slot):
    # The same assertions for every dispatch path: every operation reaching the slot has
    # one outcome (result, state log, or exception and message), whichever path serves it.
    out = _outcomes(cext, slot)
    assert out["trampolines"] == out["stubs"] == out["fallback"]
    assert any(r[0] == "returns" for _, r in out["trampolines"]), out   # the slot is reached


def test_three_argument_pow_with_the_instance_second(cext):
    # pow(2, o, 5): a trampoline or stub is nb_power itself (C semantics: f(st, 2, o, 5));
    # the fallback's nb_power is a generic C function with the same semantics (CPython's
    # slot_nb_power calls no __rpow__ with a modulus before 3.14).
    out = {}
    for mode in MODES:
        old = _set_mode(mode)
        try:
            m = cext.every_slot({"nb_power": "ternary"}).create()
            T = m.T_nb_power
            Sub = type("Sub", (T,), {"__slots__": ()})   # inherits the slot, on every path
            o, so = T(), Sub()
            out[mode] = [_outcome(lambda o: pow(2, o, 5), o, hpystate.state_of(m)),
                         _outcome(lambda o: pow(2, o, 5), so, hpystate.state_of(m)),
                         _outcome(lambda o: pow(o, 2, 5), so, hpystate.state_of(m))]
        finally:
            _restore_mode(old)
    assert out["trampolines"] == [("returns", ("STATE", "ternary", 2, "OBJ", 5), [])] * 2 + \
        [("returns", ("STATE", "ternary", "OBJ", 2, 5), [])]
    assert out["stubs"] == out["trampolines"]
    assert out["fallback"] == out["trampolines"]


def test_pow_tries_each_operands_binding_once(pair):
    # Two module instances' types: ternary_op calls each operand type's nb_power; on the
    # fallback one generic function stands for both, so it must try both bindings itself.
    m1, m2, s1, s2 = pair
    s2.log = s1.log
    b1, b2 = m1.Box(1), m2.Box(2)
    with pytest.raises(TypeError, match="unsupported operand"):
        pow(b1, b2, "pass")
    assert s1.log == [s1, s2]
    del s1.log[:]
    with pytest.raises(TypeError):
        pow(b1, b1, "pass")
    assert s1.log == [s1]                       # one type: its binding once
    del s1.log[:]
    Sub2 = type("Sub2", (m2.Box,), {"__slots__": ()})
    with pytest.raises(TypeError):
        pow(3, Sub2(1), "pass")
    assert s1.log == [s2]
    assert pow(b1, b2, 7) == (s1, "pow", b1, b2, 7)
    assert pow(2, b2, 7) == (s2, "pow", 2, b2, 7)


def test_pow_overridden_in_a_subclass_is_dispatched_by_cpython(pair):
    m1, m2, s1, s2 = pair

    class Sub(m1.Box):
        __slots__ = ()

        def __rpow__(self, other, mod=None):
            return ("sub rpow", other, mod)
    o = Sub(1)
    assert 2 ** o == ("sub rpow", 2, None)
    assert o ** 2 == (s1, "pow", o, 2, None)    # __pow__ is still the base's binding


# -- a bound C method keeps what it calls alive ------------------------------------------

_BOUND = """
    import gc, sys
    sys.path.insert(0, {path!r})
    import hpystate, hps_cext
    {mode_code}
    d = hps_cext.defn
    m1 = d.create()
    s1 = hpystate.state_of(m1)
    ident = id(s1)
{setup}
    bm = o.who                              # a bound method of m1's type, holding o only
    try:
{change}
        outcome = "changed"
    except TypeError as exc:
        outcome = "refused: " + str(exc)
    del m1, s1
    gc.collect(); gc.collect()
    newer = [d.create() for _ in range(8)]  # take any entries m1 gave back
    try:
        call = "own state" if id(bm()) == ident else "another state"
    except TypeError as exc:
        call = "refused: " + str(exc)
    result = {{"outcome": outcome, "call": call}}
"""


@pytest.mark.parametrize("setup, change, refused", [
    ("    class A(m1.Box):\n        __slots__ = ()\n    class B(d.create().Box):\n"
     "        __slots__ = ()\n    o = A(1)\n    del A", "        o.__class__ = B", True),
    ("    class Sub(m1.Box):\n        pass\n    o = Sub(1)",
     "        Sub.__bases__ = (d.create().Box,)", False),
    ("    o = m1.MBox()", "        o.__class__ = d.create().MBox", True),
    ("    m2 = d.create()\n    class Both(m1.Box, m2.Box):\n        __slots__ = ()\n"
     "    o = Both(1)\n    class Only2(m2.Box):\n        __slots__ = ()",
     "        o.__class__ = Only2", True),
], ids=["class-between-subclasses", "bases-of-a-subclass", "class-of-a-mutable-type",
        "class-dropping-one-base"])
@pytest.mark.parametrize("limit", MODES)
def test_bound_c_method_keeps_its_instance(cext, setup, change, refused, limit):
    # The scenarios: code that makes an object drop its hold on the type a bound
    # C method came from, then collects that module instance. Either hpystate refuses the
    # change, or the bound method still runs with its own state, or (the object's class
    # no longer derives from the method's type) the call is refused as CPython's
    # descriptors refuse it: never a newer instance's state, never a crash (each runs in
    # a child: a crash fails it, not the suite).
    path = str(pathlib.Path(cext.__file__).parent)
    r = run_child(_BOUND.format(path=path, setup=setup, change=change,
                                mode_code=_MODE_CODE[limit]))["result"]
    assert r["outcome"].startswith("refused") == refused, r
    if refused:
        assert "would no longer hold" in r["outcome"], r
        assert r["call"] == "own state", r
    else:                               # Sub no longer derives from m1.Box: both paths refuse
        assert r["call"] == ("refused: descriptor 'who' for 'Box' objects doesn't apply to "
                             "a 'Sub' object"), r


_STALE = """
    import gc, sys
    sys.path.insert(0, {path!r})
    import hpystate, hps_cext
    {mode_code}
    d = hps_cext.defn
    keep = d.create()
    m1 = d.create()
    s1 = hpystate.state_of(m1)
    ident = id(s1)
{setup}
    del m1, s1
    gc.collect(); gc.collect()
    newer = [d.create() for _ in range(8)]  # take any entries m1 gave back
    name = bm.__name__                      # its PyMethodDef is still readable memory
    try:
        outcome = "own state" if id(bm()) == ident else "another state"
    except TypeError as exc:
        outcome = "refused: " + str(exc)
    result = outcome if isinstance(name, str) else "no name"
"""


@pytest.mark.parametrize("setup", [
    # a subclass whose __init_subclass__ skips super(): its own subclass is not recorded
    "    class Mid(m1.Box):\n        __slots__ = ()\n"
    "        def __init_subclass__(cls, **kw):\n            pass\n"
    "    class Leaf(Mid):\n        __slots__ = ()\n"
    "    o = Leaf(1)\n    bm = o.who\n"
    "    class Mid2(keep.Box):\n        __slots__ = ()\n"
    "    Leaf.__bases__ = (Mid2,)\n    del Mid",
    # a base brought in by one __bases__ reassignment and dropped by a second
    "    class Sub(keep.Box):\n        __slots__ = ()\n"
    "    Sub.__bases__ = (m1.Box,)\n    o = Sub(1)\n    bm = o.who\n"
    "    Sub.__bases__ = (keep.Box,)",
], ids=["init-subclass-without-super", "bases-brought-in-then-dropped"])
@pytest.mark.parametrize("limit", MODES)
def test_a_stale_bound_c_method_is_refused_never_misrouted(cext, setup, limit):
    # The two ways past the class-level holds: the bound method outlives the module
    # instance whose type it came from. It must never run with another instance's state,
    # nor crash: the trampoline checks self against the entry's type, the fallback's
    # CMethod against its own, and both refuse.
    path = str(pathlib.Path(cext.__file__).parent)
    r = run_child(_STALE.format(path=path, setup=setup, mode_code=_MODE_CODE[limit]))["result"]
    assert r.startswith("refused: "), r         # on every path
    assert "doesn't apply to a" in r or "can no longer be called" in r, r


def test_one_definition_cannot_starve_another(cext):
    # The tables are process-wide, but one definition's instances hold at most half of a
    # kind's entries: another definition still finds trampolines.
    old = (_core._trampoline_limit(24), _core._stub_limit(0))   # the static tables only
    try:
        gc.collect()
        hog = [cext.defn.create() for _ in range(30)]      # several binary slots each
        assert type(hog[-1].Box.__dict__["__add__"]).__name__ == "CMethod"   # fallback
        held = _core._trampolines_in_use()
        assert max(held) <= 12, held
        other = cext.every_slot({"nb_add": "binary"}).create()
        assert type(other.T_nb_add.__dict__["__add__"]).__name__ == "wrapper_descriptor"
        o = other.T_nb_add()
        assert (o + 1)[0] is hpystate.state_of(other)
        assert (hog[-1].Box(1) + 1)[0] is hpystate.state_of(hog[-1])    # both paths work
    finally:
        _restore_mode(old)
