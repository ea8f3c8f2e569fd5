# cython: language_level=3
"""The definition of ``counter_ext.counter``, compiled by Cython.

- ``CounterState`` is a cdef class: its fields are C fields, typed at C speed.
- Implementations are Cython ``def`` functions taking the typed state first.
- ``Point`` builds on ``Vec``, a cdef class that provides C fields (x, y).
- Some members are C-level implementations registered with the checked cimport API
  (``add_function_noargs``, ``add_method_o``, ``set_nb_negative``: Cython checks each
  signature); called through per-binding trampolines, they receive the state with no lookup.
"""
import hpystate
from hpystate.state cimport ModuleState, type_of


cdef class CounterState(ModuleState):
    cdef public long count
    cdef public long points_made

    def __init__(self):
        self.count = 0
        self.points_made = 0


ctypedef CounterState State
include "hpystate/checked.pxi"     # typed registration: Cython checks each impl


cdef class Vec:
    """C fields for Point."""
    cdef public double x, y


counter_def = hpystate.ModuleDef("counter_ext.counter", state=CounterState,
                                 doc="A counter whose state belongs to each module instance.")

Overflow = counter_def.exception("Overflow", base=ArithmeticError,
                                 doc="Raised when the counter passes its limit.")


@counter_def.function
def incr(CounterState state, long n=1):
    """Add n to this module instance's counter and return it."""
    if state.count + n > 1_000_000:
        raise Overflow.of(state)(f"counter would pass 1000000 (at {state.count})")
    state.count += n
    return state.count


@counter_def.function
def count(CounterState state):
    """This module instance's counter."""
    return state.count


@counter_def.type
class Point(Vec):
    """A 2-D point; every point made is counted in its module instance's state."""

    @hpystate.slot
    def __init__(CounterState state, Vec self, double x=0.0, double y=0.0):
        self.x = x
        self.y = y
        state.points_made += 1

    @hpystate.method
    def norm2(CounterState state, Vec self):
        return self.x * self.x + self.y * self.y

    @hpystate.slot
    def __add__(CounterState state, Vec self, other):
        if not isinstance(other, Vec):
            return NotImplemented
        return Point.of(state)(self.x + (<Vec>other).x, self.y + (<Vec>other).y)

    @hpystate.slot
    def __eq__(CounterState state, Vec self, other):
        if not isinstance(other, Vec):
            return NotImplemented
        return self.x == (<Vec>other).x and self.y == (<Vec>other).y

    @hpystate.slot
    def __repr__(CounterState state, Vec self):
        return f"Point({self.x!r}, {self.y!r})"

    @hpystate.getter
    def made(CounterState state, Vec self):
        """How many points this module instance has made."""
        return state.points_made


# -- C-level members (cimport API) -----------------------------------------------------------

cdef object c_total(CounterState state):
    """METH_NOARGS module function: the counter plus the points made."""
    return state.count + state.points_made


cdef object c_scaled(CounterState state, object self, object factor):
    """METH_O method: a new Point of this module instance, scaled."""
    cdef Vec v = self           # a checked conversion: self is a Point, so a Vec
    cdef double f = factor
    return type_of(Point, state)(v.x * f, v.y * f)


cdef object c_negative(CounterState state, object self):
    """nb_negative slot."""
    cdef Vec v = self
    return type_of(Point, state)(-v.x, -v.y)


add_function_noargs(counter_def, "total", c_total,
                    "The counter plus the number of points made.")
add_method_o(Point, "scaled", c_scaled, "scaled($self, factor, /)\n--\n\nA scaled copy.")
set_nb_negative(Point, c_negative)
