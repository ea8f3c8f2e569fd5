# Included by _core.pyx (textually: one module, one namespace).
# 4. Python-level bindings: StateFunction, StateMethod and StateProperty carry one
#    instance's state and call the user's implementation with it (vectorcall).

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
        res = hps_vcall(impl, args - 1, <size_t>(nargs + 1), kwnames)
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
    res = hps_vcall(impl, &buf[1], <size_t>(nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames)
    if buf != small:
        PyMem_Free(buf)
    return res


cdef class _Binding:
    """What every binding carries: the state of the module instance it was created for and
    the names it reports (shared with the other instances' bindings of its definition)."""
    cdef object _state
    cdef _BindingNames _names
    cdef object __weakref__         # as for functions: caches and callbacks hold them weakly

    @property
    def __name__(self):
        return self._names.name

    @property
    def __qualname__(self):
        return self._names.qualname

    @property
    def __hpystate_state__(self):
        """The state object this binding delivers."""
        return self._state

    def __reduce__(self):
        _check_self(self, _Binding, "__reduce__")
        # Pickled by reference, like functions and classes: module + qualified name.
        return self._names.qualname


cdef inline _init_binding(_Binding b, state, _BindingNames names):
    b._state = state
    b._names = names
    hps_enable_deferred_refcount(<PyObject *>b)     # 3.14t: lets CPython specialise calls


cdef class _VectorcallBinding(_Binding):
    """A binding called through vectorcall: the function pointer sits at one offset for
    every subclass (set by each subclass's ``__cinit__``)."""
    cdef void *_vectorcall          # read by CPython through tp_vectorcall_offset

    def __call__(self, *args, **kwargs):
        # ``f.__call__(...)``, as functions have it; calls go through vectorcall.
        return PyVectorcall_Call_obj(self, args, kwargs)


cdef class _StateCallable(_VectorcallBinding):
    """Common layout of StateFunction and StateMethod: a vectorcall object that prepends a
    module instance's state to the arguments and calls the user's implementation."""
    cdef object _impl

    def __cinit__(self):
        self._vectorcall = <void *>_state_callable_vectorcall

    @property
    def __signature__(self):
        """The implementation's signature without its leading ``state`` parameter."""
        cdef _BindingNames names = self._names      # shared: so is the cache
        with cython.critical_section(names):
            sig = names.signature
        if sig is None:
            sig = _signature_without_state(self._impl)
            with cython.critical_section(names):    # the first one computed is kept
                if names.signature is None:
                    names.signature = sig
                sig = names.signature
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
    return hps_vcall_obj(f, &args[1], (2 if value == NULL else 3)
                         | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)


cdef PyObject *_state_callable_vectorcall(PyObject *callable, PyObject **args, size_t nargsf,
                                          PyObject *kwnames) noexcept:
    # Borrowed, as CPython passes it: a typed local would cost an incref and a decref per call.
    return _call_with_state(<PyObject *>(<_StateCallable>callable)._impl,
                            <PyObject *>(<_StateCallable>callable)._state, args, nargsf, kwnames)


# The implementation's docstring is each instance's __doc__, and the class's own
# documentation is the class's (help() on either): a descriptor answering both, since a
# property would answer the class with itself.

@cython.final
@cython.auto_pickle(False)
cdef class _BindingDoc:
    cdef str _class_doc
    cdef object _of         # instance -> its docstring

    def __cinit__(self, str class_doc, of):
        self._class_doc = class_doc
        self._of = of

    def __get__(self, instance, owner):
        if instance is None:
            return self._class_doc
        return self._of(instance)


def _impl_doc(_StateCallable f):
    return getattr(f._impl, "__doc__", None)


def _fget_doc(StateProperty p):
    return getattr(p._fget, "__doc__", None)

@cython.final
cdef class StateFunction(_StateCallable):
    __doc__ = _BindingDoc(
        "A module function of one module instance: calling it calls "
        "``impl(state, *args, **kwargs)`` with that instance's state (through vectorcall). "
        "What ``@mod.function`` makes in every instance; its ``__doc__``, ``__name__``, "
        "``__qualname__`` and signature are the implementation's, without ``state``.",
        _impl_doc)

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._names.modname

    def __get__(self, instance, owner):
        # Never binds, as a builtin function; being a (non-data) descriptor makes it a
        # routine to inspect and pydoc (help(module) lists it under FUNCTIONS).
        return self

    def __class_getitem__(cls, item):
        """``StateFunction[[int], int]`` in annotations (see hpystate/_core.pyi)."""
        return _types.GenericAlias(cls, item)

    def __repr__(self):
        return f"<hpystate function {self._names.modname}.{self._names.qualname}>"


@cython.final
cdef class StateMethod(_StateCallable):
    __doc__ = _BindingDoc(
        "A method (or special method) of an hpystate type, bound to the state of the module "
        "instance that created the type: ``obj.name(*a)`` calls ``impl(state, obj, *a)``. A "
        "method descriptor, so no bound method is created for a call; ``__doc__`` and the "
        "signature are the implementation's, without ``state``.",
        _impl_doc)

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._names.modname

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return PyMethod_New(self, instance)

    def __repr__(self):
        return f"<hpystate method {self._names.qualname} of module {self._names.modname!r}>"


cdef _StateCallable _make_callable(type kind, impl, state, _BindingNames names):
    # Each class by name: Cython then calls its tp_new directly (the type's own tp_new
    # refuses Python-level construction; see _init.pxi).
    cdef _StateCallable obj
    if kind is StateMethod:
        obj = StateMethod.__new__(StateMethod)
    else:
        obj = StateFunction.__new__(StateFunction)
    obj._impl = impl
    _init_binding(obj, state, names)
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
    __doc__ = _BindingDoc(
        "An attribute of an hpystate type whose getter, setter and deleter receive the state "
        "of the module instance that created the type: ``obj.name`` calls "
        "``fget(state, obj)``, ``obj.name = v`` calls ``fset(state, obj, v)``. What "
        "``@hpystate.getter`` makes in every instance's type; ``__doc__`` is the getter's.",
        _fget_doc)
    cdef object _fget
    cdef object _fset
    cdef object _fdel

    @property
    def __module__(self):
        # On each concrete class: a heap type's own ``__module__`` string (Cython's
        # type-spec mode) would shadow a property inherited from _Binding.
        return self._names.modname

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return _call_state(self._fget, self._state, instance, NULL)

    def __set__(self, instance, value):
        if self._fset is None:
            raise AttributeError(f"property {self._names.name!r} of {type(instance).__name__!r} "
                                 "object has no setter")
        _call_state(self._fset, self._state, instance, <PyObject *>value)

    def __delete__(self, instance):
        if self._fdel is None:
            raise AttributeError(f"property {self._names.name!r} of {type(instance).__name__!r} "
                                 "object has no deleter")
        _call_state(self._fdel, self._state, instance, NULL)

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
        return f"<hpystate property {self._names.qualname} of module {self._names.modname!r}>"


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
