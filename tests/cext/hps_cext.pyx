# cython: language_level=3
"""Test extension for the cimport API: C-level functions, methods, slots and getsets,
mixed with Python-level members on the same type. Built by tests/test_cimport.py against
the installed hpystate."""
from cpython.buffer cimport PyBuffer_FillInfo
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyObject_GenericGetAttr
from cpython.ref cimport Py_INCREF

import types

import hpystate
from hpystate.state cimport (
    ModuleState, ModuleDef, TypeDef, ExceptionDef, add_function_unchecked,
    add_method_unchecked, add_slot_unchecked, type_of, exception_of, METH_NOARGS, METH_O,
)


cdef class St(ModuleState):
    cdef public long calls
    cdef public list log

    def __init__(self):
        self.calls = 0
        self.log = []


cdef class Other(ModuleState):          # a state class the checked API was not compiled for
    cdef public double weight


ctypedef St State
include "hpystate/checked.pxi"          # the checked API: set_nb_add(T, impl), ...

defn = hpystate.ModuleDef("hps_cext", state=St)

# -- module functions -------------------------------------------------------------------------

cdef object f_noargs(St st):
    st.calls += 1
    return st

cdef object f_o(St st, object x):
    return (st, x)

cdef object f_fast(St st, PyObject **args, Py_ssize_t nargs):
    return (st, tuple([<object>args[i] for i in range(nargs)]))

cdef object f_fastkw(St st, PyObject **args, Py_ssize_t nargs, PyObject *kwnames):
    kw = <object>kwnames if kwnames != NULL else ()
    return (st, tuple([<object>args[i] for i in range(nargs)]),
            {k: <object>args[nargs + i] for i, k in enumerate(kw)})

cdef object f_fail(St st):
    raise ValueError(f"failed in {st.module.__name__}")

add_function_noargs(defn, "noargs", f_noargs, "Count a call.")
add_function_o(defn, "one", f_o, "one(x)\n--\n\nReturn (state, x).")
add_function_o(defn, "old_style", f_o, "old_style(x) -> x, a docstring of the old style")
add_function_fastcall(defn, "fast", f_fast)
add_function_fastcall_kw(defn, "fastkw", f_fastkw)
add_function_noargs(defn, "fail", f_fail)


# -- a type mixing Python-level and C-level members ----------------------------------------------

@defn.type
class Box:
    __slots__ = ("value",)

    @hpystate.slot
    def __init__(state, self, value=0):
        self.value = value

    @hpystate.method
    def pywho(state, self):
        return state


cdef TypeDef BoxT = defn["Box"]

cdef object m_who(St st, object self):
    return st

cdef object m_o(St st, object self, object x):
    return (st, x)

cdef object m_fast(St st, object self, PyObject **args, Py_ssize_t nargs):
    return (st, nargs)

cdef object m_fastkw(St st, object self, PyObject **args, Py_ssize_t nargs, PyObject *kwnames):
    return (st, nargs, <object>kwnames if kwnames != NULL else ())

cdef object m_collect(St st, object self):
    import gc
    gc.collect()
    gc.collect()
    return (st, st.module, type(self)(0).who())

add_method_noargs(BoxT, "who", m_who, "The state this method receives.")
add_method_noargs(BoxT, "collect", m_collect)
add_method_o(BoxT, "take", m_o, "take(item, /)\n--\n\nReturn (state, item).")
add_method_o(BoxT, "cpython_style", m_o, "cpython_style($self, n, /)\n--\n\n")
add_method_fastcall_kw(BoxT, "self_first", m_fastkw, "self_first(self, a, b=2)\n--\n\n")
add_method_fastcall(BoxT, "fast", m_fast)
add_method_fastcall_kw(BoxT, "fastkw", m_fastkw)

cdef object s_add(St st, object a, object b):          # C semantics: a or b is the Box
    return (st, "add", a, b)

cdef object s_iadd(St st, object a, object b):
    return (st, "iadd", b)

cdef object s_pow(St st, object a, object b, object c):
    if c == "pass":                     # declines: the next operand's binding is tried
        st.log.append(st)
        return NotImplemented
    return (st, "pow", a, b, c)

