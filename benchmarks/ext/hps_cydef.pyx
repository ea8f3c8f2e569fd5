# cython: language_level=3
"""hpystate's decorator API with Cython ``def`` implementations (compiled, typed state),
delivered by hpystate's vectorcall bindings. Same interface as ref_ext.c (see there)."""
import hpystate
from hpystate.state cimport ModuleState


cdef class BenchState(ModuleState):
    cdef object value
    cdef Py_ssize_t n
    cdef object box_type            # this instance's Box (the exec hook below sets it)

    def __init__(self):
        self.value = None
        self.n = 7


defn = hpystate.ModuleDef("hps_cydef", state=BenchState)


@defn.function
def get(BenchState state):
    return state.value


@defn.function
def set(BenchState state, v):
    state.value = v


@defn.function
def own_type(BenchState state):
    return state.box_type           # the hottest-path pattern: a field of the state


@defn.function
def type_of(BenchState state):
    return Box.of(state)


@defn.exec
def _keep_box(BenchState state, module):
    state.box_type = Box.of(state)


@defn.type
class Box:
    __slots__ = ()

    @hpystate.method
    def get(BenchState state, self):
        return state.value

    @hpystate.method
    def take(BenchState state, self, x):
        return state.value

    @hpystate.method
    def take2(BenchState state, self, x, y):
        return state.value

    @hpystate.slot
    def __add__(BenchState state, self, other):
        return state.value

    @hpystate.slot
    def __radd__(BenchState state, self, other):
        return state.value

    @hpystate.slot
    def __eq__(BenchState state, self, other):
        return state.value

    @hpystate.slot
    def __len__(BenchState state, self):
        return state.n

    @hpystate.slot
    def __hash__(BenchState state, self):
        return state.n

    @hpystate.slot
    def __next__(BenchState state, self):
        return state.value

    @hpystate.getter
    def value(BenchState state, self):
        return state.value


@defn.type
class Map:
    __slots__ = ()

    @hpystate.slot("mp_length")
    def __len__(BenchState state, self):
        return state.n
