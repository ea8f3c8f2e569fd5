# cython: language_level=3
"""hpystate's runtime: module definitions, per-instance module state, and the callables that
deliver that state to user code.

Layout of this file:

1. ``ModuleState``: the base class of every state object.
2. State-carrying callables, dispatched in C through vectorcall:
   ``StateFunction`` (module functions, ``__new__``), ``StateMethod`` (methods and slot
   dunders: a method descriptor), ``StateProperty`` (getters/setters).
3. Definition objects: ``ModuleDef`` and the handles it returns (``TypeDef``, ``ExceptionDef``,
   ``FunctionDef``) plus the class-body markers (``method``, ``slot``, ``getter``, ...).
4. Module instantiation: the ``PyModuleDef`` each ``ModuleDef`` owns, its exec/traverse/clear/
   free callbacks, per-instance type creation with ``PyType_FromModuleAndSpec``.
5. The import path: ``Loader``, ``register`` and the meta path finder.
6. The cimport API: C-level implementations reached through generated per-binding
   trampolines (``_trampolines.h``), with a correct slower fallback when a table is full.

Every binding object holds the state of the module instance it was created for, so code always
receives the state of its *true defining class's* module instance: the binding is found by
CPython's ordinary attribute/MRO lookup, never by searching for a module definition.
See docs/design.md.
"""

cimport cython
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.string cimport memcpy, memset

from hpystate._capi cimport *
from hpystate._slot_table cimport *

import builtins as _builtins
import difflib as _difflib
import importlib as _importlib
import importlib.machinery as _machinery
import importlib.util as _import_util
import inspect as _inspect
import sys as _sys
import threading as _threading
import types as _types
import warnings as _warnings


# ---------------------------------------------------------------------------------------------
# 1. Module state
# ---------------------------------------------------------------------------------------------

@cython.auto_pickle(False)
cdef class ModuleState:
    """Base class of module state classes.

    hpystate creates one instance per module instance (``ModuleDef.create()`` or an import),
    before any type, function or exec hook of that instance exists, and calls ``__init__()``
    without arguments. ``self.module`` is the module instance (a strong reference: the state
    keeps its module alive, the module keeps its state alive; the cycle is collected by GC).
    """

    def __init__(self):
        pass

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
        raise TypeError(f"cannot pickle {type(self).__qualname__!r}: module state belongs to "
                        "one module instance")


hps_state_install(<PyTypeObject_ *>ModuleState)


# ---------------------------------------------------------------------------------------------
# 2. State-carrying callables
# ---------------------------------------------------------------------------------------------

cdef enum:
    _SMALL_ARGS = 8

