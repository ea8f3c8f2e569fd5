"""hpystate: extension modules with per-module-instance state (PEP 489/573/630).

    import hpystate

    class Counter(hpystate.ModuleState):
        def __init__(self):
            self.count = 0

    mod = hpystate.ModuleDef("demo.counter", state=Counter)

    @mod.function
    def incr(state, n=1):
        state.count += n
        return state.count

    m1, m2 = mod.create(), mod.create()     # two instances, two states

Every function, method, getter/setter and slot receives the state of the module instance
that created it (its true defining class's module) as its first argument.

Cython code registers C-level implementations through ``hpystate/state.pxd``
(``from hpystate.state cimport ...``; see docs/cimport.md). See README.md and docs/.
"""

from hpystate._core import (
    CFunction,
    CMethod,
    ExceptionDef,
    FunctionDef,
    Loader,
    ModuleDef,
    ModuleState,
    StateFunction,
    StateMethod,
    StateProperty,
    TypeDef,
    classmethod_ as classmethod,
    getter,
    method,
    register,
    slot,
    state_of,
    staticmethod_ as staticmethod,
    type_of,
    unregister,
)

__version__ = "0.1.0"


def get_include():
    """The directory holding ``hpystate.h`` (the header of real extension entries, see
    ``hpystate.build``) and hpystate's ``.pxd`` files."""
    import os
    return os.path.dirname(os.path.abspath(__file__))


def cython_include():
    """The directory to put on Cython's include path (``cythonize(..., include_path=[...])``,
    ``cython -I``) so that ``include "hpystate/checked.pxi"`` (the checked cimport API) is
    found. ``hpystate.build.cythonize`` adds it."""
    import os
    return os.path.dirname(get_include())


__all__ = [
    "CFunction",
    "CMethod",
    "ExceptionDef",
    "FunctionDef",
    "Loader",
    "ModuleDef",
    "ModuleState",
    "StateFunction",
    "StateMethod",
    "StateProperty",
    "TypeDef",
    "cython_include",
    "get_include",
    "classmethod",
    "getter",
    "method",
    "register",
    "slot",
    "state_of",
    "staticmethod",
    "type_of",
    "unregister",
]
