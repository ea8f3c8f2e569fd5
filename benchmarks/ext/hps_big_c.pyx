# cython: language_level=3
"""hpystate's C-level API, for benchmarks/big.py: the same "big" definition as ref_big.c
(10 types x 10 methods, 50 module functions), each implementation reading its module
instance's state.

Calling conventions (the same shape as ref_big.c): function f<k> uses convention k % 4 of
(METH_NOARGS, METH_O, METH_FASTCALL, METH_FASTCALL | METH_KEYWORDS); method m<j> of type
T<i> uses convention j % 4 for j < 8, and for m8/m9 conventions 0/1 on even types, 2/3 on
odd types. That spreads the 100 methods evenly, 25 per trampoline kind, and the 50
functions 13/13/12/12: one definition's instances may hold 128 trampolines of each kind
(half of a kind's process-wide table), so 5 instances of this definition can be alive at once with every binding on a trampoline
(a sixth instance's excess bindings use the slower fallback).
"""
import hpystate
from cpython.object cimport PyObject
from hpystate.state cimport (
    ModuleState, TypeDef, add_function_unchecked, add_method_unchecked,
    METH_NOARGS, METH_O, METH_FASTCALL, METH_KEYWORDS,
)


cdef class BigState(ModuleState):
    cdef public object value

    def __init__(self):
        self.value = object()




# -- module functions ------------------------------------------------------------------------

cdef object f_noargs(BigState st):
    return st.value

cdef object f_o(BigState st, object arg):
    return st.value

cdef object f_fast(BigState st, PyObject **args, Py_ssize_t nargs):
    return st.value

cdef object f_fastkw(BigState st, PyObject **args, Py_ssize_t nargs, PyObject *kwnames):
    return st.value


# -- methods ---------------------------------------------------------------------------------

cdef object m_noargs(BigState st, object self):
    return st.value

cdef object m_o(BigState st, object self, object arg):
    return st.value

cdef object m_fast(BigState st, object self, PyObject **args, Py_ssize_t nargs):
    return st.value

cdef object m_fastkw(BigState st, object self, PyObject **args, Py_ssize_t nargs,
                     PyObject *kwnames):
    return st.value


# -- registration ----------------------------------------------------------------------------

cdef int FLAGS[4]
FLAGS[:] = [METH_NOARGS, METH_O, METH_FASTCALL, METH_FASTCALL | METH_KEYWORDS]


cdef void *function_impl(int c):
    return (<void *>f_noargs if c == 0 else <void *>f_o if c == 1 else
            <void *>f_fast if c == 2 else <void *>f_fastkw)


cdef void *method_impl(int c):
    return (<void *>m_noargs if c == 0 else <void *>m_o if c == 1 else
            <void *>m_fast if c == 2 else <void *>m_fastkw)


cpdef int method_convention(int i, int j):
    """The calling convention (0..3) of method m<j> of type T<i>."""
    return j % 4 if j < 8 else (j % 4) + 2 * (i % 2)


def define(int n_types=10):
    """A fresh ModuleDef of the big shape with ``n_types`` types (benchmarks/big.py measures
    1, 10 and 100)."""
    d = hpystate.ModuleDef("hps_big_c", state=BigState)
    cdef int k, i, j, c
    for k in range(50):
        add_function_unchecked(d, f"f{k}", function_impl(k % 4), FLAGS[k % 4])
    cdef TypeDef td
    for i in range(n_types):
        # @d.type applied to a class made by type(): no class statements needed
        td = <TypeDef>d.type(type(f"T{i}", (), {"__slots__": ()}))
        for j in range(10):
            c = method_convention(i, j)
            add_method_unchecked(td, f"m{j}", method_impl(c), FLAGS[c])
    return d


defn = define(10)