cdef PyObject *_call_with_state(PyObject *impl, PyObject *state, PyObject **args,
                                size_t nargsf, PyObject *kwnames) noexcept:
    """Call ``impl(state, *args, **kwnames)`` without building a tuple.

    When the caller allows it (PY_VECTORCALL_ARGUMENTS_OFFSET), ``state`` is written into the
    slot before ``args`` and restored afterwards (what bound methods do); otherwise the
    arguments are copied into a stack buffer (heap for many arguments)."""
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    cdef Py_ssize_t total = nargs
    cdef PyObject *saved
    cdef PyObject *res
    cdef PyObject *small[_SMALL_ARGS + 2]
    cdef PyObject **buf
    if kwnames != NULL:
        total += PyTuple_GET_SIZE(kwnames)
    if nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET:
        saved = args[-1]
        args[-1] = state
        res = PyObject_Vectorcall(impl, args - 1, <size_t>(nargs + 1), kwnames)
        args[-1] = saved
        return res
    if total <= _SMALL_ARGS:
        buf = small
    else:
        buf = <PyObject **>PyMem_Malloc((total + 2) * sizeof(PyObject *))
        if buf == NULL:
            return PyErr_NoMemory()
    buf[1] = state
    if total:
        memcpy(&buf[2], args, total * sizeof(PyObject *))
    # buf[0] is ours: let the callee use it (PY_VECTORCALL_ARGUMENTS_OFFSET).
    res = PyObject_Vectorcall(impl, &buf[1], <size_t>(nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET,
                              kwnames)
    if buf != small:
        PyMem_Free(buf)
    return res


cdef class _Binding:
    """What every binding carries: the state of the module instance it was created for and
    the names it reports."""
    cdef object _state
    cdef str _name
    cdef str _qualname
    cdef str _modname

    @property
    def __name__(self):
        return self._name

    @property
    def __qualname__(self):
        return self._qualname

    @property
    def __hpystate_state__(self):
        """The state object this binding delivers."""
        return self._state

    def __reduce__(self):
        # Pickled by reference, like functions and classes: module + qualified name.
        return self._qualname


cdef inline _init_binding(_Binding b, state, str name, str qualname, str modname):
    b._state = state
    b._name = name
    b._qualname = qualname
    b._modname = modname
    hps_enable_deferred_refcount(<PyObject *>b)     # 3.14t: lets CPython specialise calls


cdef class _VectorcallBinding(_Binding):
    """A binding called through vectorcall: the function pointer sits at one offset for
    every subclass (set by each subclass's ``__cinit__``)."""
    cdef void *_vectorcall          # read by CPython through tp_vectorcall_offset


cdef class _StateCallable(_VectorcallBinding):
    """Common layout of StateFunction and StateMethod: a vectorcall object that prepends a
    module instance's state to the arguments and calls the user's implementation."""
    cdef object _impl
    cdef object _signature

    def __cinit__(self):
        self._vectorcall = <void *>_state_callable_vectorcall

    @property
    def __signature__(self):
        """The implementation's signature without its leading ``state`` parameter."""
        with cython.critical_section(self):
            sig = self._signature
        if sig is None:
            sig = _signature_without_state(self._impl)
            with cython.critical_section(self):     # the first one computed is kept
                if self._signature is None:
                    self._signature = sig
                sig = self._signature
        return sig if sig is not False else None

    @property
    def __hpystate_impl__(self):
        """The implementation function (takes ``state`` first)."""
        return self._impl

cdef inline object _call_state(object f, object state, object obj, PyObject *value):
    """``f(state, obj)`` or ``f(state, obj, value)``, by vectorcall (no tuple; and none of
    Cython's generic call helpers, which consult the per-interpreter module state)."""
    cdef PyObject *args[4]
    args[0] = NULL
    args[1] = <PyObject *>state
    args[2] = <PyObject *>obj
    args[3] = value
    return PyObject_Vectorcall_obj(f, &args[1], (2 if value == NULL else 3)
                                   | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)


cdef PyObject *_state_callable_vectorcall(PyObject *callable, PyObject **args, size_t nargsf,
                                          PyObject *kwnames) noexcept:
    cdef _StateCallable self = <_StateCallable>callable
    return _call_with_state(<PyObject *>self._impl, <PyObject *>self._state, args, nargsf,
                            kwnames)


# The implementation's docstring is each instance's __doc__, so these classes document
# themselves in comments (a class docstring would shadow the property).

@cython.final
cdef class StateFunction(_StateCallable):
    # A module-level function bound to one module instance's state. Calling it calls
    # ``impl(state, *args, **kwargs)`` through vectorcall.

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._modname

    @property
    def __doc__(self):
        return getattr(self._impl, "__doc__", None)

    def __repr__(self):
        return f"<hpystate function {self._modname}.{self._qualname}>"


@cython.final
cdef class StateMethod(_StateCallable):
    # A method (or slot dunder) of an hpystate type, bound to the state of the module
    # instance that created the type. A method descriptor (Py_TPFLAGS_METHOD_DESCRIPTOR):
    # ``obj.name(*a)`` calls ``impl(state, obj, *a)`` without creating a bound method.

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._modname

    @property
    def __doc__(self):
        return getattr(self._impl, "__doc__", None)

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return PyMethod_New(self, instance)

    def __repr__(self):
        return f"<hpystate method {self._qualname} of module {self._modname!r}>"


cdef _StateCallable _make_callable(type kind, impl, state, str name, str qualname,
                                   str modname):
    cdef _StateCallable obj = kind.__new__(kind)
    obj._impl = impl
    _init_binding(obj, state, name, qualname, modname)
    return obj


cdef Py_ssize_t _vectorcall_offset() except -1:
    cdef _VectorcallBinding probe = StateFunction.__new__(StateFunction)
    return <Py_ssize_t>(<char *>&probe._vectorcall - <char *><PyObject *>probe)


cdef void _enable_vectorcall(type t, Py_ssize_t offset, unsigned long extra_flags) noexcept:
    cdef PyTypeObject_ *tp = <PyTypeObject_ *>t
    tp.tp_vectorcall_offset = offset
    tp.tp_call = <void *>PyVectorcall_Call
    tp.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL | extra_flags
    PyType_Modified(<PyTypeObject_ *>t)


_enable_vectorcall(StateFunction, _vectorcall_offset(), 0)
_enable_vectorcall(StateMethod, _vectorcall_offset(), Py_TPFLAGS_METHOD_DESCRIPTOR)


@cython.final
@cython.auto_pickle(False)
cdef class StateProperty(_Binding):
    # A data descriptor whose getter/setter/deleter receive the state of the module instance
    # that created the type: ``obj.name`` calls ``fget(state, obj)``.
    cdef object _fget
    cdef object _fset
    cdef object _fdel

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._modname

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return _call_state(self._fget, self._state, instance, NULL)

    def __set__(self, instance, value):
        if self._fset is None:
            raise AttributeError(f"property {self._name!r} of {type(instance).__name__!r} "
                                 "object has no setter")
        _call_state(self._fset, self._state, instance, <PyObject *>value)

    def __delete__(self, instance):
        if self._fdel is None:
            raise AttributeError(f"property {self._name!r} of {type(instance).__name__!r} "
                                 "object has no deleter")
        _call_state(self._fdel, self._state, instance, NULL)

    @property
    def __doc__(self):
        return getattr(self._fget, "__doc__", None)

    @property
    def fget(self):
        return self._fget

    @property
    def fset(self):
        return self._fset

    @property
    def fdel(self):
        return self._fdel

    def __repr__(self):
        return f"<hpystate property {self._qualname} of module {self._modname!r}>"


def _signature_without_state(impl):
    try:
        sig = _inspect.signature(impl)
    except (TypeError, ValueError):
        return False
    params = list(sig.parameters.values())
    if not params or params[0].kind not in (_inspect.Parameter.POSITIONAL_ONLY,
                                            _inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return False
    return sig.replace(parameters=params[1:])


# ---------------------------------------------------------------------------------------------
# 3. Definitions
# ---------------------------------------------------------------------------------------------

def _describe(obj):
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)


def _check_callable(impl, what):
    if not callable(impl):
        raise TypeError(f"{what} must be callable, not {type(impl).__name__} ({impl!r})")


def _check_params(impl, params, what, exact=True):
    """Check at definition time that ``impl`` accepts ``params`` positional arguments
    (``exact``) or at least accepts them as its leading positional parameters."""
    try:
        sig = _inspect.signature(impl)
    except (TypeError, ValueError):
        return                      # not introspectable (some builtins): cannot check
    dummy = tuple(range(len(params)))
    try:
        if exact:
            sig.bind(*dummy)
        else:
            sig.bind_partial(*dummy)
    except TypeError:
        wanted = ", ".join(params) + ("" if exact else ", ...")
        raise TypeError(f"{what} {_describe(impl)}{sig} has the wrong parameters: it must "
                        f"accept ({wanted})") from None


def _check_no_class_cell(impl, what):
    code = getattr(impl, "__code__", None)
    if code is not None and "__class__" in getattr(code, "co_freevars", ()):
        raise TypeError(
            f"{what} {_describe(impl)} uses zero-argument super() or __class__, which would "
            "see the class statement's class, not the type hpystate creates per module "
            "instance (and super() would bind to 'state', the first parameter). Use "
            "super(Type.of(state), self) with the type's handle instead")


def _check_identifier(name, what):
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{what} must be a valid Python identifier, not {name!r}")


# The Python-level names of type slots (_DUNDERS, _VARIADIC_DUNDERS, _SLOT_NAMES,
# _AMBIGUOUS_SLOTS) and the cimport API's _C_SLOTS come from tools/slot_table.py, through
# the generated _slot_table.pxi (included in section 6, after the fallback modes).


def _resolve_slot_name(name):
    """Map a dunder or C slot name to the dunder hpystate installs; ValueError if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"slot name must be a str, not {type(name).__name__}")
    if name in _DUNDERS:
        return name
    if name in _SLOT_NAMES:
        return _SLOT_NAMES[name]
    if name in _AMBIGUOUS_SLOTS:
        raise ValueError(f"slot {name!r} stands for several Python methods; decorate each "
                         f"of {_AMBIGUOUS_SLOTS[name]} with @hpystate.slot instead")
    close = _difflib.get_close_matches(name, list(_DUNDERS) + list(_SLOT_NAMES), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"unknown slot {name!r}{hint}")


class _Member:
    """A class-body marker made by one of hpystate's decorators; consumed by ``@mod.type``."""
    kind = "member"
    _owner = None
    _claimed = False

    def __set_name__(self, owner, name):
        self._owner = owner

    def __get__(self, instance, owner):
        raise TypeError(self._unclaimed_message())

    def __call__(self, *args, **kwargs):
        raise TypeError(self._unclaimed_message())

    def _unclaimed_message(self):
        where = f"class {self._owner.__qualname__}" if self._owner is not None else "its class"
        return (f"@hpystate.{self.kind} {_describe(self.impl)} is not registered: decorate "
                f"{where} with @<ModuleDef>.type")


def _check_in_class_body(kind, impl):
    """Definition-time check that a member decorator is used inside a class body.

    Only the clear misuse is rejected: a decorator run directly by the module-level or
    function code (written in Python) that defines the implementation. Class bodies compiled
    by Cython run without Python frames; their markers are checked when ``@mod.type``
    consumes them, and an unconsumed marker fails when used."""
    _check_callable(impl, f"@hpystate.{kind} implementation")
    f = _sys._getframe(0)
    while f is not None and f.f_globals.get("__name__", "").startswith("hpystate"):
        f = f.f_back
    if f is None:
        return
    code = f.f_code
    # Only judge the frame that created ``impl`` (its code is one of the frame's constants):
    # a Cython-compiled class body runs without a frame of its own, and its functions'
    # code objects belong to no Python frame.
    if getattr(impl, "__code__", None) not in code.co_consts:
        return
    in_class_body = ("__qualname__" in f.f_locals and "__module__" in f.f_locals
                     and f.f_locals is not f.f_globals and not (code.co_flags & 0x1))
    if not in_class_body:
        raise TypeError(f"@hpystate.{kind} used outside a class body (on "
                        f"{_describe(impl)}); it marks members of a class decorated with "
                        "@<ModuleDef>.type")


class _MethodMember(_Member):
    kind = "method"

    def __init__(self, impl, params=("state", "self"), what="method"):
        _check_callable(impl, f"@hpystate.{self.kind} implementation")
        _check_params(impl, params, f"{what}", exact=False)
        _check_no_class_cell(impl, what)
        self.impl = impl


class _ClassMethodMember(_MethodMember):
    kind = "classmethod"

    def __init__(self, impl):
        _MethodMember.__init__(self, impl, ("state", "cls"), "classmethod")


class _StaticMethodMember(_MethodMember):
    kind = "staticmethod"

    def __init__(self, impl):
        _MethodMember.__init__(self, impl, ("state",), "staticmethod")


class _SlotMember(_Member):
    kind = "slot"

    def __init__(self, impl, dunder):
        _check_callable(impl, "@hpystate.slot implementation")
        params = ("state",) + _DUNDERS[dunder]
        exact = dunder not in _VARIADIC_DUNDERS
        _check_params(impl, params, f"slot {dunder}", exact=exact)
        _check_no_class_cell(impl, f"slot {dunder}")
        self.impl = impl
        self.dunder = dunder


class _PropertyMember(_Member):
    kind = "getter"

    def __init__(self, fget, fset=None, fdel=None):
        _check_callable(fget, "@hpystate.getter implementation")
        _check_params(fget, ("state", "self"), "getter")
        _check_no_class_cell(fget, "getter")
        self.impl = fget
        self.fset = fset
        self.fdel = fdel

    def setter(self, fset):
        """Decorator: add a setter ``fset(state, self, value)``."""
        _check_callable(fset, "setter implementation")
        _check_params(fset, ("state", "self", "value"), "setter")
        _check_no_class_cell(fset, "setter")
        return _PropertyMember(self.impl, fset, self.fdel)

    def deleter(self, fdel):
        """Decorator: add a deleter ``fdel(state, self)``."""
        _check_callable(fdel, "deleter implementation")
        _check_params(fdel, ("state", "self"), "deleter")
        _check_no_class_cell(fdel, "deleter")
        return _PropertyMember(self.impl, self.fset, fdel)


def method(impl):
    """Mark ``impl(state, self, ...)`` as a method of an hpystate type."""
    _check_in_class_body("method", impl)
    return _MethodMember(impl)


# Exported as hpystate.classmethod / hpystate.staticmethod. Not bound to those names here:
# Cython looks ``classmethod`` up in module globals for implicit class methods such as
# ``__class_getitem__``.
def classmethod_(impl):
    """Mark ``impl(state, cls, ...)`` as a class method of an hpystate type."""
    _check_in_class_body("classmethod", impl)
    return _ClassMethodMember(impl)


def staticmethod_(impl):
    """Mark ``impl(state, ...)`` as a static method of an hpystate type."""
    _check_in_class_body("staticmethod", impl)
    return _StaticMethodMember(impl)


classmethod_.__name__ = classmethod_.__qualname__ = "classmethod"
staticmethod_.__name__ = staticmethod_.__qualname__ = "staticmethod"


def getter(impl):
    """Mark ``impl(state, self)`` as a property getter; add ``@name.setter`` and
    ``@name.deleter`` as with ``property``."""
    _check_in_class_body("getter", impl)
    return _PropertyMember(impl)


def slot(name_or_impl=None):
    """Mark a slot implementation: ``@slot`` on a dunder (``def __add__(state, self, other)``)
    or ``@slot("nb_subtract")`` with a C slot name or dunder name."""
    if callable(name_or_impl) and not isinstance(name_or_impl, str):
        impl = name_or_impl
        _check_in_class_body("slot", impl)
        return _SlotMember(impl, _resolve_slot_name(getattr(impl, "__name__", None)))
    dunder = _resolve_slot_name(name_or_impl)

    def decorate(impl):
        _check_in_class_body("slot", impl)
        return _SlotMember(impl, dunder)
    return decorate


# Names a class statement puts in the namespace by itself.
_CLASS_MACHINERY = frozenset({
    "__module__", "__qualname__", "__doc__", "__slots__", "__dict__", "__weakref__",
    "__orig_bases__", "__firstlineno__", "__static_attributes__", "__annotations__",
    "__annotate__", "__classdictcell__", "__pyx_vtable__",
})


cdef class _Handle:
    """A definition-time handle for a type or exception of a ModuleDef; ``of(x)`` gives the
    object a given module instance created for it."""

    def of(self, owner):
        """The per-instance object for ``owner``: a module instance made from this
        definition, or its state object."""
        module = (<ModuleState>owner)._module if isinstance(owner, ModuleState) else owner
        cdef _Block *b = _block_of(module, self.moddef)
        if b == NULL or b.objects == NULL:
            raise TypeError(f"{owner!r} is not a module instance of {self.moddef.name!r} or "
                            "its state")
        return (<list>b.objects)[self._index]

    def __mro_entries__(self, bases):
        # ``class Sub(Box)`` inside a module definition: the base is recorded through
        # __orig_bases__ and resolved per module instance by ``@mod.type``.
        if isinstance(self, ExceptionDef):
            raise TypeError(f"cannot subclass exception definition {self.name!r} in a class "
                            f"statement; use {self.moddef.name}.exception(..., base=...)")
        return ()


@cython.final
cdef class TypeDef(_Handle):
    """Handle returned by ``@mod.type``: ``Box.of(state)`` is that module instance's type."""

    def __repr__(self):
        return f"<hpystate TypeDef {self.moddef.name}.{self.name}>"


@cython.final
cdef class ExceptionDef(_Handle):
    """Handle returned by ``mod.exception()``: ``Error.of(state)`` is that module instance's
    exception class."""
    cdef object _base
    cdef object _doc

    def __repr__(self):
        return f"<hpystate ExceptionDef {self.moddef.name}.{self.name}>"


@cython.final
cdef class FunctionDef:
    """Handle returned by ``@mod.function``: ``f.of(state)`` is that instance's function; the
    handle still works as a decorator target for documentation, never as the function."""
    cdef readonly ModuleDef moddef
    cdef readonly str name
    cdef readonly object impl
    cdef size_t _cimpl          # C implementation (cimport API), or 0
    cdef int _cflags
    cdef int _cmode
    cdef object _cdoc
    cdef bytes _cname_b         # PyMethodDef strings: live as long as the definition
    cdef bytes _cdoc_b

    def of(self, owner):
        module = (<ModuleState>owner)._module if isinstance(owner, ModuleState) else owner
        if _block_of(module, self.moddef) == NULL:
            raise TypeError(f"{owner!r} is not a module instance of {self.moddef.name!r} or "
                            "its state")
        return getattr(module, self.name)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.moddef.name}.{self.name} is a function definition; call it "
                        f"on a module instance (module.{self.name}(...)) or call its "
                        "implementation with a state: .impl(state, ...)")

    def __repr__(self):
        return f"<hpystate FunctionDef {self.moddef.name}.{self.name}>"


