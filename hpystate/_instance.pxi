# Included by _core.pyx (textually: one module, one namespace).
# 3. Instances: the PyModuleDef callbacks, initialising an instance, and the types and
#    exceptions every instance creates (PyType_FromModuleAndSpec over a shared layout).

cdef int _m_exec(object module) except -1:
    cdef PyModuleDef *d = hps_module_def(<PyObject *>module)
    if d == NULL:
        raise SystemError("hpystate exec slot called on a module without a definition")
    cdef ModuleDef moddef
    if (<_DefStorage *>d).moddef_obj != NULL:   # a ModuleDef's own PyModuleDef
        moddef = <ModuleDef>(<_DefStorage *>d).moddef_obj
    else:                                       # a real extension entry (hpystate.build)
        moddef = _extension_moddef(module, <HpyState_ExtensionDef *>d)
    return _init_instance(moddef, module)


cdef int _init_instance(ModuleDef d, module) except -1:
    """Make a fresh instance's state, then its types and exceptions, its functions, and run
    its exec hooks, in that order (the ``Py_mod_exec`` slot's work)."""
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    if b == NULL:
        raise SystemError(f"module {module.__name__!r} has no hpystate state block")
    if b.state != NULL:
        return 0                    # already initialised (exec_module on reload)
    modname = module.__name__
    cdef ModuleState state = _new_state(d)
    _run_state_checks(d, state)
    state._module = module
    objects = []
    Py_INCREF(state)
    b.state = <PyObject *>state
    state._block = <void *>b
    Py_INCREF(d)
    b.moddef = <PyObject *>d
    Py_INCREF(objects)
    b.objects = <PyObject *>objects
    _check_returns_none(state.__init__(), f"{d.state.__qualname__}.__init__()")
    cdef TypeDef td
    for handle in d._handles:
        if isinstance(handle, ExceptionDef):
            obj = _make_exception(<ExceptionDef>handle, modname, objects)
        else:
            td = <TypeDef>handle
            obj = _make_type(td, module, modname, state, objects)
        objects.append(obj)
        setattr(module, (<_Handle>handle).name, obj)
    cdef FunctionDef fd
    for obj in d._functions:    # FunctionDefs only: unchecked casts, as for members below
        fd = <FunctionDef>obj
        if fd._c is not None:
            f = _c_module_function(fd, module, b, state, modname)
        else:
            f = _make_callable(StateFunction, fd.impl, state, _names_in(fd._names, modname))
        setattr(module, fd.name, f)
    _block_fit(b)
    for hook in d._exec_hooks:
        try:
            _check_returns_none(hook(state, module), f"exec hook {_describe(hook)}")
        except BaseException as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"raised by exec hook {_describe(hook)} of hpystate module "
                             f"{modname!r}")
            raise
    return 0


cdef ModuleState _new_state(ModuleDef d):
    """A fresh state object: ``StateClass.__new__`` must make a new, unattached instance
    (one returning an existing state would share it between two modules)."""
    state = d.state.__new__(d.state)
    if not isinstance(state, d.state):
        raise TypeError(f"{d.state.__qualname__}.__new__ returned {_safe_repr(state)}, not a "
                        f"new {d.state.__qualname__} instance")
    if (<ModuleState>state)._module is not None:
        raise TypeError(f"{d.state.__qualname__}.__new__ returned a state that belongs to "
                        f"module {(<ModuleState>state)._module.__name__!r}; each module "
                        "instance needs a new state object")
    return <ModuleState>state


