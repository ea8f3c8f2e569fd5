# cython: language_level=3
"""hpystate's C-level API (``cimport hpystate.state``): Cython ``cdef`` implementations
receiving their module instance's typed state through per-binding trampolines. Same
interface as ref_ext.c (see there)."""
import hpystate
from cpython.ref cimport PyObject, Py_INCREF
from hpystate.state cimport ModuleState, type_of


cdef class BenchState(ModuleState):
    cdef object value
    cdef Py_ssize_t n
    cdef object box_type            # this instance's Box (the exec hook below sets it)

    def __init__(self):
        self.value = None
        self.n = 7


ctypedef BenchState State
include "hpystate/checked.pxi"     # typed registration: Cython checks each impl


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

cdef object f_own_type(BenchState st):
    return st.box_type                  # the hottest-path pattern: a field of the state

cdef object f_type_of(BenchState st):
    return type_of(box, st)             # this instance's Box: a few loads, no Python call


box = defn["Box"]


@defn.exec
def _keep_box(BenchState state, module):
    state.box_type = type_of(box, state)


add_function_noargs(defn, "get", f_get)
add_function_o(defn, "set", f_set)
add_function_noargs(defn, "own_type", f_own_type)
add_function_noargs(defn, "type_of", f_type_of)
add_method_noargs(box, "get", m_get)
add_method_o(box, "take", m_take)
add_method_fastcall(box, "take2", m_take2)
set_nb_add(box, s_add)
set_tp_richcompare(box, s_richcompare)
set_sq_length(box, s_length)
set_tp_hash(box, s_hash)
set_tp_iternext(box, s_iternext)
add_getset(box, "value", g_value, NULL)
set_mp_length(defn["Map"], s_length)