cdef object s_neg(St st, object a):
    return (st, "neg")

cdef object s_repr(St st, object a):
    return f"CBox({a.value!r})"

cdef object s_rich(St st, object a, object b, int op):
    return (st, "cmp", op)

cdef Py_ssize_t s_len(St st, object a) except -1:
    return 7

cdef Py_hash_t s_hash(St st, object a) except -1:
    return 4242

cdef int s_bool(St st, object a) except -1:
    return a.value != 0

cdef int s_contains(St st, object a, object x) except -1:
    if x == "boom":
        raise KeyError("boom")
    return x == a.value

cdef object s_getitem(St st, object a, object key):
    return (st, "getitem", key)

cdef int s_setitem(St st, object a, object key, PyObject *value) except -1:
    st.log.append(("set", key, <object>value) if value != NULL else ("del", key))
    return 0

cdef object s_call(St st, object a, PyObject *args, PyObject *kwargs):
    return (st, "call", <object>args, <object>kwargs if kwargs != NULL else None)

cdef object s_iter(St st, object a):
    st.calls = 0
    return a

cdef PyObject *s_next(St st, object a) noexcept:
    if st.calls >= 3:
        return NULL                     # exhausted, no exception set
    st.calls += 1
    result = (st, st.calls)
    Py_INCREF(result)
    return <PyObject *>result

cdef object g_value(St st, object self):
    return (st, self.value)

cdef int s_value(St st, object self, object value) except -1:
    self.value = value
    st.log.append(("setattr", value))
    return 0

set_nb_add(BoxT, s_add)
set_nb_inplace_add(BoxT, s_iadd)
set_nb_power(BoxT, s_pow)
set_nb_negative(BoxT, s_neg)
set_tp_repr(BoxT, s_repr)
set_tp_richcompare(BoxT, s_rich)
set_mp_length(BoxT, s_len)
set_tp_hash(BoxT, s_hash)
set_nb_bool(BoxT, s_bool)
set_sq_contains(BoxT, s_contains)
set_mp_subscript(BoxT, s_getitem)
set_mp_ass_subscript(BoxT, s_setitem)
set_tp_call(BoxT, s_call)
set_tp_iter(BoxT, s_iter)
set_tp_iternext(BoxT, s_next)
add_getset(BoxT, "cvalue", g_value, s_value, "value, via C")
add_getset(BoxT, "ro", g_value, NULL)


# -- a mutable type with a C method: instances may change __class__ ---------------------------

@defn.type(mutable=True)
class MBox:
    __slots__ = ()

add_method_noargs(defn["MBox"], "who", m_who)


# -- a C method named like a slot dunder -------------------------------------------------------

@defn.type
class DBox:
    __slots__ = ()

add_method_o(defn["DBox"], "__sub__", m_o)
add_method_noargs(defn["DBox"], "__len__", m_who)


# -- types whose dispatch path must not change what they do ------------------------------------

@defn.type
class Cmp:                              # tp_richcompare only: unhashable, as from a spec
    __slots__ = ()


@defn.type
class CmpHash:                          # tp_richcompare, then tp_hash: hashable
    __slots__ = ()


@defn.type
class EqHash:                           # Python-level __eq__, C-level tp_hash: hashable
    __slots__ = ()

    @hpystate.slot
    def __eq__(state, self, other):
        return self is other


@defn.type
class Seq:                              # sq_item and sq_length: negative indices count back
    __slots__ = ()


cdef object s_cmp(St st, object a, object b, int op):
    return (st, op)

cdef object s_seq_item(St st, object a, Py_ssize_t i):
    if not 0 <= i < 7:
        raise IndexError(i)
    return (st, i)

set_tp_richcompare(defn["Cmp"], s_cmp)
set_tp_richcompare(defn["CmpHash"], s_cmp)
set_tp_hash(defn["CmpHash"], s_hash)
set_tp_hash(defn["EqHash"], s_hash)
set_sq_item(defn["Seq"], s_seq_item)
set_sq_length(defn["Seq"], s_len)


# -- a C-level finalizer (tp_finalize, i.e. __del__) ------------------------------------------