cdef _Block *_block_of(object module, ModuleDef expected) except? NULL:
    """The module's hpystate state block, or NULL if ``module`` is not an hpystate module
    instance (of ``expected``, when given)."""
    if not PyModule_Check(module):
        return NULL
    cdef PyModuleDef *d = hps_module_def(<PyObject *>module)
    if d == NULL or d.m_free != <void *>_m_free:
        return NULL
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    if expected is not None and (b == NULL or b.owner != <PyObject *>expected):
        return NULL
    return b


cdef int _check_open(ModuleDef mod, str what) except -1:
    if mod._frozen:
        raise TypeError(f"cannot add {what} to ModuleDef {mod.name!r}: it is frozen since "
                        "its first module instance was created")
    return 0


# ModuleDef(multiple_interpreters=...) -> Py_mod_multiple_interpreters value (CPython's
# Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED, ..._SUPPORTED, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED);
# the names are those of Cython's ``subinterpreters_compatible`` directive.
_MULTIPLE_INTERPRETERS = {"no": 0, "shared_gil": 1, "own_gil": 2}
_MULTIPLE_INTERPRETERS_NAMES = {v: k for k, v in _MULTIPLE_INTERPRETERS.items()}


cdef void _fill_slots(PyModuleDef_Slot *slots, void *exec_, size_t multiple_interpreters,
                      bint gil_used) noexcept:
    """exec, then the declarations this CPython knows, then the terminator (4 entries).
    ``multiple_interpreters``: a value of _MULTIPLE_INTERPRETERS. No Python code: it runs
    under hps_lock for extension definitions."""
    memset(slots, 0, 4 * sizeof(PyModuleDef_Slot))
    slots[0].slot = Py_mod_exec
    slots[0].value = exec_
    cdef int n = 1
    if HPS_MOD_MULTIPLE_INTERPRETERS:           # 3.12+: CPython enforces it when creating
        slots[n].slot = HPS_MOD_MULTIPLE_INTERPRETERS
        slots[n].value = <void *>multiple_interpreters
        n += 1
    if HPS_MOD_GIL:                             # 3.13+: free-threaded builds read it
        slots[n].slot = HPS_MOD_GIL
        slots[n].value = HPS_MOD_GIL_USED if gil_used else HPS_MOD_GIL_NOT_USED


cdef int _require_gil(str name) except -1:
    """A free-threaded CPython enables the GIL when its extension loader loads a module that
    needs it (``Py_mod_gil``), but only there; instances made by ``create()`` or a
    ``register()`` import get the same treatment by loading a module that needs the GIL
    once per interpreter (the GIL then stays on in that interpreter, as it does after
    CPython's loader enabled it). PYTHON_GIL=0 / -X gil=0 keeps it off, as for CPython."""
    if not HPS_FREE_THREADED or _sys.flags.gil == 0:
        return 0
    was_enabled = _sys._is_gil_enabled()
    with _warnings.catch_warnings():       # CPython's warning would name the helper module
        _warnings.simplefilter("ignore", RuntimeWarning)
        _importlib.import_module("hpystate._needs_gil")
    if not was_enabled and _sys._is_gil_enabled():
        _warnings.warn(
            f"The global interpreter lock (GIL) has been enabled to load module {name!r}, "
            "whose hpystate.ModuleDef has not declared that it can run safely without the "
            "GIL (gil_used=False). To override this behavior and keep the GIL disabled (at "
            "your own risk), run with PYTHON_GIL=0 or -Xgil=0.", RuntimeWarning, stacklevel=3)
    return 0


cdef class ModuleDef:
    """The definition of an extension module with per-instance state.

    ``ModuleDef(name, state=StateClass, doc=...)`` collects functions, types, exceptions and
    exec hooks; every ``create()`` (or import through ``register``) makes a fresh module with
    a fresh state object and fresh types. The definition is frozen once the first instance
    exists.

    ``multiple_interpreters`` declares subinterpreter support (``Py_mod_multiple_interpreters``):
    ``"own_gil"`` (default: isolated interpreters with their own GIL), ``"shared_gil"``, or
    ``"no"`` (import in a subinterpreter raises CPython's ``ImportError``). ``gil_used``
    (``Py_mod_gil``, 3.13+) is False if the module is safe to run without the GIL on
    free-threaded builds."""

    def __init__(self, str name, state=None, doc=None, *, multiple_interpreters="own_gil",
                 gil_used=True):
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"module name must be a dotted Python identifier, not {name!r}")
        if state is None:
            state = ModuleState
        if not isinstance(state, type):
            raise TypeError(f"state must be a class (a subclass of hpystate.ModuleState), not "
                            f"{type(state).__name__} ({state!r})")
        if not issubclass(state, ModuleState):
            raise TypeError(f"state class {state.__qualname__} must subclass "
                            "hpystate.ModuleState")
        try:
            _inspect.signature(state).bind()
        except TypeError:
            raise TypeError(f"state class {state.__qualname__} must be constructible without "
                            "arguments: hpystate calls StateClass() once per module "
                            "instance") from None
        except ValueError:
            pass
        if doc is not None and not isinstance(doc, str):
            raise TypeError(f"doc must be a str or None, not {type(doc).__name__}")
        if multiple_interpreters not in _MULTIPLE_INTERPRETERS:
            raise ValueError(f"multiple_interpreters must be one of "
                             f"{', '.join(map(repr, _MULTIPLE_INTERPRETERS))}, not "
                             f"{multiple_interpreters!r}")
        if not isinstance(gil_used, bool):
            raise TypeError(f"gil_used must be True or False, not {gil_used!r}")
        self.name = name
        self.multiple_interpreters = multiple_interpreters
        self.gil_used = gil_used
        self.state = state
        self.doc = doc
        self._functions = []
        self._handles = []
        self._exec_hooks = []
        self._names = set()
        self._name_b = name.encode()
        self._doc_b = doc.encode() if doc is not None else None
        memset(&self._c, 0, sizeof(_DefStorage))
        hps_moddef_base_init(&self._c.moddef)
        self._c.owner = <PyObject *>self
        self._c.moddef.m_name = self._name_b
        if self._doc_b is not None:
            self._c.moddef.m_doc = self._doc_b
        self._c.moddef.m_size = sizeof(_Block)
        self._c.moddef.m_slots = self._c.slots
        self._c.moddef.m_traverse = <void *>_m_traverse
        self._c.moddef.m_clear = <void *>_m_clear
        self._c.moddef.m_free = <void *>_m_free
        _fill_slots(self._c.slots, <void *>_m_exec, _MULTIPLE_INTERPRETERS[multiple_interpreters],
                    gil_used)

    def __repr__(self):
        return f"<hpystate ModuleDef {self.name!r}>"

    def __class_getitem__(cls, item):
        """``ModuleDef[StateClass]`` in annotations (see hpystate/_core.pyi)."""
        return _types.GenericAlias(cls, item)

    def __getitem__(self, name):
        """The handle (TypeDef, ExceptionDef or FunctionDef) defined under ``name``."""
        for h in self._handles:
            if (<_Handle>h).name == name:
                return h
        for fd in self._functions:
            if (<FunctionDef>fd).name == name:
                return fd
        raise KeyError(f"ModuleDef {self.name!r} defines no {name!r}")

    def __contains__(self, name):
        return name in self._names

    # -- definition ------------------------------------------------------------------------

    cdef _claim_name(self, name, what):
        _check_open(self, f"{what} {name!r}")
        _check_identifier(name, f"{what} name")
        if name in self._names:
            raise ValueError(f"duplicate name {name!r} in ModuleDef {self.name!r}")
        self._names.add(name)

    def function(self, impl=None, *, name=None):
        """Decorator: add module function ``impl(state, ...)``; ``module.<name>(...)`` calls it
        with that module instance's state."""
        if impl is None:
            return lambda f: self.function(f, name=name)
        _check_callable(impl, "module function implementation")
        if name is None:
            name = getattr(impl, "__name__", None)
        _check_params(impl, ("state",), "module function", exact=False)
        _check_no_class_cell(impl, "module function")
        cdef FunctionDef fd = FunctionDef.__new__(FunctionDef)
        fd.moddef = self
        fd.name = name
        fd.impl = impl
        with cython.critical_section(self):     # atomic with freezing: see _create_module
            self._claim_name(name, "function")
            self._functions.append(fd)
        return fd

    def exception(self, name, base=Exception, *, doc=None):
        """Add an exception class created afresh for every module instance; returns its
        handle (``Error.of(state)`` is that instance's class)."""
        bases = base if isinstance(base, tuple) else (base,)
        for b in bases:
            if isinstance(b, ExceptionDef):
                if (<ExceptionDef>b).moddef is not self:
                    raise ValueError(f"exception {name!r}: base {b!r} belongs to another "
                                     "ModuleDef")
            elif not (isinstance(b, type) and issubclass(b, BaseException)):
                raise TypeError(f"exception {name!r}: base must be an exception class or an "
                                f"ExceptionDef of this ModuleDef, not {b!r}")
        if doc is not None and not isinstance(doc, str):
            raise TypeError(f"exception {name!r}: doc must be a str or None")
        cdef ExceptionDef ed = ExceptionDef.__new__(ExceptionDef)
        ed.moddef = self
        ed.name = name
        ed._base = base
        ed._doc = doc
        with cython.critical_section(self):
            self._claim_name(name, "exception")
            ed._index = len(self._handles)
            self._handles.append(ed)
        return ed

    def type(self, cls=None, *, name=None, base=None, mutable=False):
        """Class decorator: register a type created per module instance with
        ``PyType_FromModuleAndSpec``. ``__slots__`` gives the instance layout (object fields,
        GC-traversed); without ``__slots__`` instances have a ``__dict__``."""
        if cls is None:
            return lambda c: self.type(c, name=name, base=base, mutable=mutable)
        if not isinstance(cls, type):
            raise TypeError(f"@{self.name}.type decorates a class, not {cls!r}")
        if name is None:
            name = cls.__name__
        cdef TypeDef td = _parse_type(self, cls, name, base, mutable)
        with cython.critical_section(self):
            self._claim_name(name, "type")
            td._index = len(self._handles)
            self._handles.append(td)
        return td

    def exec(self, hook):
        """Decorator: run ``hook(state, module)`` when an instance is initialised, after its
        types, exceptions and functions exist. Hooks run in definition order."""
        _check_callable(hook, "exec hook")
        _check_params(hook, ("state", "module"), "exec hook")
        what = f"exec hook {_describe(hook)}"
        with cython.critical_section(self):
            _check_open(self, what)
            self._exec_hooks.append(hook)
        return hook

    # -- instantiation ---------------------------------------------------------------------

    def create(self, name=None):
        """Create and initialise a fresh module instance (not put in ``sys.modules``).
        ``name`` defaults to the definition's name."""
        spec = _machinery.ModuleSpec(self.name if name is None else name, Loader(self),
                                     origin="hpystate")
        module = _import_util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    cdef object _create_module(self, spec):
        self._check_interpreter(spec.name)
        # Additions check _frozen and append under the same critical section, so every
        # member added before this point is in every instance and none can be added after.
        with cython.critical_section(self):
            self._frozen = True
        if self.gil_used:
            _require_gil(spec.name)
        return PyModule_FromDefAndSpec(&self._c.moddef, spec)

    cdef int _check_interpreter(self, str name) except -1:
        # 3.12+: CPython checks the Py_mod_multiple_interpreters slot itself (in interpreters
        # whose config checks extensions). 3.10/3.11 have no such slot: a module declared
        # multiple_interpreters="no" refuses every subinterpreter, with CPython's message.
        if (not HPS_MOD_MULTIPLE_INTERPRETERS and self.multiple_interpreters == "no"
                and not hps_in_main_interpreter()):
            raise ImportError(f"module {name} does not support loading in subinterpreters")
        return 0

    cdef int _exec_module(self, module) except -1:
        return PyModule_ExecDef(module, &self._c.moddef)

    cdef int _init_instance(self, module) except -1:
        cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
        if b == NULL:
            raise SystemError(f"module {module.__name__!r} has no hpystate state block")
        if b.state != NULL:
            return 0                    # already initialised (exec_module on reload)
        modname = module.__name__
        cdef ModuleState state = self.state.__new__(self.state)
        state._module = module
        objects = []
        Py_INCREF(state)
        b.state = <PyObject *>state
        Py_INCREF(self)
        b.owner = <PyObject *>self
        Py_INCREF(objects)
        b.objects = <PyObject *>objects
        state.__init__()
        cdef TypeDef td
        for handle in self._handles:
            if isinstance(handle, ExceptionDef):
                obj = _make_exception(<ExceptionDef>handle, modname, objects)
            else:
                td = <TypeDef>handle
                obj = _make_type(td, module, modname, state, objects)
            objects.append(obj)
            setattr(module, (<_Handle>handle).name, obj)
        cdef FunctionDef fd
        for fd in self._functions:
            if fd._cimpl:
                f = _c_module_function(fd, module, b, state, modname)
            else:
                f = _make_callable(StateFunction, fd.impl, state, fd.name, fd.name, modname)
            setattr(module, fd.name, f)
        for hook in self._exec_hooks:
            try:
                hook(state, module)
            except BaseException as exc:
                if hasattr(exc, "add_note"):
                    exc.add_note(f"raised by exec hook {_describe(hook)} of hpystate module "
                                 f"{modname!r}")
                raise
        return 0


