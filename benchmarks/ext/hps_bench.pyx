# cython: language_level=3
"""hpystate's C-level API, for benchmarks/bench_cimport.py: the same operations as
ref_ext.c, each reading its module instance's state."""
import hpystate
from hpystate.state cimport (
    ModuleState, TypeDef, add_function, add_method, add_slot, METH_NOARGS, METH_O,
)


cdef class BenchState(ModuleState):
    cdef object value
    cdef Py_ssize_t n

    def __init__(self):
        self.value = None
        self.n = 7


defn = hpystate.ModuleDef("hps_bench", state=BenchState)


@defn.type
class Box:
    __slots__ = ()


cdef object f_get(BenchState st):
    return st.value

cdef object m_get(BenchState st, object self):
    return st.value

cdef object m_take(BenchState st, object self, object x):
    return st.value

cdef object s_add(BenchState st, object a, object b):
    return st.value

cdef object s_richcompare(BenchState st, object a, object b, int op):
    return st.value

cdef Py_ssize_t s_length(BenchState st, object a) except -1:
    return st.n


cdef TypeDef box = defn["Box"]
add_function(defn, "get", <void *>f_get, METH_NOARGS)
add_method(box, "get", <void *>m_get, METH_NOARGS)
add_method(box, "take", <void *>m_take, METH_O)
add_slot(box, "nb_add", <void *>s_add)
add_slot(box, "tp_richcompare", <void *>s_richcompare)
add_slot(box, "sq_length", <void *>s_length)