finalized = []          # (state, what) for every Fin finalized: read by the tests


@defn.type
class Fin:
    __slots__ = ("value",)

    @hpystate.slot
    def __init__(state, self, value=None):
        self.value = value


cdef int s_finalize(St st, object self) except -1:
    what = self.value[0] if type(self.value) is list else self.value
    finalized.append((st, what))
    if what == "boom":
        raise KeyError("boom in __del__")
    if what == "noexc":
        return -1                       # an error return without an exception
    if what == "resurrect":
        st.log.append(self)             # the object lives on
    return 0

set_tp_finalize(defn["Fin"], s_finalize)


cdef extern from *:
    """
    /* Drop holder[0], its last reference, while an exception is pending. */
    static PyObject *hps_cext_drop_with_error(PyObject *holder) {
        PyObject *obj = PyList_GetItem(holder, 0);
        if (obj == NULL) {
            return NULL;
        }
        Py_INCREF(obj);
        if (PyList_SetSlice(holder, 0, 1, NULL) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
        PyErr_SetString(PyExc_ValueError, "pending while finalizing");
        Py_DECREF(obj);
        return NULL;
    }
    """
    object hps_cext_drop_with_error(object holder)


def drop_with_error(list holder):
    """Free holder's only item with a ValueError pending; the ValueError must arrive."""
    return hps_cext_drop_with_error(holder)


# -- this instance's handles from C: type_of / exception_of ------------------------------------

Err = defn.exception("Err", doc="An exception of each instance.")


def c_type_of(handle, state):
    """type_of(handle, state) from C (TypeError for what is not a TypeDef/ModuleState)."""
    return type_of(handle, state)


def c_exception_of(handle, state):
    return exception_of(handle, state)


# -- the buffer protocol: exports counted per object, state in both functions ----------------

@defn.type
class Buf:
    __slots__ = ("data", "exports")

    @hpystate.slot
    def __init__(state, self, data):
        self.data = bytes(data)
        self.exports = 0


cdef int buf_get(St st, object self, Py_buffer *view, int flags) except -1:
    cdef bytes data = self.data
    PyBuffer_FillInfo(view, self, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), 1, flags)
    self.exports += 1
    st.log.append(("get", self.exports))
    return 0

cdef void buf_release(St st, object self, Py_buffer *view) noexcept:
    self.exports -= 1
    st.log.append(("release", self.exports))

set_bf_getbuffer(defn["Buf"], buf_get)
set_bf_releasebuffer(defn["Buf"], buf_release)


# -- the async protocol: an awaitable and an async iterator ----------------------------------

@types.coroutine
def _ready(value):
    if False:
        yield
    return value


@types.coroutine
def _exhausted():
    if False:
        yield
    raise StopAsyncIteration


@defn.type
class Aw:
    __slots__ = ()


@defn.type
class AIt:
    __slots__ = ("n",)

    @hpystate.slot
    def __init__(state, self, n):
        self.n = n


cdef object aw_await(St st, object self):
    return _ready((st, "awaited"))

cdef object ait_aiter(St st, object self):
    return self

cdef object ait_anext(St st, object self):
    if self.n == 0:
        return _exhausted()
    self.n -= 1
    return _ready((st, self.n))

set_am_await(defn["Aw"], aw_await)
set_am_aiter(defn["AIt"], ait_aiter)
set_am_anext(defn["AIt"], ait_anext)


# -- attribute access and descriptors ----------------------------------------------------------

@defn.type
class Attr:
    __slots__ = ("real",)


cdef object attr_get(St st, object self, object name):
    if name == "virtual":
        return (st, "virtual")
    return PyObject_GenericGetAttr(self, name)

cdef extern from "Python.h":
    int generic_setattr "PyObject_GenericSetAttr"(object o, object name, PyObject *v) except -1

cdef int attr_set(St st, object self, object name, PyObject *value) except -1:
    st.log.append(("setattr", name, <object>value if value != NULL else "<del>"))
    return generic_setattr(self, name, value)       # value NULL: delete

set_tp_getattro(defn["Attr"], attr_get)
set_tp_setattro(defn["Attr"], attr_set)


@defn.type
class Descr:
    __slots__ = ()