# ---------------------------------------------------------------------------------------------
# 4. Module instances: PyModuleDef callbacks and per-instance objects
# ---------------------------------------------------------------------------------------------

cdef int _m_exec(object module) except -1:
    cdef PyModuleDef *d = hps_module_def(<PyObject *>module)
    if d == NULL:
        raise SystemError("hpystate exec slot called on a module without a definition")
    cdef ModuleDef owner
    if (<_DefStorage *>d).owner != NULL:        # a ModuleDef's own PyModuleDef
        owner = <ModuleDef>(<_DefStorage *>d).owner
    else:                                       # a real extension entry (hpystate.build)
        owner = _extension_owner(module, <HpyState_ExtensionDef *>d)
    return owner._init_instance(module)


cdef int _m_traverse(PyObject *module, visitproc visit, void *arg) noexcept:
    cdef _Block *b = <_Block *>PyModule_GetState(module)
    cdef int r
    if b == NULL:
        return 0
    if b.state != NULL:
        r = visit(b.state, arg)
        if r:
            return r
    if b.owner != NULL:
        r = visit(b.owner, arg)
        if r:
            return r
    if b.objects != NULL:
        r = visit(b.objects, arg)
        if r:
            return r
    return _block_traverse_c(b, visit, arg)


cdef int _m_clear(PyObject *module) noexcept:
    # The owner (ModuleDef) is kept until m_free: module_traverse still reads the
    # PyModuleDef it owns while the module object exists.
    cdef _Block *b = <_Block *>PyModule_GetState(module)
    cdef PyObject *tmp
    if b == NULL:
        return 0
    tmp = b.state
    b.state = NULL
    Py_XDECREF(tmp)
    tmp = b.objects
    b.objects = NULL
    Py_XDECREF(tmp)
    return 0


cdef void _m_free(void *module) noexcept:
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    cdef PyObject *tmp
    if b == NULL:
        return
    _m_clear(<PyObject *>module)
    # Trampoline entries and C arrays of C-level bindings: only now, when no type of this
    # instance can exist any more (each holds the module).
    _block_free_c(b)
    tmp = b.owner
    b.owner = NULL
    Py_XDECREF(tmp)     # may free the ModuleDef and its PyModuleDef: module_dealloc is done
                        # with md_def by now


def _make_exception(ExceptionDef ed, str modname, list objects):
    bases = ed._base if isinstance(ed._base, tuple) else (ed._base,)
    resolved = tuple(objects[(<ExceptionDef>b)._index] if isinstance(b, ExceptionDef) else b
                     for b in bases)
    ns = {"__doc__": ed._doc} if ed._doc is not None else {}
    exc = _types.new_class(ed.name, resolved, {}, lambda d: d.update(ns))
    exc.__module__ = modname
    exc.__qualname__ = ed.name
    return exc


# CPython's generic instance functions for classes defined in Python: dealloc, traverse and
# clear driven by the type's member table, dict and weakref offsets. hpystate types use them
# so instances behave exactly like instances of a class statement (slots, __dict__, weakrefs,
# subclassing in Python, GC); see docs/design.md.
class _LayoutProbe:
    __slots__ = ("probe",)

cdef void *_subtype_dealloc = (<PyTypeObject_ *>_LayoutProbe).tp_dealloc
cdef void *_subtype_traverse = (<PyTypeObject_ *>_LayoutProbe).tp_traverse
cdef void *_subtype_clear = (<PyTypeObject_ *>_LayoutProbe).tp_clear

# C statics are shared by every interpreter in the process: only constant C data here (module
# globals of object type live in each interpreter's module state; see docs/subinterpreters.md).
cdef const char *_WEAKLIST_NAME = "__weaklistoffset__"
cdef const char *_DICT_NAME = "__dictoffset__"


def _parse_type(ModuleDef moddef, cls, str name, base, bint mutable):
    _check_identifier(name, "type name")
    ns = cls.__dict__
    orig_bases = ns.get("__orig_bases__", ())
    declared = [b for b in orig_bases if isinstance(b, _Handle)] + \
               [b for b in cls.__bases__ if b is not object]
    if base is not None:
        declared.insert(0, base)
    if len(declared) > 1:
        raise TypeError(f"type {name!r}: hpystate types take a single base, got {declared!r}")
    base = declared[0] if declared else None
    if isinstance(base, _Handle):
        if not isinstance(base, TypeDef):
            raise TypeError(f"type {name!r}: base {base!r} is not a type definition")
        if (<TypeDef>base).moddef is not moddef:
            raise ValueError(f"type {name!r}: base {base!r} belongs to another ModuleDef; "
                             "bases from a definition must be of the same definition")
    elif base is not None:
        if not isinstance(base, type):
            raise TypeError(f"type {name!r}: base must be a type or a TypeDef, not {base!r}")
        if not ((<PyTypeObject_ *>base).tp_flags & Py_TPFLAGS_BASETYPE):
            raise TypeError(f"type {name!r}: base {base.__qualname__!r} does not allow "
                            "subclassing")

    slots = ns.get("__slots__", None)
    add_dict = slots is None
    if isinstance(slots, str):
        slots = (slots,)
    slots = tuple(slots) if slots is not None else ()
    fields = []
    for s in slots:
        if s == "__dict__":
            add_dict = True
            continue
        if s == "__weakref__":
            continue                    # instances always support weak references
        _check_identifier(s, f"type {name!r}: __slots__ entry")
        if s in fields:
            raise ValueError(f"type {name!r}: duplicate __slots__ entry {s!r}")
        fields.append(s)
    base_type = base if isinstance(base, type) else None
    if base_type is not None and fields and base_type.__itemsize__:
        raise TypeError(f"type {name!r}: nonempty __slots__ not supported for a subtype of "
                        f"{base_type.__qualname__!r}")

    members = []
    dunders = set()
    for attr, value in ns.items():
        if attr in _CLASS_MACHINERY:
            continue
        if attr in fields and isinstance(value, _types.MemberDescriptorType):
            continue                    # made by the class statement from __slots__
        if isinstance(value, _Member):
            if value._claimed:
                raise ValueError(f"type {name!r}: {attr!r} is already registered on another "
                                 "type")
            if isinstance(value, _SlotMember):
                key = value.dunder
                if key in dunders:
                    raise ValueError(f"type {name!r}: two implementations of slot {key!r}")
                dunders.add(key)
            else:
                key = attr
            if key in fields:
                raise ValueError(f"type {name!r}: {key!r} is both a __slots__ field and a "
                                 "member")
            members.append((key, value))
        elif attr in _DUNDERS and (callable(value) or value is None):
            if value is None and attr == "__hash__":
                members.append((attr, None))
                dunders.add(attr)
                continue
            raise TypeError(f"type {name!r}: {attr} must be decorated with @hpystate.slot "
                            "(its implementation receives the state first)")
        elif isinstance(value, (_types.FunctionType, _builtins.classmethod, property)) or \
                type(value).__name__ == "cython_function_or_method":
            raise TypeError(f"type {name!r}: {attr!r} is a plain {type(value).__name__}; "
                            "decorate it with @hpystate.method, @hpystate.classmethod or "
                            "@hpystate.getter so it receives the module state")
        else:
            members.append((attr, value))       # constants, staticmethods, nested classes
    for attr, value in members:
        if isinstance(value, _Member):
            (<object>value)._claimed = True
    if "__eq__" in dunders and "__hash__" not in dunders:
        members.append(("__hash__", None))      # as for a class statement

    cdef TypeDef td = TypeDef.__new__(TypeDef)
    td.moddef = moddef
    td.name = name
    td._base = base
    td._slots = tuple(fields)
    td._add_dict = add_dict
    td._mutable = mutable
    td._doc = ns.get("__doc__")
    td._members = members
    td._spec_names = {}
    td._slot_names_b = [f.encode() for f in fields]
    td._c_methods = []
    td._c_slots = []
    td._c_getsets = []
    return td


