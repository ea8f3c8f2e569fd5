from hpystate._core import (
    CFunction as CFunction,
    CMethod as CMethod,
    ExceptionDef as ExceptionDef,
    FunctionDef as FunctionDef,
    Loader as Loader,
    ModuleDef as ModuleDef,
    ModuleState as ModuleState,
    StateFunction as StateFunction,
    StateMethod as StateMethod,
    StateProperty as StateProperty,
    TypeDef as TypeDef,
    classmethod_ as classmethod,
    getter as getter,
    method as method,
    register as register,
    slot as slot,
    state_of as state_of,
    staticmethod_ as staticmethod,
    type_of as type_of,
    unregister as unregister,
)

__version__: str
__all__ = [
    "CFunction", "CMethod", "ExceptionDef", "FunctionDef", "Loader", "ModuleDef", "ModuleState",
    "StateFunction", "StateMethod", "StateProperty", "TypeDef", "cython_include", "get_include",
    "classmethod", "getter", "method", "register", "slot", "state_of", "staticmethod",
    "type_of", "unregister",
]

def get_include() -> str: ...
def cython_include() -> str: ...
