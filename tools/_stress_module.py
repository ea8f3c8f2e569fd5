"""The module definition tools/stress.py exercises (also imported by its subinterpreters,
so it imports nothing but hpystate)."""
import hpystate

NAME = "hps_stress_mod"


def definition(name=NAME):
    """A module with every kind of member, each able to say which state it saw."""

    class State(hpystate.ModuleState):
        __slots__ = ("calls", "payload")

        def __init__(self):
            self.calls = 0
            self.payload = [object() for _ in range(8)]     # something to leak, if we did

    # Safe without the GIL (the state's counter may lose increments, which nothing checks):
    # on a free-threaded build the stress checks run with the GIL off.
    mod = hpystate.ModuleDef(name, state=State, gil_used=False)

    @mod.function
    def whoami(state):
        state.calls += 1
        return state

    Error = mod.exception("Error", base=ValueError)

    @mod.type
    class Box:
        __slots__ = ("value",)

        @hpystate.slot
        def __init__(state, self, value=0):
            self.value = value

        @hpystate.method
        def owner(state, self):
            return state

        @hpystate.slot
        def __add__(state, self, other):
            return Box.of(state)(self.value + other)

        @hpystate.slot
        def __len__(state, self):
            return 1

        @hpystate.getter
        def seen(state, self):
            return state

        @hpystate.method
        def fail(state, self):
            raise Error.of(state)("failed")

    return mod