cdef object _new_heap_type(bytes name, module, tuple bases, Py_ssize_t basicsize,
                           PyMemberDef *mdefs, bint add_dict, bytes doc,
                           unsigned long extra_flags=0, PyType_Slot *extra=NULL,
                           Py_ssize_t n_extra=0):
    """PyType_FromModuleAndSpec with CPython's generic instance functions (see above), plus
    ``extra`` slots (C-level slots, methods and getsets of the cimport API)."""
    cdef PyType_Slot *tslots = <PyType_Slot *>PyMem_Malloc((7 + n_extra) * sizeof(PyType_Slot))
    cdef PyType_Spec spec
    cdef int k = 0
    cdef Py_ssize_t j
    if tslots == NULL:
        raise MemoryError()
    for j in range(n_extra):
        tslots[k] = extra[j]
        k += 1
    tslots[k].slot = Py_tp_dealloc; tslots[k].pfunc = _subtype_dealloc; k += 1
    tslots[k].slot = Py_tp_traverse; tslots[k].pfunc = _subtype_traverse; k += 1
    tslots[k].slot = Py_tp_clear; tslots[k].pfunc = _subtype_clear; k += 1
    if mdefs != NULL:
        tslots[k].slot = Py_tp_members; tslots[k].pfunc = mdefs; k += 1
    if doc is not None:
        tslots[k].slot = Py_tp_doc; tslots[k].pfunc = <char *>doc; k += 1
    if add_dict:
        tslots[k].slot = Py_tp_getset; tslots[k].pfunc = hps_dict_getset; k += 1
    tslots[k].slot = 0; tslots[k].pfunc = NULL
    spec.name = name
    spec.basicsize = <int>basicsize
    spec.itemsize = 0
    spec.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | extra_flags
    spec.slots = tslots
    try:
        return PyType_FromModuleAndSpec(module, &spec, bases)
    finally:
        PyMem_Free(tslots)


cdef void _freeze(object cls) noexcept:
    (<PyTypeObject_ *>cls).tp_flags |= Py_TPFLAGS_IMMUTABLETYPE
    PyType_Modified(<PyTypeObject_ *>cls)


def _layout_type(TypeDef td):
    """The type holding a TypeDef's instance layout (``__slots__`` fields, ``__dict__``,
    weak reference list), shared by the TypeDef's per-instance types.

    Per-instance types add no fields of their own, so their solid base is this type and
    ``class Both(m1.Box, m2.Box)`` has no layout conflict. Created once per TypeDef (a
    definition lives in one interpreter), never bound to a module."""
    with cython.critical_section(td):
        layout = td._layout
    if layout is not None:
        return layout
    base = td._base
    if isinstance(base, TypeDef):
        base = _layout_type(<TypeDef>base)
    elif base is None:
        base = object
    cdef PyTypeObject_ *bt = <PyTypeObject_ *>base
    cdef Py_ssize_t nfields = len(td._slots)
    cdef Py_ssize_t offset = bt.tp_basicsize
    cdef bint add_dict = td._add_dict and bt.tp_dictoffset == 0
    cdef bint add_weaklist = bt.tp_weaklistoffset == 0
    cdef unsigned long flags = 0
    if HPS_MANAGED_PREHEADER:
        # dict and weaklist in the pre-header: no member slots, no basic size.
        if add_dict:
            flags |= HPS_TPFLAGS_MANAGED_DICT
        if add_weaklist:
            flags |= HPS_TPFLAGS_MANAGED_WEAKREF
        add_weaklist = False
    cdef bint dict_member = add_dict and not HPS_MANAGED_PREHEADER
    cdef Py_ssize_t nmembers = nfields + dict_member + add_weaklist
    cdef Py_ssize_t i
    cdef PyMemberDef *mdefs = <PyMemberDef *>PyMem_Malloc((nmembers + 1) * sizeof(PyMemberDef))
    if mdefs == NULL:
        raise MemoryError()
    try:
        memset(mdefs, 0, (nmembers + 1) * sizeof(PyMemberDef))
        for i in range(nfields):
            mdefs[i].name = <bytes>td._slot_names_b[i]
            mdefs[i].type = HPS_T_OBJECT_EX
            mdefs[i].offset = offset
            offset += sizeof(PyObject *)
        i = nfields
        # __dict__ then the weak reference list, last: CPython's layout check ignores both
        # at the end of a heap type.
        if dict_member:
            mdefs[i].name = _DICT_NAME
            mdefs[i].type = HPS_T_PYSSIZET
            mdefs[i].offset = offset
            mdefs[i].flags = HPS_READONLY
            offset += sizeof(PyObject *)
            i += 1
        if add_weaklist:
            mdefs[i].name = _WEAKLIST_NAME
            mdefs[i].type = HPS_T_PYSSIZET
            mdefs[i].offset = offset
            mdefs[i].flags = HPS_READONLY
            offset += sizeof(PyObject *)
        name_b = f"hpystate.layout.{td.name}".encode()
        doc = (f"Instance layout of {td.moddef.name}.{td.name}, shared by the types every "
               "module instance creates for it.").encode()
        layout = _new_heap_type(name_b, None, (base,), offset, mdefs, add_dict, doc, flags)
    finally:
        PyMem_Free(mdefs)               # copied into the type by PyType_FromModuleAndSpec
    # copyreg reads __slots__ from class dicts to pickle slot values.
    layout.__slots__ = td._slots
    _freeze(layout)
    # Threads making the first instances at once may each build one: the first published
    # is the only one ever used, so all instances share one layout (no layout conflict).
    with cython.critical_section(td):
        if td._layout is None:
            td._layout = layout
            td._layout_name = name_b    # tp_name points into it on 3.10/3.11
        layout = td._layout
    return layout


cdef Py_ssize_t _c_members(TypeDef td, _Block *b, state, str modname, str qual_prefix,
                           PyType_Slot *extra, list fallbacks) except -1:
    """Prepare a per-instance type's C-level members: trampoline slots into ``extra``
    (returns how many), method and getset arrays (owned by the module instance), and the
    descriptors to install instead where a trampoline table is exhausted."""
    cdef Py_ssize_t n = 0, k, nm = len(td._c_methods), ng = len(td._c_getsets)
    cdef int kind, idx, mode
    cdef PyMethodDef *mdefs = NULL
    cdef PyGetSetDef *gdefs = NULL
    cdef _GetSetClosure *c
    if nm:
        mdefs = <PyMethodDef *>PyMem_Malloc((nm + 1) * sizeof(PyMethodDef))
        if mdefs == NULL:
            raise MemoryError()
        memset(mdefs, 0, (nm + 1) * sizeof(PyMethodDef))
        _block_add(b, -1, 0, mdefs)
        k = 0
        for name_b, impl, flags, doc_b in td._c_methods:
            kind, mode, _ = _METH_KINDS[flags]
            name = name_b.decode()
            _block_add(b, -3, 0, NULL)             # reserve first: never leak an entry
            idx = _entry_alloc(kind, <void *><size_t>impl, <PyObject *>state)
            if idx < 0:
                fallbacks.append((name, _make_ccallable(
                    CMethod, impl, mode, 0, state, name, qual_prefix + name, modname,
                    doc_b.decode() if doc_b is not None else None)))
                continue
            b.citems[b.n_citems - 1].kind = kind
            b.citems[b.n_citems - 1].index = idx
            mdefs[k].ml_name = <bytes>name_b
            mdefs[k].ml_meth = hps_trampolines[kind][idx]
            mdefs[k].ml_flags = flags
            if doc_b is not None:
                mdefs[k].ml_doc = <bytes>doc_b
            k += 1
        if k:
            extra[n].slot = Py_tp_methods
            extra[n].pfunc = mdefs
            n += 1
    for slot, impl in td._c_slots:
        slot_id, kind, adapters = _C_SLOTS[slot]
        _block_add(b, -3, 0, NULL)
        idx = _entry_alloc(kind, <void *><size_t>impl, <PyObject *>state)
        if idx < 0:
            for dunder, mode, variant in adapters:
                fallbacks.append((dunder, _make_ccallable(
                    CMethod, impl, mode, variant, state, dunder, qual_prefix + dunder,
                    modname, None)))
            continue
        b.citems[b.n_citems - 1].kind = kind
        b.citems[b.n_citems - 1].index = idx
        extra[n].slot = slot_id
        extra[n].pfunc = hps_trampolines[kind][idx]
        n += 1
    if ng:
        gdefs = <PyGetSetDef *>PyMem_Malloc((ng + 1) * sizeof(PyGetSetDef))
        if gdefs == NULL:
            raise MemoryError()
        memset(gdefs, 0, (ng + 1) * sizeof(PyGetSetDef))
        _block_add(b, -1, 0, gdefs)
        for k in range(ng):
            name_b, get, set_, doc_b = td._c_getsets[k]
            _block_add(b, -3, 0, NULL)             # reserve first: never leak
            c = <_GetSetClosure *>PyMem_Malloc(sizeof(_GetSetClosure))
            if c == NULL:
                raise MemoryError()
            c.get = <void *><size_t>get
            c.set = <void *><size_t>set_
            c.state = <PyObject *>state
            Py_INCREF(state)
            b.citems[b.n_citems - 1].kind = -2
            b.citems[b.n_citems - 1].ptr = c
            gdefs[k].name = <bytes>name_b
            gdefs[k].get = <void *>_gs_get
            gdefs[k].set = <void *>_gs_set if set_ else NULL
            if doc_b is not None:
                gdefs[k].doc = <bytes>doc_b
            gdefs[k].closure = c
        extra[n].slot = Py_tp_getset
        extra[n].pfunc = gdefs
        n += 1
    return n


