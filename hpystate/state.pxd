# hpystate's cimport contract: typed module state and C-level implementations.
#
#     from hpystate.state cimport ModuleState, ModuleDef, TypeDef, add_function, add_slot
#
#     cdef class CounterState(ModuleState):
#         cdef public long count
#
#     cdef object incr(CounterState st, object n):           # METH_O
#         st.count += n
#         return st.count
#
#     add_function(counter_def, "incr", <void *>incr, METH_O)
#
# Every implementation receives its module instance's state first, then the calling
# convention's or the slot's own C parameters (docs/cimport.md lists them all). Errors
# propagate the Cython way: ``object`` returns are NULL on error, ``int``/``Py_ssize_t``/
# ``Py_hash_t`` returns are -1 (declare them ``except -1``).
#
# ``ModuleState`` is the base of every module state class. Instances are created by
# hpystate, one per module instance; ``self.module`` is that instance.

from hpystate._core cimport (
    ModuleState, ModuleDef, TypeDef,
    add_function, add_method, add_slot, add_getset,
)

cdef extern from "Python.h":
    # calling conventions for add_function / add_method
    int METH_NOARGS       # impl(state[, self])
    int METH_O            # impl(state[, self], arg)
    int METH_FASTCALL     # impl(state[, self], PyObject **args, Py_ssize_t nargs)
    int METH_KEYWORDS     # with METH_FASTCALL: ..., PyObject *kwnames
