# Included by _core.pyx (textually: one module, one namespace).
# 6. The import path: Loader, the register() finder, real extension entries.

@cython.final
cdef class Loader:
    """Loader(moddef)
--

    An importlib loader creating a fresh module instance of a ``ModuleDef`` per import,
    with PEP 489 multi-phase semantics: ``create_module`` makes the module from the
    definition, ``exec_module`` runs its initialisation once (``importlib.reload`` keeps the
    instance, as for multi-phase C extensions)."""
    cdef readonly ModuleDef moddef

    def __init__(self, moddef):
        """__init__($self, moddef)
--

A loader of ``moddef`` (a ModuleDef)."""
        if not isinstance(moddef, ModuleDef):
            raise TypeError(f"Loader needs a ModuleDef, not {_safe_repr(moddef)}")
        self.moddef = moddef

    def create_module(self, spec):
        _check_self(self, Loader, "create_module")
        if self.moddef is None:
            raise TypeError("this Loader was never initialised with a ModuleDef")
        if not isinstance(getattr(spec, "name", None), str):
            raise TypeError(f"create_module needs a module spec, not {_safe_repr(spec)}")
        return _moddef_create_module(self.moddef, spec)

    def exec_module(self, module):
        _check_self(self, Loader, "exec_module")
        # Only a module this definition created: another module's state block (or a
        # foreign module's definition) would be read as this definition's.
        if self.moddef is None or not PyModule_Check(module) or \
                hps_module_def(<PyObject *>module) != &self.moddef._c.moddef:
            raise TypeError(f"{_safe_repr(module)} was not created by this loader's "
                            f"create_module (ModuleDef {self.moddef.name!r})"
                            if self.moddef is not None else "this Loader was never "
                            "initialised with a ModuleDef")
        _moddef_exec_module(self.moddef, module)

    def __repr__(self):
        return f"<hpystate.Loader for {self.moddef!r}>"


class _Finder:
    """Meta path finder for module names registered with ``hpystate.register``."""

    def __init__(self):
        self.registry = {}

    def find_spec(self, fullname, path=None, target=None):
        entry = self.registry.get(fullname)
        if entry is None:
            return None
        moddef = _resolve_definition(fullname, entry)
        return _machinery.ModuleSpec(fullname, Loader(moddef), origin="hpystate")

    def invalidate_caches(self):
        pass

    def __repr__(self):
        return f"<hpystate finder for {sorted(self.registry)}>"


def _resolve_definition(fullname, entry):
    if isinstance(entry, ModuleDef):
        return entry
    modname, _, attr = entry.partition(":")
    obj = _importlib.import_module(modname)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, ModuleDef):
        raise ImportError(f"hpystate: {_safe_repr(entry)} registered for {fullname!r} is not a "
                          f"ModuleDef but {_safe_repr(obj)}", name=fullname)
    return obj


# register()/unregister() read and change sys.meta_path and the registry: one at a time.
_registry_lock = _threading.Lock()


def _finder():
    """hpystate's finder on sys.meta_path, installed on first use (under _registry_lock)."""
    for f in _sys.meta_path:
        if isinstance(f, _Finder):
            return f
    f = _Finder()
    # In front: a registered name wins over a same-named module or package on sys.path
    # (the path finder comes before any finder appended).
    _sys.meta_path.insert(0, f)
    return f


def register(fullname, definition):
    """Make ``import <fullname>`` create a fresh instance of ``definition`` — a ``ModuleDef``
    or a ``"package.module:attribute"`` string resolved at first import — through the import
    system (``del sys.modules[name]`` + import gives a new instance; ``importlib.reload``
    keeps it). Typically called in the package's ``__init__.py``."""
    if not isinstance(fullname, str) or not all(p.isidentifier() for p in fullname.split(".")):
        raise ValueError(f"module name must be a dotted Python identifier, not {_safe_repr(fullname)}")
    if isinstance(definition, str):
        modname, sep, attr = definition.partition(":")
        if not sep or not modname or not attr:
            raise ValueError(f"definition string must look like 'package.module:attribute', "
                             f"not {_safe_repr(definition)}")
    elif not isinstance(definition, ModuleDef):
        raise TypeError(f"definition must be a ModuleDef or a 'module:attribute' string, not "
                        f"{_safe_repr(definition)}")
    with _registry_lock:
        finder = _finder()
        known = finder.registry.get(fullname)
        if known is not None and known is not definition and known != definition:
            raise ValueError(f"module name {fullname!r} is already registered to {_safe_repr(known)}")
        finder.registry[fullname] = definition