def _make_type(TypeDef td, module, str modname, ModuleState state, list objects):
    layout = _layout_type(td)
    if isinstance(td._base, TypeDef):
        bases = (objects[(<TypeDef>td._base)._index], layout)
    else:
        bases = (layout,)
    fullname = td._spec_names.get(modname)
    if fullname is None:
        # On 3.10 tp_name points into this buffer: it lives as long as the TypeDef.
        fullname = td._spec_names.setdefault(modname, f"{modname}.{td.name}".encode())
    doc_b = td._doc.encode() if isinstance(td._doc, str) else None
    qual_prefix = td.name + "."
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    cdef Py_ssize_t n_extra = 0
    cdef PyType_Slot *extra = <PyType_Slot *>PyMem_Malloc(
        (len(td._c_slots) + 2) * sizeof(PyType_Slot))
    if extra == NULL:
        raise MemoryError()
    fallbacks = []
    try:
        n_extra = _c_members(td, b, state, modname, qual_prefix, extra, fallbacks)
        cls = _new_heap_type(fullname, module, bases, (<PyTypeObject_ *>layout).tp_basicsize,
                             NULL, False, doc_b, 0, extra, n_extra)
    finally:
        PyMem_Free(extra)
    if td._doc is None:
        cls.__doc__ = None
    for attr, value in fallbacks:
        setattr(cls, attr, value)
    for attr, value in td._members:
        if isinstance(value, _PropertyMember):
            value = _make_property(value, state, attr, qual_prefix + attr, modname)
        elif isinstance(value, _ClassMethodMember):
            value = _builtins.classmethod(_make_callable(
                StateMethod, value.impl, state, attr, qual_prefix + attr, modname))
        elif isinstance(value, _StaticMethodMember) or (
                isinstance(value, _SlotMember) and attr == "__new__"):
            value = _builtins.staticmethod(_make_callable(
                StateFunction, value.impl, state, attr, qual_prefix + attr, modname))
        elif isinstance(value, (_MethodMember, _SlotMember)):
            value = _make_callable(StateMethod, value.impl, state, attr, qual_prefix + attr,
                                   modname)
        # type.__setattr__ lets CPython install its slot dispatcher for dunders.
        setattr(cls, attr, value)
    if not td._mutable:
        _freeze(cls)
    return cls


cdef StateProperty _make_property(m, state, str name, str qualname,
                                  str modname):
    cdef StateProperty p = StateProperty.__new__(StateProperty)
    p._fget = m.impl
    p._fset = m.fset
    p._fdel = m.fdel
    _init_binding(p, state, name, qualname, modname)
    return p


def state_of(obj):
    """The state of ``obj``: a module instance created by hpystate, or a type it created."""
    module = obj
    if isinstance(obj, type) and ((<PyTypeObject_ *>obj).tp_flags & Py_TPFLAGS_HEAPTYPE):
        try:
            module = <object>PyType_GetModule(<PyTypeObject_ *>obj)
        except TypeError:
            module = None
    cdef _Block *b = _block_of(module, None)
    if b == NULL:
        raise TypeError(f"{obj!r} is not a module instance or type created by hpystate")
    if b.state == NULL:
        raise RuntimeError(f"module {module.__name__!r} is not initialised (or was cleared)")
    return <object>b.state


# ---------------------------------------------------------------------------------------------
# 5. The import path
# ---------------------------------------------------------------------------------------------

class Loader:
    """An importlib loader creating a fresh module instance of a ``ModuleDef`` per import,
    with PEP 489 multi-phase semantics: ``create_module`` makes the module from the
    definition, ``exec_module`` runs its initialisation once (``importlib.reload`` keeps the
    instance, as for multi-phase C extensions)."""

    def __init__(self, moddef):
        if not isinstance(moddef, ModuleDef):
            raise TypeError(f"Loader needs a ModuleDef, not {moddef!r}")
        self.moddef = moddef

    def create_module(self, spec):
        return (<ModuleDef>self.moddef)._create_module(spec)

    def exec_module(self, module):
        (<ModuleDef>self.moddef)._exec_module(module)

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
        raise ImportError(f"hpystate: {entry!r} registered for {fullname!r} is not a "
                          f"ModuleDef but {obj!r}", name=fullname)
    return obj


# register()/unregister() read and change sys.meta_path and the registry: one at a time.
_registry_lock = _threading.Lock()


def _finder():
    """hpystate's finder on sys.meta_path, installed on first use (under _registry_lock)."""
    for f in _sys.meta_path:
        if isinstance(f, _Finder):
            return f
    f = _Finder()
    _sys.meta_path.append(f)
    return f


