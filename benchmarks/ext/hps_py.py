"""hpystate's decorator API with Python implementations, delivered by hpystate's vectorcall
bindings. Same interface as ref_ext.c (see there)."""
import hpystate


class BenchState(hpystate.ModuleState):
    def __init__(self):
        self.value = None
        self.n = 7


defn = hpystate.ModuleDef("hps_py", state=BenchState)


@defn.function
def get(state):
    return state.value


@defn.function
def set(state, v):
    state.value = v


@defn.function
def own_type(state):
    return state.box_type           # the hottest-path pattern: a field of the state


@defn.function
def type_of(state):
    return Box.of(state)


@defn.exec
def _keep_box(state, module):
    state.box_type = Box.of(state)


@defn.type
class Box:
    __slots__ = ()

    @hpystate.method
    def get(state, self):
        return state.value

    @hpystate.method
    def take(state, self, x):
        return state.value

    @hpystate.method
    def take2(state, self, x, y):
        return state.value

    @hpystate.slot
    def __add__(state, self, other):
        return state.value

    @hpystate.slot
    def __radd__(state, self, other):
        return state.value

    @hpystate.slot
    def __eq__(state, self, other):
        return state.value

    @hpystate.slot
    def __len__(state, self):
        return state.n

    @hpystate.slot
    def __hash__(state, self):
        return state.n

    @hpystate.slot
    def __next__(state, self):
        return state.value

    @hpystate.getter
    def value(state, self):
        return state.value


@defn.type
class Map:
    __slots__ = ()

    @hpystate.slot("mp_length")
    def __len__(state, self):
        return state.n