cdef object descr_get(St st, object self, PyObject *obj, PyObject *owner):
    return (st, "get", <object>obj if obj != NULL else None)

cdef int descr_set(St st, object self, object obj, PyObject *value) except -1:
    st.log.append(("set", <object>value) if value != NULL else ("delete",))
    return 0

set_tp_descr_get(defn["Descr"], descr_get)
set_tp_descr_set(defn["Descr"], descr_set)


# -- definition-time errors, reported to the test --------------------------------------------

def bad_registrations():
    """Each bad C-level registration, with the exception it raised."""
    out = {}
    d = hpystate.ModuleDef("hps_cext_bad", state=St)

    @d.type
    class T:
        @hpystate.slot
        def __add__(state, self, other):
            return 0

    cdef TypeDef t = d["T"]
    cases = {
        "unknown slot": lambda: add_slot_unchecked(t, "nb_plus", <void *>s_add),
        "slot conflicts with Python dunder": lambda: set_nb_add(t, s_add),
        "bad flags": lambda: add_method_unchecked(t, "m", <void *>m_who, 12345),
        "NULL impl": lambda: add_method_unchecked(t, "m", NULL, METH_NOARGS),
        "NULL impl, checked": lambda: add_method_noargs(t, "m", NULL),
        "function on a TypeDef": lambda: add_function_o(t, "g", f_o),
        "method on a class": lambda: add_method_noargs(int, "m", m_who),
        "slot on a ModuleDef": lambda: set_nb_add(d, s_add),
        "METH_O signature with two parameters": lambda: add_function_o(d, "s2", f_o,
                                                                     "s2(a, b)\n--\n\n"),
        "METH_NOARGS signature with a parameter": lambda: add_method_noargs(
            t, "s3", m_who, "s3(a)\n--\n\n"),
        "METH_FASTCALL signature with keywords": lambda: add_function_fastcall(
            d, "s4", f_fast, "s4(a, *, b)\n--\n\n"),
        "invalid signature": lambda: add_function_fastcall(d, "s5", f_fast, "s5(a, ,)\n--\n\n"),
        "METH_O signature with a default": lambda: add_function_o(d, "s6", f_o,
                                                                "s6(a=1)\n--\n\n"),
        "bad name": lambda: add_method_noargs(t, "not valid", m_who),
        "duplicate function": lambda: (add_function_o(d, "f", f_o),
                                       add_function_o(d, "f", f_o)),
        "function on None": lambda: add_function_o(None, "g", f_o),
        "method on None": lambda: add_method_noargs(None, "m", m_who),
        "slot on None": lambda: set_nb_add(None, s_add),
        "getset on None": lambda: add_getset(None, "a", g_value, NULL),
    }
    for name, fn in cases.items():
        try:
            fn()
        except Exception as exc:
            out[name] = exc
    set_tp_richcompare(t, s_rich)
    try:
        set_tp_richcompare(t, s_rich)
    except Exception as exc:
        out["slot twice"] = exc
    add_method_o(t, "__sub__", m_o)
    try:                                # which one ran would depend on the tables
        set_nb_subtract(t, s_add)
    except Exception as exc:
        out["method and slot for one dunder"] = exc
    try:
        set_sq_length(t, s_len)
        set_mp_length(t, s_len)
    except Exception as exc:
        out["two slots for one dunder"] = exc
    d.create()
    try:
        add_method_noargs(t, "late", m_who)
    except Exception as exc:
        out["after create"] = exc
    other = hpystate.ModuleDef("hps_cext_other_state", state=Other)
    add_function_o(other, "f", f_o)     # compiled for St: refused when an instance is made
    try:
        other.create()
    except Exception as exc:
        out["state class mismatch"] = exc
    return out


# -- every C slot of the slot table, one type each (test_cimport.py's one-semantics test) --------

cdef object g_unary(St st, object a):
    return (st, "unary", a)

cdef object g_binary(St st, object a, object b):
    return (st, "binary", a, b)

cdef object g_ternary(St st, object a, object b, object c):
    return (st, "ternary", a, b, c)

cdef object g_richcmp(St st, object a, object b, int op):
    return (st, "cmp", a, b, op)

