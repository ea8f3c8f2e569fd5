# Included by _core.pyx (textually: one module, one namespace).
# 1. ModuleState, the base class of every state object.

@cython.auto_pickle(False)
cdef class ModuleState:
    """ModuleState()
--

    Base class of module state classes.

    hpystate creates one instance per module instance (``ModuleDef.create()`` or an import),
    before any type, function or exec hook of that instance exists, and calls ``__init__()``
    without arguments. ``self.module`` is the module instance (a strong reference: the state
    keeps its module alive, the module keeps its state alive; the cycle is collected by GC).
    """

    def __init__(self):
        """__init__($self, /)
--

hpystate calls it without arguments, once per module instance."""

    @property
    def module(self):
        """The module instance this state belongs to."""
        if self._module is None:
            raise RuntimeError(
                f"{type(self).__qualname__} state is not attached to a module: hpystate "
                "creates state objects itself, one per module instance")
        return self._module

    def __repr__(self):
        if self._module is None:
            return f"<{type(self).__qualname__} (detached)>"
        return f"<{type(self).__qualname__} of module {self._module.__name__!r}>"

    def __reduce__(self):
        _check_self(self, ModuleState, "__reduce__")
        raise TypeError(f"cannot pickle {type(self).__qualname__!r}: module state belongs to "
                        "one module instance")


hps_state_install(<PyTypeObject_ *>ModuleState)
