# hpystate's cimport contract: typed module state and C-level implementations.
#
#     from hpystate.state cimport ModuleState
#
#     cdef class CounterState(ModuleState):
#         cdef public long count
#
#     ctypedef CounterState State
#     include "hpystate/checked.pxi"        # typed registration over State
#
#     cdef object incr(CounterState st, object n):           # METH_O
#         st.count += n
#         return st.count
#
#     add_function_o(counter_def, "incr", incr)
#
# Every implementation receives its module instance's state first, then the calling
# convention's or the slot's own C parameters (docs/cimport.md lists them all); Cython checks
# them against the registration function's typed parameter. Errors propagate the Cython
# way: ``object`` returns are NULL on error, ``int``/``Py_ssize_t``/``Py_hash_t`` returns are
# -1 (declared ``except -1``).
#
# ``ModuleState`` is the base of every module state class. Instances are created by
# hpystate, one per module instance; ``self.module`` is that instance.

from hpystate._core cimport (
    ModuleState, ModuleDef, TypeDef, ExceptionDef, _handle_of,
    add_function_unchecked, add_method_unchecked, add_slot_unchecked, add_getset_unchecked,
)

cdef extern from "Python.h":
    # calling conventions (for the add_*_unchecked escape hatch, and for reading code)
    int METH_NOARGS       # impl(state[, self])
    int METH_O            # impl(state[, self], arg)
    int METH_FASTCALL     # impl(state[, self], PyObject **args, Py_ssize_t nargs)
    int METH_KEYWORDS     # with METH_FASTCALL: ..., PyObject *kwnames
    # tp_richcompare's op
    int Py_LT
    int Py_LE
    int Py_EQ
    int Py_NE
    int Py_GT
    int Py_GE


cdef inline object type_of(TypeDef tp, ModuleState st):
    """This module instance's type for ``tp`` (what ``tp.of(st)`` returns), in a few loads
    and no Python call. TypeError for a state of another definition."""
    return _handle_of(tp, st)


cdef inline object exception_of(ExceptionDef exc, ModuleState st):
    """This module instance's exception class for ``exc``, as ``type_of``."""
    return _handle_of(exc, st)
