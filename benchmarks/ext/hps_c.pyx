# cython: language_level=3
"""hpystate's C-level API (``cimport hpystate.state``): Cython ``cdef`` implementations
receiving their module instance's typed state through per-binding trampolines. Same
interface as ref_ext.c (see there)."""
import hpystate
from cpython.ref cimport PyObject, Py_INCREF
from hpystate.state cimport (
    ModuleState, TypeDef, add_function, add_method, add_slot, add_getset,
    METH_NOARGS, METH_O, METH_FASTCALL,
)


cdef class BenchState(ModuleState):
    cdef object value
    cdef Py_ssize_t n

    def __init__(self):
        self.value = None
        self.n = 7


defn = hpystate.ModuleDef("hps_c", state=BenchState)


@defn.type
class Box:
    __slots__ = ()


@defn.type
class Map:
    __slots__ = ()


cdef object f_get(BenchState st):
    return st.value

cdef object f_set(BenchState st, object v):
    st.value = v

cdef object m_get(BenchState st, object self):
    return st.value

cdef object m_take(BenchState st, object self, object x):
    return st.value

cdef object m_take2(BenchState st, object self, PyObject **args, Py_ssize_t nargs):
    if nargs != 2:
        raise TypeError(f"take2() takes exactly 2 arguments ({nargs} given)")
    return st.value

cdef object s_add(BenchState st, object a, object b):
    return st.value

cdef object s_richcompare(BenchState st, object a, object b, int op):
    return st.value

cdef Py_ssize_t s_length(BenchState st, object a) except -1:
    return st.n

cdef Py_hash_t s_hash(BenchState st, object a) except -1:
    return st.n

cdef PyObject *s_iternext(BenchState st, object a) noexcept:
    Py_INCREF(st.value)
    return <PyObject *>st.value

cdef object g_value(BenchState st, object self):
    return st.value


cdef TypeDef box = defn["Box"]
add_function(defn, "get", <void *>f_get, METH_NOARGS)
add_function(defn, "set", <void *>f_set, METH_O)
add_method(box, "get", <void *>m_get, METH_NOARGS)
add_method(box, "take", <void *>m_take, METH_O)
add_method(box, "take2", <void *>m_take2, METH_FASTCALL)
add_slot(box, "nb_add", <void *>s_add)
add_slot(box, "tp_richcompare", <void *>s_richcompare)
add_slot(box, "sq_length", <void *>s_length)
add_slot(box, "tp_hash", <void *>s_hash)
add_slot(box, "tp_iternext", <void *>s_iternext)
add_getset(box, "value", <void *>g_value, NULL)
add_slot(<TypeDef>defn["Map"], "mp_length", <void *>s_length)