cdef int _check_returns_none(result, str what) except -1:
    """What hpystate calls for its side effects must not hand back work that never runs
    (an ``async def`` or generator function returns a coroutine or generator)."""
    if result is None:
        return 0
    if _inspect.iscoroutine(result) or _inspect.isgenerator(result) or \
            _inspect.isasyncgen(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()             # no "never awaited" warning on top of the error
        raise TypeError(f"{what} returned a {type(result).__name__}: it must be a plain "
                        "function (async and generator functions never run here)")
    raise TypeError(f"{what} should return None, not {type(result).__name__!r}")


cdef int _m_traverse(PyObject *module, visitproc visit, void *arg) noexcept:
    cdef _Block *b = <_Block *>PyModule_GetState(module)
    cdef int r
    if b == NULL:
        return 0
    if b.state != NULL:
        r = visit(b.state, arg)
        if r:
            return r
    if b.moddef != NULL:
        r = visit(b.moddef, arg)
        if r:
            return r
    if b.objects != NULL:
        r = visit(b.objects, arg)
        if r:
            return r
    return _block_traverse_c(b, visit, arg)


cdef int _m_clear(PyObject *module) noexcept:
    # The ModuleDef is kept until m_free: module_traverse still reads the
    # PyModuleDef it owns while the module object exists.
    cdef _Block *b = <_Block *>PyModule_GetState(module)
    cdef PyObject *tmp
    if b == NULL:
        return 0
    tmp = b.state
    b.state = NULL
    if tmp != NULL:
        (<ModuleState>tmp)._block = NULL    # type_of: this block no longer serves it
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
    tmp = b.moddef
    b.moddef = NULL
    Py_XDECREF(tmp)     # may free the ModuleDef and its PyModuleDef: module_dealloc is done
                        # with md_def by now


cdef object _make_exception(ExceptionDef ed, str modname, list objects):
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

hps_note_subtype_fns((<PyTypeObject_ *>_LayoutProbe).tp_dealloc,      # _capi.h
                     (<PyTypeObject_ *>_LayoutProbe).tp_traverse,
                     (<PyTypeObject_ *>_LayoutProbe).tp_clear)


cdef object _new_heap_type(const char *name, module, tuple bases, Py_ssize_t basicsize,
                           PyMemberDef *mdefs, PyGetSetDef *getsets, bytes doc,
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
    tslots[k].slot = Py_tp_dealloc; tslots[k].pfunc = hps_subtype_dealloc_fn; k += 1
    tslots[k].slot = Py_tp_traverse; tslots[k].pfunc = hps_subtype_traverse; k += 1
    tslots[k].slot = Py_tp_clear; tslots[k].pfunc = hps_subtype_clear; k += 1
    if mdefs != NULL:
        tslots[k].slot = Py_tp_members; tslots[k].pfunc = mdefs; k += 1
    if doc is not None:
        tslots[k].slot = Py_tp_doc; tslots[k].pfunc = <char *>doc; k += 1
    if getsets != NULL:
        tslots[k].slot = Py_tp_getset; tslots[k].pfunc = getsets; k += 1
    tslots[k].slot = 0; tslots[k].pfunc = NULL
    spec.name = name
    spec.basicsize = <int>basicsize
    spec.itemsize = 0
    spec.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | extra_flags
    spec.slots = tslots
    try:
        return hps_type_from_spec(module, &spec, bases)
    finally:
        PyMem_Free(tslots)


cdef void _freeze(object cls) noexcept:
    (<PyTypeObject_ *>cls).tp_flags |= Py_TPFLAGS_IMMUTABLETYPE
    PyType_Modified(<PyTypeObject_ *>cls)


cdef object _layout_type(TypeDef td):
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
    name_b = f"hpystate.layout.{td.name}".encode()
    layout = _build_layout(td, base, name_b)
    # copyreg reads __slots__ from class dicts to pickle slot values.
    layout.__slots__ = td._fields
    layout.__init_subclass__ = _builtins.classmethod(_hold_instance_types)
    _freeze(layout)
    # Threads making the first instances at once may each build one: the first published
    # is the only one ever used, so all instances share one layout (no layout conflict).
    with cython.critical_section(td):
        if td._layout is None:
            td._layout = layout
            td._layout_name = name_b    # tp_name points into it on 3.10/3.11
        layout = td._layout
    return layout


# -- keeping what bound C methods read (docs/design.md, "Ownership rules") -------------------
# A bound C-level method (``bm = obj.who``) is CPython's builtin method: it holds ``obj``,
# which holds its class, which (through its bases) holds the module instance whose entries
# and arrays the method reads. Two changes could break that chain; hpystate closes both.

def _instance_types(cls):
    """The types in ``cls``'s MRO that hpystate created for a module instance."""
    found = []
    for t in cls.__mro__:
        m = hps_type_module(<PyObject *>t)
        if m != NULL and _block_of(<object>m, None) != NULL:
            found.append(t)
    return found


def _instance_modules(cls):
    """The hpystate module instances whose types are in ``cls``'s MRO."""
    return {<object>hps_type_module(<PyObject *>t) for t in _instance_types(cls)}


# object's own __class__ setter, which _assign_class calls once the change is allowed.
_OBJECT_CLASS = object.__dict__["__class__"]


cdef int _assign_class(PyObject *obj, PyObject *value) except -1:
    """``obj.__class__ = value`` for hpystate instances: refused where ``obj`` would stop
    holding a module instance that its current class holds."""
    if value == NULL:
        raise TypeError("can't delete __class__ attribute")
    old = type(<object>obj)
    new = <object>value
    if isinstance(new, type) and new is not old:
        lost = _instance_modules(old) - _instance_modules(new)
        if lost:
            names = ", ".join(sorted(repr(m.__name__) for m in lost))
            raise TypeError(f"__class__ assignment: a {old.__qualname__!r} object would no "
                            f"longer hold module instance {names} (its C-level methods "
                            f"bound to the object read it); {new.__qualname__!r} must "
                            "derive from the same module instances' types")
    _OBJECT_CLASS.__set__(<object>obj, new)
    return 0


hps_assign_class = _assign_class


# A Python subclass keeps the per-instance types in its MRO when it was created, in its own
# __dict__ (so they live exactly as long as it does), so that ``Sub.__bases__ = (...)`` cannot
# make it (and its instances) drop a module instance that bound C methods of its objects read.
def _hold_instance_types(cls, **kwargs):
    """__init_subclass__ of every layout type (so of every hpystate type)."""
    if hps_type_module(<PyObject *>cls) == NULL:      # a class defined in Python
        held = tuple(_instance_types(cls))
        if held:
            cls.__hpystate_held__ = held
            _inherit_fast_slots(cls)
    for t in cls.__mro__[1:]:           # then the rest of the chain, as super() would
        f = t.__dict__.get("__init_subclass__")
        if f is not None and not (isinstance(f, _builtins.classmethod) and
                                  f.__func__ is _hold_instance_types):
            return f.__get__(None, cls)(**kwargs)
    return None


cdef object _build_layout(TypeDef td, base, bytes name_b):
    """A heap type over ``base`` adding the TypeDef's fields, plus a ``__dict__`` (if the
    TypeDef has one) and a weak reference list where ``base`` has none: in the object's
    pre-header on 3.12+, as members at the end before."""
    cdef PyTypeObject_ *bt = <PyTypeObject_ *>base
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
    cdef PyGetSetDef *getsets
    cdef Py_ssize_t nmembers = len(td._fields) + dict_member + add_weaklist
    cdef PyMemberDef *mdefs = <PyMemberDef *>PyMem_Malloc((nmembers + 1) * sizeof(PyMemberDef))
    if mdefs == NULL:
        raise MemoryError()
    try:
        memset(mdefs, 0, (nmembers + 1) * sizeof(PyMemberDef))
        size = _fill_layout_members(mdefs, td, bt.tp_basicsize, dict_member, add_weaklist)
        doc = (f"Instance layout of {td.moddef.name}.{td.name}, shared by the types every "
               "module instance creates for it.").encode()
        getsets = <PyGetSetDef *>hps_layout_dict_getset if add_dict else \
            <PyGetSetDef *>hps_layout_getset
        return _new_heap_type(name_b, None, (base,), size, mdefs, getsets, doc, flags)
    finally:
        PyMem_Free(mdefs)               # copied into the type by PyType_FromModuleAndSpec


cdef Py_ssize_t _fill_layout_members(PyMemberDef *mdefs, TypeDef td, Py_ssize_t offset,
                                     bint dict_member, bint weaklist_member):
    """The member table from ``offset`` on: one object slot per field, then ``__dict__``
    and the weak reference list, last (CPython's layout check ignores both at the end of a
    heap type). Returns the basic size."""
    cdef Py_ssize_t i, n = len(td._fields)
    for i in range(n):
        mdefs[i].name = <bytes>td._field_names_b[i]
        mdefs[i].type = HPS_T_OBJECT_EX
        mdefs[i].offset = offset
        offset += sizeof(PyObject *)
    if dict_member:
        _offset_member(&mdefs[n], "__dictoffset__", offset)
        offset += sizeof(PyObject *)
        n += 1
    if weaklist_member:
        _offset_member(&mdefs[n], "__weaklistoffset__", offset)
        offset += sizeof(PyObject *)
    return offset


cdef inline void _offset_member(PyMemberDef *m, const char *name, Py_ssize_t offset) noexcept:
    # ``__dictoffset__``/``__weaklistoffset__``: how CPython learns those offsets from specs.
    m.name = name                       # a C static: member names are not copied
    m.type = HPS_T_PYSSIZET
    m.offset = offset
    m.flags = HPS_READONLY


cdef object _make_type(TypeDef td, module, str modname, ModuleState state, list objects):
    layout = _layout_type(td)
    if isinstance(td._base, TypeDef):
        bases = (objects[(<TypeDef>td._base)._index], layout)
    else:
        bases = (layout,)
    doc_b = PyUnicode_AsUTF8String(td._doc) if isinstance(td._doc, str) else None
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    cdef const char *fullname = _block_name(b, PyUnicode_AsUTF8String(f"{modname}.{td.name}"))
    cdef Py_ssize_t n_extra = 0
    cdef PyType_Slot *extra = <PyType_Slot *>PyMem_Malloc(
        (td._n_c_slots + 2) * sizeof(PyType_Slot))
    if extra == NULL:
        raise MemoryError()
    fallbacks = []
    cdef Py_ssize_t first = b.n_citems    # this type's trampoline entries are recorded after
    try:
        if td._n_c_methods or td._n_c_slots or td._n_c_getsets:
            n_extra = _c_members(td, b, state, modname, extra, fallbacks)
        cls = _new_heap_type(fullname, module, bases, (<PyTypeObject_ *>layout).tp_basicsize,
                             NULL, NULL, doc_b, 0, extra, n_extra)
    finally:
        PyMem_Free(extra)
    if td._n_c_methods:
        _add_c_methods(cls, b, first)
    # The members that are attributes rather than part of the spec: the C-level ones whose
    # table was full, then the Python-level ones. type.__setattr__ lets CPython install its
    # slot dispatcher for dunders.
    cdef bint fb_power = False
    for attr, value in fallbacks:
        # self must be an instance of this type, as for CPython's method descriptors and
        # the trampolines (a bound method whose object's class no longer derives from it
        # is refused on both paths).
        (<_CCallable>value)._owner = cls
        setattr(cls, attr, value)
        fb_power |= attr == "__pow__"
    cdef _MemberDef m
    for obj in td._members:
        # _MemberDefs only: an unchecked cast (a checked one, Cython's for a typed loop
        # variable, reads the module state: about 100 instructions per member)
        m = <_MemberDef>obj
        if m.kind < _MK_C_METHOD:
            setattr(cls, m.attr, _python_member(m, state, modname))
    if fb_power:
        _set_fb_power(cls)     # in place of CPython's dispatcher (see _fb_nb_power)
    if _has_py_dunders(td):
        _fast_slots(cls, b, state)
    if not td._mutable:
        _freeze(cls)
    return cls


# -- Python-level slots: each binding's own C slot (_pyslots.h) -----------------------------
# A dunder of the decorator API is a StateMethod in the type's dict, which makes CPython
# install its generic dispatcher in the slot (as for a class statement). Where every
# method a slot stands for resolves (through the MRO) to a StateMethod of one module
# instance, or to nothing (object's own, for comparisons), the slot gets a trampoline
# that calls the implementations directly, with the dispatcher's semantics. Anything else
# keeps CPython's dispatcher: a slot only ever changes from the generic function, and
# CPython itself puts that back whenever an assignment to the type changes a dunder.

cdef dict _GENERIC_SLOTS = {}       # slot id -> CPython's generic dispatcher for it
cdef size_t _GENERIC_NB_POWER = 0   # slot_nb_power (the C fallback replaces it: _set_fb_power)
cdef frozenset _PY_SLOT_DUNDERS = frozenset()   # every dunder of _PY_SLOTS
_NO_METHOD = object()
cdef dict _OBJECT_COMPARISONS = {}  # __lt__ ... __ge__ -> object's own


def _probe_generic_slots():
    """Learn CPython's dispatchers from a class statement's type (called once the slot
    table is defined, _cbindings.pxi)."""
    for name in _RICHCMP_DUNDERS:
        _OBJECT_COMPARISONS[name] = object.__dict__[name]
    ns = {"__slots__": ()}
    for slot_id, kind, dunders in _PY_SLOTS:
        for name in dunders:
            ns[name] = _probe_generic_slots
    ns["__pow__"] = _probe_generic_slots
    probe = type("hpystate_probe", (), ns)
    cdef void **p = hps_slot_ptr(<void *>probe, Py_nb_power)
    global _GENERIC_NB_POWER, _PY_SLOT_DUNDERS
    _GENERIC_NB_POWER = <size_t>p[0]
    _PY_SLOT_DUNDERS = frozenset(name for slot_id, kind, dunders in _PY_SLOTS
                                 for name in dunders)
    for slot_id, kind, dunders in _PY_SLOTS:
        p = hps_slot_ptr(<void *>probe, slot_id)
        _GENERIC_SLOTS[slot_id] = <size_t>p[0] if p != NULL else 0


cdef object _resolve(cls, str name):
    """What ``cls.name`` finds in the MRO's dicts (no descriptor call), as slots look up."""
    for t in cls.__mro__:
        v = t.__dict__.get(name, _NO_METHOD)
        if v is not _NO_METHOD:
            return v
    return _NO_METHOD


cdef object _slot_impls(cls, state, int kind, tuple dunders):
    """What a Python-level slot's trampoline calls (see _pyslots.h), or None where its
    methods are not all this module instance's StateMethods (or absent)."""
    found = []
    methods = []
    cdef bint any_impl = False
    for name in dunders:
        v = _resolve(cls, name)
        if type(v) is StateMethod and (<StateMethod>v)._state is state:
            found.append((<StateMethod>v)._impl)
            methods.append(v)
            any_impl = True
        elif kind == HPS_K_PY_BINOP and v is _NO_METHOD:
            found.append(None)
            methods.append(_NO_METHOD)
        elif kind == HPS_K_PY_RICHCMP and v is _OBJECT_COMPARISONS[name]:
            found.append(None)
        else:
            return None
    if not any_impl:
        return None
    if kind == HPS_K_PY_RICHCMP:
        whole = found[0]
        if type(whole) is _RichcmpOp and all(
                type(f) is _RichcmpOp and (<_RichcmpOp>f).impl is (<_RichcmpOp>whole).impl
                and (<_RichcmpOp>f).op == op for op, f in enumerate(found)):
            return ((<_RichcmpOp>whole).impl,)      # __richcmp__: called with the op
        return tuple(found)
    if kind == HPS_K_PY_BINOP:                      # HPS_BIN_* in _pyslots.h
        return (found[0], found[1], cls, dunders[0], dunders[1], methods[0], methods[1])
    return found[0]


cdef bint _has_py_dunders(TypeDef td) except -1:
    """Whether td or a TypeDef base of it has a Python-level member under a dunder of
    _PY_SLOTS: the types of the others have no slot _fast_slots would change (their spec
    and bases gave them C slots or inherited trampolines), so it is not run for them."""
    cdef _MemberDef m
    while True:
        for obj in td._members:
            m = <_MemberDef>obj
            if m.kind < _MK_C_METHOD and m.attr in _PY_SLOT_DUNDERS:
                return True
        if not isinstance(td._base, TypeDef):
            return False
        td = <TypeDef>td._base


cdef int _fast_slots(cls, _Block *b, state) except -1:
    """Give a new type's Python-level slots their trampolines (where the table has an
    entry to spare; else CPython's dispatcher stays, with the same behaviour)."""
    cdef void **p
    cdef int idx, kind
    cdef hps_entry *e
    cdef bint changed = False
    if not hps_py_slots_on:
        return 0
    cdef dict made = {}         # (kind, dunders) -> trampoline: __len__ fills two slots
    for slot_id, kind, dunders in _PY_SLOTS:
        p = hps_slot_ptr(<void *>cls, slot_id)
        if p == NULL or p[0] == NULL or <size_t>p[0] != <size_t>_GENERIC_SLOTS[slot_id]:
            continue
        # A binary operator shares a base's trampoline, as a Python subclass does (below):
        # a type of its own would make binary_op1 call a subclass's slot first.
        if kind == HPS_K_PY_BINOP and _inherit_slot(cls, slot_id, kind, dunders):
            changed = True
            continue
        fn = made.get((kind, dunders))
        if fn is None:
            impls = _slot_impls(cls, state, kind, dunders)
            if impls is None:
                continue
            idx = _take_entry(b, kind, <size_t><PyObject *>impls, state)
            if idx < 0:
                continue
            _block_keep(b, impls)       # what the entry's impl points at
            e = hps_entry_at(kind, idx)
            if kind == HPS_K_PY_BINOP:
                e.off = hps_nb_offset(slot_id)
            fn = <size_t>e.fn
            made[(kind, dunders)] = fn
        p[0] = <void *><size_t>fn
        changed = True
    if changed:
        PyType_Modified(<PyTypeObject_ *>cls)
    return 0


cdef bint _inherit_slot(cls, int slot_id, int kind, tuple dunders) except -1:
    """Give ``cls`` (whose slot is CPython's dispatcher) the trampoline of the first base
    that has one, where that keeps the dispatcher's behaviour: a binary operator's always
    (it looks up any type but its own, and two types that share it are dispatched as two
    class statements sharing slot_nb_add: see hps_py_binop); the others' only where
    ``cls`` changes none of the slot's methods."""
    cdef void **p = hps_slot_ptr(<void *>cls, slot_id)
    cdef void **q
    generic = <size_t>_GENERIC_SLOTS[slot_id]
    for t in cls.__mro__[1:]:
        if hps_type_module(<PyObject *>t) == NULL:
            continue
        q = hps_slot_ptr(<void *>t, slot_id)
        if q == NULL or q[0] == NULL or <size_t>q[0] == generic:
            continue
        if not hps_is_entry_fn(kind, q[0]):         # a C slot, not a trampoline
            return False
        if kind == HPS_K_PY_BINOP or all(_resolve(cls, name) is _resolve(t, name)
                                         for name in dunders):
            p[0] = q[0]
            return True
        return False
    return False


cdef int _set_fb_power(cls) except -1:
    cdef void **p = hps_slot_ptr(<void *>cls, Py_nb_power)
    p[0] = <void *>_fb_nb_power
    PyType_Modified(<PyTypeObject_ *>cls)
    return 0


cdef bint _inherit_fb_power(cls) except -1:
    """A Python subclass that changes neither __pow__ nor __rpow__ keeps its base's fallback
    nb_power (CPython gave it its dispatcher), as it would inherit a trampoline."""
    cdef void **p = hps_slot_ptr(<void *>cls, Py_nb_power)
    cdef void **q
    if p == NULL or <size_t>p[0] != _GENERIC_NB_POWER:
        return False
    for t in cls.__mro__[1:]:
        q = hps_slot_ptr(<void *>t, Py_nb_power)
        if q == NULL or q[0] == NULL or <size_t>q[0] == _GENERIC_NB_POWER:
            continue
        if q[0] == <void *>_fb_nb_power and all(_resolve(cls, name) is _resolve(t, name)
                                                 for name in ("__pow__", "__rpow__")):
            p[0] = q[0]
            return True
        return False
    return False


cdef int _inherit_fast_slots(cls) except -1:
    """A Python subclass gets its base's trampolines (_inherit_slot), as it would inherit
    a C type's slots (CPython gave it its dispatchers, since the methods are not wrapper
    descriptors)."""
    cdef void **p
    cdef bint changed = _inherit_fb_power(cls)
    for slot_id, kind, dunders in _PY_SLOTS:
        p = hps_slot_ptr(<void *>cls, slot_id)
        if p != NULL and p[0] != NULL and <size_t>p[0] == <size_t>_GENERIC_SLOTS[slot_id]:
            changed |= _inherit_slot(cls, slot_id, kind, dunders)
    if changed:
        PyType_Modified(<PyTypeObject_ *>cls)
    return 0


def _slot_state(cls, str dunder):
    """Testing hook: the state that the trampoline in the slot for ``dunder`` delivers
    (found among the entries of the module instances of ``cls``'s MRO), or None where the
    slot holds something else (CPython's dispatcher, a C slot)."""
    cdef void **p
    cdef _Block *b
    cdef hps_entry *e
    cdef PyObject *m
    cdef int kind
    slot_id = next((sid for sid, k, names in _PY_SLOTS if dunder in names), None)
    if slot_id is None:
        raise ValueError(f"{dunder!r} is not a method of a Python-level slot")
    p = hps_slot_ptr(<void *>cls, slot_id)
    if p == NULL or p[0] == NULL:
        return None
    for t in cls.__mro__:
        m = hps_type_module(<PyObject *>t)
        if m == NULL or not PyModule_Check(<object>m):
            continue
        b = <_Block *>PyModule_GetState(m)
        if b == NULL:
            continue
        for j in range(b.n_citems):
            kind = b.citems[j].kind
            if kind >= 0 and kind in _PY_KINDS.values():
                e = hps_entry_at(kind, b.citems[j].index)
                if e.fn == p[0]:
                    return <object>e.state
    return None


cdef const char *_block_name(_Block *b, bytes name) except NULL:
    """A copy of ``name`` owned by the module instance: tp_name points into the spec's name
    on 3.10, and the instance outlives its types (each holds it)."""
    cdef Py_ssize_t n = len(name)
    cdef char *copy = <char *>_block_alloc(b, n + 1)
    memcpy(copy, <char *>name, n)
    return copy


cdef Py_ssize_t _c_members(TypeDef td, _Block *b, state, str modname, PyType_Slot *extra,
                           list fallbacks) except -1:
    """Prepare a per-instance type's C-level members, in one pass over the members: the
    trampoline slots into ``extra`` (returns how many, with the getset array owned by the
    module instance), the trampoline methods' entries (installed once the type exists,
    ``_add_c_methods``), and into ``fallbacks`` the descriptors to install where a
    trampoline table is exhausted."""
    cdef PyGetSetDef *gdefs = NULL
    cdef Py_ssize_t n = 0, ng = 0
    cdef _MemberDef m
    if td._n_c_getsets:
        gdefs = <PyGetSetDef *>_block_alloc(b, (td._n_c_getsets + 1) * sizeof(PyGetSetDef))
    for obj in td._members:
        m = <_MemberDef>obj
        if m.kind == _MK_C_METHOD:
            _c_method_entry(m.c, b, state, modname, td.name, fallbacks)
        elif m.kind == _MK_C_SLOT:
            n += _c_slot_entry(&extra[n], m.c, b, state, modname, td.name, fallbacks)
        elif m.kind == _MK_C_GETSET:
            _c_getset_entry(&gdefs[ng], m.c, b, state)
            ng += 1
    if ng:
        extra[n].slot = Py_tp_getset
        extra[n].pfunc = gdefs
        n += 1
    return n


cdef int _c_method_entry(_CImpl c, _Block *b, state, str modname, str tdname,
                         list fallbacks) except -1:
    """A C method's trampoline entry (recorded in the block), its static PyMethodDef
    filled; or a CMethod in ``fallbacks`` when its kind's trampoline table is full."""
    cdef int idx = _take_entry(b, c.kind, c.impl, state)
    if idx < 0:
        fallbacks.append((c.name, _make_ccallable(
            CMethod, c.impl, c.mode, 0, state, c.name, f"{tdname}.{c.name}", modname, c.doc,
            c.text_sig)))
        return 0
    _fill_method_def(hps_method_def_at(c.kind, idx), c, hps_function_at(c.kind, idx))
    return 0


cdef int _add_c_methods(cls, _Block *b, Py_ssize_t first) except -1:
    """The descriptors of the trampoline methods whose entries the block recorded from
    ``first`` on, over the static PyMethodDefs (which a bound method may outlive the type
    with, _trampolines.h): the entries learn their type, whose instances alone their
    trampolines serve without a check. As attributes, dunders also set their slots, as on
    the fallback path, so both dispatch ``a - b`` alike."""
    cdef Py_ssize_t j
    cdef size_t n
    cdef int kind, idx
    cdef const char *name
    cdef dict d = <dict>(<PyTypeObject_ *>cls).tp_dict
    for j in range(first, b.n_citems):
        kind = b.citems[j].kind
        if kind < 0 or kind >= HPS_N_METH_KINDS:    # not a method's entry
            continue
        idx = b.citems[j].index
        hps_entry_at(kind, idx).type = <void *>cls
        descr = PyDescr_NewMethod(<PyTypeObject_ *>cls, hps_method_def_at(kind, idx))
        name = hps_method_def_at(kind, idx).ml_name
        n = strlen(name)
        if n > 4 and name[0] == c'_' and name[1] == c'_' and name[n - 1] == c'_' \
                and name[n - 2] == c'_':
            setattr(cls, <object>PyDescr_NAME(descr), descr)   # type.__setattr__ sets a slot
        else:
            d[<object>PyDescr_NAME(descr)] = descr            # as PyType_Ready adds methods
    PyType_Modified(<PyTypeObject_ *>cls)
    return 0


cdef int _c_slot_entry(PyType_Slot *ts, _CImpl c, _Block *b, state, str modname,
                       str tdname, list fallbacks) except -1:
    """A C slot's type slot (returns 1), or (0) CMethods under the slot's dunders in
    ``fallbacks`` when its kind's trampoline table is full."""
    cdef void *trampoline = _take_trampoline(b, c.kind, c.impl, state)
    if trampoline == NULL:
        for dunder, mode, variant in c.adapters:
            fallbacks.append((dunder, _make_ccallable(
                CMethod, c.impl, mode, variant, state, dunder, f"{tdname}.{dunder}", modname,
                None, _adapter_signature(dunder, mode))))
        if c.slot_id in _HIDDEN_SLOTS:  # no dunder stands in: a generic slot function
            ts.slot = c.slot_id         # finds the CMethod through the MRO
            ts.pfunc = _hidden_slot_function(c.slot_id)
            return 1
        return 0
    ts.slot = c.slot_id
    ts.pfunc = trampoline
    return 1


cdef int _c_getset_entry(PyGetSetDef *gd, _CImpl c, _Block *b, state) except -1:
    """A C getter/setter's PyGetSetDef, with a closure holding its state (released by the
    module instance)."""
    cdef _GetSetClosure *cl = <_GetSetClosure *>_block_alloc(b, sizeof(_GetSetClosure))
    b.citems[b.n_citems - 1].kind = _CITEM_GETSET
    cl.get = <void *>c.impl
    cl.set = <void *>c.setter
    cl.state = <PyObject *>state
    Py_INCREF(state)
    gd.name = c.name_b
    gd.get = <void *>_gs_get
    gd.set = <void *>_gs_set if c.setter else NULL
    if c.doc_b is not None:
        gd.doc = c.doc_b
    gd.closure = cl
    return 0


cdef object _python_member(_MemberDef m, state, str modname):
    """What a Python-level member becomes on one instance's type: a binding of ``state``
    for the state-receiving markers, the value itself for the rest."""
    cdef int kind = m.kind
    if kind == _MK_VALUE:
        return m.value
    cdef _BindingNames names = _names_in(m.names, modname)
    if kind == _MK_METHOD:
        return _make_callable(StateMethod, m.impl, state, names)
    if kind == _MK_PROPERTY:
        return _make_property(m.value, state, names)
    if kind == _MK_CLASSMETHOD:
        return _builtins.classmethod(_make_callable(StateMethod, m.impl, state, names))
    return _builtins.staticmethod(_make_callable(        # _MK_STATICMETHOD
        StateFunction, m.impl, state, names))


cdef StateProperty _make_property(m, state, _BindingNames names):
    cdef StateProperty p = StateProperty.__new__(StateProperty)
    p._fget = m.impl
    p._fset = m.fset
    p._fdel = m.fdel
    _init_binding(p, state, names)
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
        raise TypeError(f"{_safe_repr(obj)} is not a module instance or type created by hpystate")
    return _block_state(b, module)


cdef object _block_state(_Block *b, module):
    """The state a module instance's block holds; RuntimeError if it has none (yet)."""
    if b.state == NULL:
        raise RuntimeError(f"module {module.__name__!r} is not initialised (or was cleared)")
    return <object>b.state