def register(fullname, definition):
    """Make ``import <fullname>`` create a fresh instance of ``definition`` — a ``ModuleDef``
    or a ``"package.module:attribute"`` string resolved at first import — through the import
    system (``del sys.modules[name]`` + import gives a new instance; ``importlib.reload``
    keeps it). Typically called in the package's ``__init__.py``."""
    if not isinstance(fullname, str) or not all(p.isidentifier() for p in fullname.split(".")):
        raise ValueError(f"module name must be a dotted Python identifier, not {fullname!r}")
    if isinstance(definition, str):
        modname, sep, attr = definition.partition(":")
        if not sep or not modname or not attr:
            raise ValueError(f"definition string must look like 'package.module:attribute', "
                             f"not {definition!r}")
    elif not isinstance(definition, ModuleDef):
        raise TypeError(f"definition must be a ModuleDef or a 'module:attribute' string, not "
                        f"{definition!r}")
    with _registry_lock:
        finder = _finder()
        known = finder.registry.get(fullname)
        if known is not None and known is not definition and known != definition:
            raise ValueError(f"module name {fullname!r} is already registered to {known!r}")
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
    if x.owner != NULL or x.target == NULL or not 0 <= x.multiple_interpreters <= 2:
        raise SystemError("hpystate: malformed extension definition")
    hps_lock()                          # several interpreters may import it at once
    if x.moddef.m_slots == NULL:
        x.moddef.m_size = sizeof(_Block)
        x.moddef.m_traverse = <void *>_m_traverse
        x.moddef.m_clear = <void *>_m_clear
        x.moddef.m_free = <void *>_m_free
        _fill_slots(x.slots, <void *>hps_extension_exec, <size_t>x.multiple_interpreters,
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


cdef ModuleDef _extension_owner(object module, HpyState_ExtensionDef *x):
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
    d._check_interpreter(name)
    with cython.critical_section(d):
        d._frozen = True
    if d.doc is not None:
        module.__doc__ = d.doc
    return d


hps_set_cython_exec(<void *>_m_exec)
cdef HpyState_CAPI _c_api
_c_api.version = HPYSTATE_CAPI_VERSION
_c_api.extension_init = _extension_init
_c_api.extension_export = _extension_export
_C_API = PyCapsule_New(&_c_api, b"hpystate._core._C_API", NULL)


# ---------------------------------------------------------------------------------------------
# 6. The cimport API: C-level implementations (declared in _core.pxd, re-exported by
#    hpystate/state.pxd)
# ---------------------------------------------------------------------------------------------
#
# Methods and slots reach their state through per-binding trampolines (_trampolines.h,
# generated by tools/gen_slots.py): the binding gets entry i of its kind's table and
# its C function pointer is trampoline i, which calls ``impl(entry.state, ...)``. Module
# functions are vectorcall objects carrying the state; getters/setters get a closure.
# When a table is exhausted the binding is installed the slower, equally correct way:
# a C-level descriptor under the method or dunder name(s), dispatched by CPython's own slot
# functions (see docs/cimport.md).

cdef unsigned char _used[HPS_NKINDS][HPS_PER_KIND]     # guarded by hps_lock
cdef int _limit = HPS_PER_KIND          # usable entries per kind (tests lower it)


cdef int _entry_alloc(int kind, void *impl, PyObject *state) noexcept:
    cdef int i
    cdef int found = -1
    hps_lock()
    for i in range(_limit):
        if not _used[kind][i]:
            _used[kind][i] = 1
            found = i
            break
    hps_unlock()
    if found >= 0:
        Py_INCREF(<object>state)
        hps_entries[kind][found].state = state
        hps_entries[kind][found].impl = impl
    return found


cdef void _entry_release(int kind, int i) noexcept:
    cdef PyObject *state = hps_entries[kind][i].state
    hps_entries[kind][i].state = NULL
    hps_entries[kind][i].impl = NULL
    hps_lock()
    _used[kind][i] = 0
    hps_unlock()
    Py_XDECREF(state)


def _trampoline_limit(limit=None):
    """Testing hook: the number of usable trampolines per kind (set it to force the
    fallback path); returns the previous value."""
    global _limit
    old = _limit
    if limit is not None:
        if not 0 <= limit <= HPS_PER_KIND:
            raise ValueError(f"limit must be between 0 and {HPS_PER_KIND}")
        _limit = limit
    return old


def _trampolines_in_use():
    """Testing hook: the number of allocated entries per kind."""
    cdef int k, i, n
    out = []
    hps_lock()
    for k in range(HPS_NKINDS):
        n = 0
        for i in range(HPS_PER_KIND):
            n += _used[k][i]
        out.append(n)
    hps_unlock()
    return out


ctypedef struct _GetSetClosure:
    void *get
    void *set
    PyObject *state


cdef int _block_add(_Block *b, int kind, int index, void *ptr) except -1:
    cdef _CItem *items
    cdef Py_ssize_t cap
    if b.n_citems == b.cap_citems:
        cap = b.cap_citems * 2 + 8
        items = <_CItem *>PyMem_Realloc(b.citems, cap * sizeof(_CItem))
        if items == NULL:
            raise MemoryError()
        b.citems = items
        b.cap_citems = cap
    b.citems[b.n_citems].kind = kind
    b.citems[b.n_citems].index = index
    b.citems[b.n_citems].ptr = ptr
    b.n_citems += 1
    return 0


cdef int _block_traverse_c(_Block *b, visitproc visit, void *arg) noexcept:
    cdef Py_ssize_t j
    cdef int r
    cdef PyObject *state
    for j in range(b.n_citems):
        state = NULL
        if b.citems[j].kind >= 0:
            state = hps_entries[b.citems[j].kind][b.citems[j].index].state
        elif b.citems[j].kind == -2:
            state = (<_GetSetClosure *>b.citems[j].ptr).state
        if state != NULL:
            r = visit(state, arg)
            if r:
                return r
    return 0


cdef void _block_free_c(_Block *b) noexcept:
    cdef Py_ssize_t j
    cdef _CItem *items = b.citems
    cdef Py_ssize_t n = b.n_citems
    cdef _GetSetClosure *c
    b.citems = NULL
    b.n_citems = b.cap_citems = 0
    for j in range(n):
        if items[j].kind >= 0:
            _entry_release(items[j].kind, items[j].index)
        elif items[j].kind == -2:
            c = <_GetSetClosure *>items[j].ptr
            Py_XDECREF(c.state)
            PyMem_Free(c)
        else:
            PyMem_Free(items[j].ptr)
    PyMem_Free(items)


# -- calling C implementations from Python (module functions and fallbacks) --------------------

cdef enum _Mode:
    M_NOARGS, M_O, M_FASTCALL, M_FASTCALL_KW           # module functions / methods
    S_UNARY, S_ITERNEXT, S_BINARY_L, S_BINARY_R, S_TERNARY_L, S_TERNARY_R, S_RICHCMP
    S_INQUIRY, S_HASH, S_LEN, S_SSIZEARG, S_OBJOBJ, S_SETITEM, S_DELITEM, S_CALL, S_INIT
    S_FINALIZE


cdef class _CCallable(_VectorcallBinding):
    """A C implementation bound to a state: module functions (no ``self``) and, as
    ``CMethod``, methods and slot adapters (``self`` is the first argument)."""
    cdef void *_cimpl
    cdef int _mode
    cdef int _variant               # the comparison op for S_RICHCMP
    cdef bint _has_self
    cdef object _doc_str

    def __cinit__(self):
        self._vectorcall = <void *>_c_vectorcall


cdef object _arity_error(_CCallable f, str expected, Py_ssize_t given):
    raise TypeError(f"{f._qualname}() takes {expected} ({given} given)")


cdef object _kw_tuple_to_dict(PyObject **args, Py_ssize_t nargs, PyObject *kwnames):
    if kwnames == NULL:
        return None
    d = {}
    cdef Py_ssize_t i
    names = <tuple><object>kwnames
    for i in range(len(names)):
        d[names[i]] = <object>args[nargs + i]
    return d


cdef object _c_call(_CCallable f, PyObject **args, Py_ssize_t nargs, PyObject *kwnames):
    """Slow-path dispatch (fallbacks, module functions' argument checks) with Python
    semantics; returns a new object or raises."""
    cdef PyObject *st = <PyObject *>f._state
    cdef PyObject *r = NULL
    cdef PyObject *self = NULL
    cdef int ir
    cdef Py_ssize_t sr
    cdef Py_hash_t hr
    cdef int mode = f._mode
    if f._has_self:
        if nargs < 1:
            raise TypeError(f"{f._qualname}() needs an argument")
        self = args[0]
        args += 1
        nargs -= 1
    if kwnames != NULL and PyTuple_GET_SIZE(kwnames) and mode not in (M_FASTCALL_KW, S_CALL,
                                                                      S_INIT):
        raise TypeError(f"{f._qualname}() takes no keyword arguments")
    if mode == M_NOARGS or mode == S_UNARY or mode == S_ITERNEXT or mode == S_INQUIRY or \
            mode == S_HASH or mode == S_LEN or mode == S_FINALIZE:
        if nargs != 0:
            _arity_error(f, "no arguments", nargs)
    elif mode == M_O or mode == S_BINARY_L or mode == S_BINARY_R or mode == S_RICHCMP or \
            mode == S_SSIZEARG or mode == S_OBJOBJ or mode == S_DELITEM:
        if nargs != 1:
            _arity_error(f, "exactly one argument", nargs)
    elif mode == S_SETITEM:
        if nargs != 2:
            _arity_error(f, "exactly two arguments", nargs)
    elif mode == S_TERNARY_L or mode == S_TERNARY_R:
        if nargs not in (1, 2):
            _arity_error(f, "1 or 2 arguments", nargs)

    if mode == M_NOARGS:
        r = (<hps_meth_noargs_impl>f._cimpl)(st, self) if self != NULL else \
            (<PyObject *(*)(PyObject *)>f._cimpl)(st)
    elif mode == M_O:
        r = (<hps_meth_o_impl>f._cimpl)(st, self, args[0]) if self != NULL else \
            (<PyObject *(*)(PyObject *, PyObject *)>f._cimpl)(st, args[0])
    elif mode == M_FASTCALL:
        r = (<hps_meth_fastcall_impl>f._cimpl)(st, self, args, nargs) if self != NULL else \
            (<PyObject *(*)(PyObject *, PyObject **, Py_ssize_t)>f._cimpl)(st, args, nargs)
    elif mode == M_FASTCALL_KW:
        r = (<hps_meth_fastcall_kw_impl>f._cimpl)(st, self, args, nargs, kwnames) \
            if self != NULL else \
            (<PyObject *(*)(PyObject *, PyObject **, Py_ssize_t, PyObject *)>f._cimpl)(
                st, args, nargs, kwnames)
    elif mode == S_UNARY:
        r = (<hps_unary_impl>f._cimpl)(st, self)
    elif mode == S_ITERNEXT:
        r = (<hps_unary_impl>f._cimpl)(st, self)
        if r == NULL and PyErr_Occurred() == NULL:
            raise StopIteration
    elif mode == S_BINARY_L:
        r = (<hps_binary_impl>f._cimpl)(st, self, args[0])
    elif mode == S_BINARY_R:
        r = (<hps_binary_impl>f._cimpl)(st, args[0], self)
    elif mode == S_TERNARY_L or mode == S_TERNARY_R:
        third = <object>args[1] if nargs == 2 else None
        if mode == S_TERNARY_L:
            r = (<hps_ternary_impl>f._cimpl)(st, self, args[0], <PyObject *>third)
        else:
            r = (<hps_ternary_impl>f._cimpl)(st, args[0], self, <PyObject *>third)
    elif mode == S_RICHCMP:
        r = (<hps_richcmp_impl>f._cimpl)(st, self, args[0], f._variant)
    elif mode == S_INQUIRY:
        ir = (<hps_inquiry_impl>f._cimpl)(st, self)
        if ir < 0:
            return _propagate()
        return ir != 0
    elif mode == S_FINALIZE:
        # As through the trampoline (and as for any C type's tp_finalize reached through
        # ``obj.__del__()``): the impl's exception is reported as unraisable, not raised.
        hps_call_finalize(<hps_finalize_impl>f._cimpl, st, self)
        return None
    elif mode == S_HASH:
        hr = (<hps_hash_impl>f._cimpl)(st, self)
        if hr == -1 and PyErr_Occurred() != NULL:
            return _propagate()
        return hr
    elif mode == S_LEN:
        sr = (<hps_len_impl>f._cimpl)(st, self)
        if sr < 0:
            return _propagate()
        return sr
    elif mode == S_SSIZEARG:
        sr = PyNumber_AsSsize_t(<object>args[0], IndexError)
        r = (<hps_ssizearg_impl>f._cimpl)(st, self, sr)
    elif mode == S_OBJOBJ:
        ir = (<hps_objobj_impl>f._cimpl)(st, self, args[0])
        if ir < 0:
            return _propagate()
        return ir != 0
    elif mode == S_SETITEM or mode == S_DELITEM:
        ir = (<hps_objobjarg_impl>f._cimpl)(st, self, args[0],
                                             args[1] if mode == S_SETITEM else NULL)
        if ir < 0:
            return _propagate()
        return None
    elif mode == S_CALL or mode == S_INIT:
        argtuple = tuple([<object>args[i] for i in range(nargs)])
        kwargs = _kw_tuple_to_dict(args, nargs, kwnames)
        if mode == S_CALL:
            r = (<hps_ternary_impl>f._cimpl)(st, self, <PyObject *>argtuple,
                                             <PyObject *>kwargs if kwargs is not None else NULL)
        else:
            ir = (<hps_objobjarg_impl>f._cimpl)(st, self, <PyObject *>argtuple,
                                                 <PyObject *>kwargs if kwargs is not None
                                                 else NULL)
            if ir < 0:
                return _propagate()
            return None
    if r == NULL:
        return _propagate()
    return _steal(r)


cdef object _propagate():
    """Re-raise the exception a C implementation set (SystemError if it set none)."""
    return hps_pending_error()


cdef inline object _steal(PyObject *r):
    obj = <object>r
    Py_XDECREF(r)
    return obj


cdef PyObject *_c_vectorcall(PyObject *callable, PyObject **args, size_t nargsf,
                             PyObject *kwnames) except NULL:
    # Only the fallback path uses these objects (docs/cimport.md): one dispatch, _c_call.
    result = _c_call(<_CCallable>callable, args, PyVectorcall_NARGS(nargsf), kwnames)
    Py_INCREF(result)
    return <PyObject *>result


@cython.final
cdef class CFunction(_CCallable):
    # A module function implemented in C: ``m.f(*a)`` calls ``impl(state, ...)`` by its
    # calling convention (METH_NOARGS, METH_O, METH_FASTCALL[|METH_KEYWORDS]).

    @property
    def __module__(self):
        return self._modname

    @property
    def __doc__(self):
        return self._doc_str

    def __repr__(self):
        return f"<hpystate C function {self._modname}.{self._qualname}>"


@cython.final
cdef class CMethod(_CCallable):
    # A C-level method or slot adapter installed on a type as a method descriptor: the
    # fallback when a trampoline table is exhausted (docs/cimport.md).

    @property
    def __module__(self):
        return self._modname

    @property
    def __doc__(self):
        return self._doc_str

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return PyMethod_New(self, instance)

    def __repr__(self):
        return f"<hpystate C method {self._qualname} of module {self._modname!r}>"


_enable_vectorcall(CFunction, _vectorcall_offset(), 0)
_enable_vectorcall(CMethod, _vectorcall_offset(), Py_TPFLAGS_METHOD_DESCRIPTOR)


cdef _CCallable _make_ccallable(type kind, size_t impl, int mode, int variant, state,
                                str name, str qualname, str modname, doc):
    cdef _CCallable f = kind.__new__(kind)
    f._cimpl = <void *>impl
    f._mode = mode
    f._variant = variant
    f._has_self = kind is CMethod
    f._doc_str = doc
    _init_binding(f, state, name, qualname, modname)
    return f


# -- registration ---------------------------------------------------------------------------

_METH_KINDS = {}                    # METH_* flags -> (method kind, mode, function kind)
_METH_KINDS[METH_NOARGS] = (HPS_K_METH_NOARGS, M_NOARGS, HPS_K_FUNC_NOARGS)
_METH_KINDS[METH_O] = (HPS_K_METH_O, M_O, HPS_K_FUNC_O)
_METH_KINDS[METH_FASTCALL] = (HPS_K_METH_FASTCALL, M_FASTCALL, HPS_K_FUNC_FASTCALL)
_METH_KINDS[METH_FASTCALL | METH_KEYWORDS] = (HPS_K_METH_FASTCALL_KW, M_FASTCALL_KW,
                                              HPS_K_FUNC_FASTCALL_KW)

include "_slot_table.pxi"


cdef int _check_impl(void *impl, str what) except -1:
    if impl == NULL:
        raise ValueError(f"{what}: the implementation pointer is NULL")
    return 0


cdef bytes _opt_bytes(str s):
    return s.encode() if s is not None else None


cdef int add_function(ModuleDef mod, str name, void *impl, int flags,
                      str doc=None) except -1:
    """Add module function ``name`` implemented in C: ``impl(state)``, ``impl(state, arg)``,
    ``impl(state, args, nargs)`` or ``impl(state, args, nargs, kwnames)`` for ``flags``
    METH_NOARGS, METH_O, METH_FASTCALL, METH_FASTCALL | METH_KEYWORDS."""
    _check_impl(impl, f"function {name!r}")
    if flags not in _METH_KINDS:
        raise ValueError(f"function {name!r}: flags must be METH_NOARGS, METH_O, "
                         f"METH_FASTCALL or METH_FASTCALL | METH_KEYWORDS, not {flags:#x}")
    cdef FunctionDef fd = FunctionDef.__new__(FunctionDef)
    fd.moddef = mod
    fd.name = name
    fd.impl = None
    fd._cimpl = <size_t>impl
    fd._cflags = flags
    fd._cmode = _METH_KINDS[flags][1]
    fd._cdoc = doc
    fd._cname_b = name.encode()
    fd._cdoc_b = _opt_bytes(doc)
    with cython.critical_section(mod):      # atomic with freezing (ModuleDef._create_module)
        mod._claim_name(name, "function")
        mod._functions.append(fd)
    return 0


cdef object _c_module_function(FunctionDef fd, module, _Block *b, state, str modname):
    """A C-level module function: a builtin function (``__self__`` is the module) whose
    ``ml_meth`` is a per-binding trampoline, so CPython's builtin-call specializations
    apply; a ``CFunction`` (vectorcall object carrying the state) if the table is full."""
    cdef int kind = _METH_KINDS[fd._cflags][2]
    cdef PyMethodDef *ml
    _block_add(b, -3, 0, NULL)                 # reserve first: never leak an entry
    cdef int idx = _entry_alloc(kind, <void *>fd._cimpl, <PyObject *>state)
    if idx < 0:
        return _make_ccallable(CFunction, fd._cimpl, fd._cmode, 0, state, fd.name, fd.name,
                               modname, fd._cdoc)
    b.citems[b.n_citems - 1].kind = kind
    b.citems[b.n_citems - 1].index = idx
    ml = <PyMethodDef *>PyMem_Malloc(sizeof(PyMethodDef))
    if ml == NULL:
        raise MemoryError()
    _block_add(b, -1, 0, ml)
    ml.ml_name = fd._cname_b
    ml.ml_meth = hps_trampolines[kind][idx]
    ml.ml_flags = fd._cflags
    ml.ml_doc = NULL
    if fd._cdoc_b is not None:
        ml.ml_doc = fd._cdoc_b
    return PyCFunction_NewEx(ml, module, modname)


cdef set _type_names(TypeDef tp):
    names = {attr for attr, _ in tp._members} | set(tp._slots)
    names.update(n.decode() for n, _, _, _ in tp._c_methods)
    names.update(n.decode() for n, _, _, _ in tp._c_getsets)
    return names


cdef int add_method(TypeDef tp, str name, void *impl, int flags, str doc=None) except -1:
    """Add method ``name`` implemented in C to a type: ``impl(state, self)``,
    ``impl(state, self, arg)``, ``impl(state, self, args, nargs)`` or
    ``impl(state, self, args, nargs, kwnames)`` for ``flags`` as for add_function."""
    with cython.critical_section(tp.moddef):    # atomic with freezing
        _check_open(tp.moddef, f"method {name!r}")
        _check_impl(impl, f"method {tp.name}.{name}")
        _check_identifier(name, "method name")
        if flags not in _METH_KINDS:
            raise ValueError(f"method {tp.name}.{name}: flags must be METH_NOARGS, METH_O, "
                             f"METH_FASTCALL or METH_FASTCALL | METH_KEYWORDS, not {flags:#x}")
        if name in _type_names(tp):
            raise ValueError(f"type {tp.name!r}: duplicate member name {name!r}")
        tp._c_methods.append((name.encode(), <size_t>impl, flags, _opt_bytes(doc)))
    return 0


cdef int add_slot(TypeDef tp, str slot, void *impl) except -1:
    """Implement type slot ``slot`` (a C slot name such as ``"nb_add"``) in C, with the
    slot's own C semantics and ``state`` first (see docs/cimport.md for the signatures)."""
    with cython.critical_section(tp.moddef):    # atomic with freezing
        _check_open(tp.moddef, f"slot {slot!r}")
        _check_impl(impl, f"slot {tp.name}.{slot}")
        entry = _C_SLOTS.get(slot)
        if entry is None:
            close = _difflib.get_close_matches(str(slot), list(_C_SLOTS), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"type {tp.name!r}: unknown or unsupported C slot {slot!r}{hint}")
        for other, _ in tp._c_slots:
            if other == slot or (_C_SLOTS[other][0] == entry[0]):
                raise ValueError(f"type {tp.name!r}: slot {slot!r} is already implemented")
        dunders = {d for d, _, _ in entry[2]}
        taken = dunders & {attr for attr, _ in tp._members}
        if taken:
            raise ValueError(f"type {tp.name!r}: C slot {slot!r} conflicts with Python-level "
                             f"{', '.join(sorted(taken))}")
        for other, _ in tp._c_slots:
            if dunders & {d for d, _, _ in _C_SLOTS[other][2]}:
                raise ValueError(f"type {tp.name!r}: C slots {other!r} and {slot!r} both "
                                 f"implement {', '.join(sorted(dunders))}")
        tp._c_slots.append((slot, <size_t>impl))
    return 0


cdef int add_getset(TypeDef tp, str name, void *get, void *set, str doc=None) except -1:
    """Add attribute ``name`` with C getter ``get(state, self)`` and optional setter
    ``set(state, self, value)`` (returns 0, or -1 with an exception)."""
    with cython.critical_section(tp.moddef):    # atomic with freezing
        _check_open(tp.moddef, f"attribute {name!r}")
        _check_impl(get, f"getter {tp.name}.{name}")
        _check_identifier(name, "attribute name")
        if name in _type_names(tp):
            raise ValueError(f"type {tp.name!r}: duplicate member name {name!r}")
        tp._c_getsets.append((name.encode(), <size_t>get, <size_t>set, _opt_bytes(doc)))
    return 0


# noexcept: the impl's result (NULL or -1 with an exception set) passes straight through to
# CPython; an exception check here would cost a thread-state lookup on every access.
ctypedef PyObject *(*_getter_impl)(PyObject *state, PyObject *self) noexcept
ctypedef int (*_setter_impl)(PyObject *state, PyObject *self, PyObject *value) noexcept


cdef PyObject *_gs_get(PyObject *self, void *closure) noexcept:
    cdef _GetSetClosure *c = <_GetSetClosure *>closure
    return (<_getter_impl>c.get)(c.state, self)


cdef int _gs_set(PyObject *self, PyObject *value, void *closure) except -1:
    cdef _GetSetClosure *c = <_GetSetClosure *>closure
    if value == NULL:
        raise AttributeError("cannot delete this attribute")
    return (<_setter_impl>c.set)(c.state, self, value)


# ---------------------------------------------------------------------------------------------
# Module initialisation, last: hpystate's classes are immutable.
# ---------------------------------------------------------------------------------------------
#
# Built with Cython's type specs (one set of heap types per interpreter), they would be
# mutable, unlike static types. Besides letting code patch them, that disables CPython's
# attribute-access specialisation for their instances used as descriptors: 3.12 refuses to
# specialise ``box.get()`` when type(Box.get) is mutable (seen: +125 instructions a call).

cdef void _make_immutable(type t) noexcept:
    (<PyTypeObject_ *>t).tp_flags |= Py_TPFLAGS_IMMUTABLETYPE
    PyType_Modified(<PyTypeObject_ *>t)


for _cls in (ModuleState, _Binding, _VectorcallBinding, _StateCallable, StateFunction,
             StateMethod, StateProperty, _Handle, TypeDef, ExceptionDef, FunctionDef,
             ModuleDef, _CCallable, CFunction, CMethod):
    _make_immutable(_cls)
del _cls