cdef int g_inquiry(St st, object a) except -1:
    st.log.append(("inquiry", a))
    return 1

cdef Py_hash_t g_hash(St st, object a) except -1:
    return 42

cdef Py_ssize_t g_len(St st, object a) except -1:
    return 3

cdef object g_ssizearg(St st, object a, Py_ssize_t i):
    if i < 0 or i >= 3:
        raise IndexError(f"index {i}")
    return (st, "item", a, i)

cdef int g_objobj(St st, object a, object b) except -1:
    if b == "boom":
        raise KeyError("boom")
    return b == "yes"

cdef int g_objobjarg(St st, object a, object key, PyObject *value) except -1:
    st.log.append(("set", a, key, <object>value if value != NULL else "<NULL>"))
    return 0

cdef object g_call(St st, object a, PyObject *args, PyObject *kwargs):
    return (st, "call", a, <object>args, <object>kwargs if kwargs != NULL else None)

cdef int g_init(St st, object a, PyObject *args, PyObject *kwargs) except -1:
    st.log.append(("init", <object>args, <object>kwargs if kwargs != NULL else None))
    return 0

cdef int g_finalize(St st, object a) except -1:
    st.log.append(("del", type(a).__name__))
    return 0

cdef PyObject *g_next(St st, object a) noexcept:
    if len(st.log) >= 2:
        return NULL                     # ends the iteration, no exception set
    st.log.append("next")
    result = (st, "next", a)
    Py_INCREF(result)
    return <PyObject *>result

cdef object g_str(St st, object a):
    return "S"

cdef object g_int(St st, object a):
    return 2

cdef object g_float(St st, object a):
    return 1.5

cdef object g_iter(St st, object a):
    return iter((st, a))

cdef object g_descr_get(St st, object a, PyObject *obj, PyObject *owner):
    return (st, "get", a, <object>obj if obj != NULL else "<NULL>",
            <object>owner if owner != NULL else "<NULL>")

cdef char *G_DATA = "abc"

cdef int g_getbuffer(St st, object a, Py_buffer *view, int flags) except -1:
    st.log.append(("getbuffer", flags))
    return PyBuffer_FillInfo(view, a, G_DATA, 3, 1, flags)

cdef void g_releasebuffer(St st, object a, Py_buffer *view) noexcept:
    st.log.append("releasebuffer")

GENERIC = {"unary": <size_t>g_unary, "binary": <size_t>g_binary,
           "ternary": <size_t>g_ternary, "richcmp": <size_t>g_richcmp,
           "inquiry": <size_t>g_inquiry, "hash": <size_t>g_hash, "len": <size_t>g_len,
           "ssizearg": <size_t>g_ssizearg, "objobj": <size_t>g_objobj,
           "objobjarg": <size_t>g_objobjarg, "finalize": <size_t>g_finalize,
           "getbuffer": <size_t>g_getbuffer, "releasebuffer": <size_t>g_releasebuffer}
SPECIAL = {"tp_call": <size_t>g_call, "tp_init": <size_t>g_init, "tp_iternext": <size_t>g_next,
           "tp_repr": <size_t>g_str, "tp_str": <size_t>g_str, "nb_int": <size_t>g_int,
           "nb_index": <size_t>g_int, "nb_float": <size_t>g_float, "tp_iter": <size_t>g_iter,
           "tp_descr_get": <size_t>g_descr_get}


def every_slot(kinds):
    """A definition with one type per C slot, ``T_<slot>``, implementing only that slot
    with a generic implementation of its kind (``kinds``: slot name -> kind name)."""
    d = hpystate.ModuleDef("hps_every_slot", state=St)
    cdef TypeDef td
    for slot, kind in kinds.items():
        d.type(type(f"T_{slot}", (), {"__slots__": ()}))
        td = d[f"T_{slot}"]
        add_slot_unchecked(td, slot, <void *><size_t>SPECIAL.get(slot, GENERIC[kind]))
        if slot == "bf_releasebuffer":  # reached only through an export
            add_slot_unchecked(td, "bf_getbuffer", <void *>g_getbuffer)
    return d
