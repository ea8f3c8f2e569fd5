# Included by _core.pyx (textually: one module, one namespace).
# 3. Instances: the PyModuleDef callbacks, initialising an instance, and the types and
#    exceptions every instance creates (PyType_FromModuleAndSpec over a shared layout).

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
    td._fields = tuple(fields)
    td._add_dict = add_dict
    td._mutable = mutable
    td._doc = ns.get("__doc__")
    td._members = members
    td._spec_names = {}
    td._field_names_b = [f.encode() for f in fields]
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
    cdef Py_ssize_t nfields = len(td._fields)
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
            mdefs[i].name = <bytes>td._field_names_b[i]
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
    layout.__slots__ = td._fields
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
    cdef int kind, mode
    cdef void *trampoline
    cdef PyMethodDef *mdefs = NULL
    cdef PyGetSetDef *gdefs = NULL
    cdef _GetSetClosure *c
    if nm:
        mdefs = <PyMethodDef *>PyMem_Malloc((nm + 1) * sizeof(PyMethodDef))
        if mdefs == NULL:
            raise MemoryError()
        memset(mdefs, 0, (nm + 1) * sizeof(PyMethodDef))
        _block_add(b, _CITEM_MEMORY, 0, mdefs)
        k = 0
        for name_b, impl, flags, doc_b in td._c_methods:
            kind, mode, _ = _METH_KINDS[flags]
            name = name_b.decode()
            trampoline = _take_trampoline(b, kind, impl, state)
            if trampoline == NULL:
                fallbacks.append((name, _make_ccallable(
                    CMethod, impl, mode, 0, state, name, qual_prefix + name, modname,
                    doc_b.decode() if doc_b is not None else None)))
                continue
            mdefs[k].ml_name = <bytes>name_b
            mdefs[k].ml_meth = trampoline
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
        trampoline = _take_trampoline(b, kind, impl, state)
        if trampoline == NULL:
            for dunder, mode, variant in adapters:
                fallbacks.append((dunder, _make_ccallable(
                    CMethod, impl, mode, variant, state, dunder, qual_prefix + dunder,
                    modname, None)))
            continue
        extra[n].slot = slot_id
        extra[n].pfunc = trampoline
        n += 1
    if ng:
        gdefs = <PyGetSetDef *>PyMem_Malloc((ng + 1) * sizeof(PyGetSetDef))
        if gdefs == NULL:
            raise MemoryError()
        memset(gdefs, 0, (ng + 1) * sizeof(PyGetSetDef))
        _block_add(b, _CITEM_MEMORY, 0, gdefs)
        for k in range(ng):
            name_b, get, set_, doc_b = td._c_getsets[k]
            _block_add(b, _CITEM_RESERVED, 0, NULL)     # room first: never leak the closure
            c = <_GetSetClosure *>PyMem_Malloc(sizeof(_GetSetClosure))
            if c == NULL:
                raise MemoryError()
            c.get = <void *><size_t>get
            c.set = <void *><size_t>set_
            c.state = <PyObject *>state
            Py_INCREF(state)
            b.citems[b.n_citems - 1].kind = _CITEM_GETSET
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
