# cython: language_level=3
"""The definition of ``meson_counter.counter``: a typed state, a Cython ``def`` function
and a C-level function registered with the checked cimport API."""
import hpystate
from hpystate.state cimport ModuleState


cdef class CounterState(ModuleState):
    cdef public long count


ctypedef CounterState State
include "hpystate/checked.pxi"


counter_def = hpystate.ModuleDef("meson_counter.counter", state=CounterState,
                                 doc="A counter per module instance, built by meson.")


@counter_def.function
def incr(CounterState state, long n=1):
    """Add n to this instance's counter and return it."""
    state.count += n
    return state.count


cdef object c_count(CounterState st):
    return st.count


add_function_noargs(counter_def, "count", c_count, "count($module, /)\n--\n\nThe counter.")