def unregister(fullname):
    """Forget a name registered with ``register`` (existing instances are unaffected)."""
    with _registry_lock:
        if _finder().registry.pop(fullname, None) is None:
            raise KeyError(fullname)


# -- real extension entries (hpystate.build) --------------------------------------------------
#
# A downstream package's extension module ``pkg.mod`` is a generated C stub holding a static
# HpyState_ExtensionDef (hpystate.h) whose ``PyInit_mod`` calls ``HpyState_ModuleInit``:
# through the capsule below, hpystate completes that process-wide definition with its own
# callbacks, and CPython's extension loader does the multi-phase import (re-import, reload,
# subinterpreters all native). PyInit may run in another interpreter than the importing one
# (3.13 runs it in the main interpreter), so nothing per-interpreter happens here: the exec
# slot (``_m_exec``) resolves the target in the importing interpreter.

cdef int _extension_complete(HpyState_ExtensionDef *x) except -1:
    if x.moddef_obj != NULL or x.target == NULL or not 0 <= x.multiple_interpreters <= 2:
        raise SystemError("hpystate: malformed extension definition")
    hps_lock()                          # several interpreters may import it at once
    if x.moddef.m_slots == NULL:
        x.moddef.m_size = sizeof(_Block)
        x.moddef.m_traverse = <void *>_m_traverse
        x.moddef.m_clear = <void *>_m_clear
        x.moddef.m_free = <void *>_m_free
        _fill_module_slots(x.slots, sizeof(x.slots) // sizeof(PyModuleDef_Slot),
                           <void *>hps_extension_exec, <size_t>x.multiple_interpreters,
                           x.gil_used != 0)
        x.moddef.m_slots = x.slots
        hps_prepare_export(x)
        hps_ext_def_add(x)
    hps_unlock()
    return 0


cdef PyObject *_extension_init(HpyState_ExtensionDef *x) except NULL:
    _extension_complete(x)
    return PyModuleDef_Init(&x.moddef)


cdef void *_extension_export(HpyState_ExtensionDef *x) except NULL:
    # PEP 793 (3.15): the same definition as slots; its token is the entry itself.
    _extension_complete(x)
    return hps_export_slots(x)


cdef ModuleDef _extension_moddef(object module, HpyState_ExtensionDef *x):
    """The ModuleDef behind extension module ``module``, in the current interpreter."""
    cdef str name = x.moddef.m_name.decode("utf-8")
    cdef str target = x.target.decode("utf-8")
    cdef ModuleDef d = _resolve_definition(name, target)
    if d.name != name:
        raise ImportError(f"hpystate: extension {name!r} is built for {target!r}, a "
                          f"definition named {d.name!r}; the names must match", name=name)
    built = _MULTIPLE_INTERPRETERS_NAMES.get(x.multiple_interpreters)
    if d.multiple_interpreters != built or d.gil_used != (x.gil_used != 0):
        raise ImportError(
            f"hpystate: extension {name!r} was built with multiple_interpreters={built!r}, "
            f"gil_used={x.gil_used != 0} but its definition {target!r} declares "
            f"multiple_interpreters={d.multiple_interpreters!r}, gil_used={d.gil_used}: pass "
            "the same values to hpystate.build.extension", name=name)
    _moddef_check_interpreter(d, name)
    with cython.critical_section(d):
        d._frozen = True
    if d.doc is not None:
        module.__doc__ = d.doc
    return d


hps_set_cython_exec(<void *>_m_exec)
hps_c_api.version = HPYSTATE_CAPI_VERSION
hps_c_api.extension_init = _extension_init
hps_c_api.extension_export = _extension_export
_C_API = PyCapsule_New(&hps_c_api, b"hpystate._core._C_API", NULL)
