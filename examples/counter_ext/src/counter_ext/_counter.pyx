# cython: language_level=3
"""The definition of ``counter_ext.counter``, compiled by Cython.

- ``CounterState`` is a cdef class: its fields are C fields, typed at C speed.
- Implementations are Cython ``def`` functions taking the typed state first.
- ``Point`` builds on ``Vec``, a cdef class that provides C fields (x, y).
- Some members are C-level implementations registered with the cimport API
  (``add_function``/``add_method``/``add_slot``): called through per-binding trampolines,
  they receive the state with no lookup.
"""
import hpystate
from hpystate.state cimport (
    ModuleState, TypeDef, add_function, add_method, add_slot, METH_NOARGS, METH_O,
)


cdef class CounterState(ModuleState):
    cdef public long count
    cdef public long points_made

    def __init__(self):
        self.count = 0
        self.points_made = 0


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


cdef object c_scaled(CounterState state, Vec self, object factor):
    """METH_O method: a new Point of this module instance, scaled."""
    cdef double f = factor
    return Point.of(state)(self.x * f, self.y * f)


cdef object c_negative(CounterState state, Vec self):
    """nb_negative slot."""
    return Point.of(state)(-self.x, -self.y)


add_function(counter_def, "total", <void *>c_total, METH_NOARGS,
             "The counter plus the number of points made.")
add_method(<TypeDef>Point, "scaled", <void *>c_scaled, METH_O, "A scaled copy.")
add_slot(<TypeDef>Point, "nb_negative", <void *>c_negative)
