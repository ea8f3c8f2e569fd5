# Included by _core.pyx (textually: one module, one namespace).
# 2. Definitions: the class-body markers (method, slot, getter, ...), the handles
#    (TypeDef, ExceptionDef, FunctionDef) and ModuleDef, which collects them.

cdef inline int _check_self(self, type cls, str meth) except -1:
    # A ``def`` method of a cdef class called through the class (``TypeDef.of(x, y)``)
    # gets whatever ``x`` is, unchecked, as self: what a method descriptor would refuse.
    if not isinstance(self, cls):
        raise TypeError(f"descriptor {meth!r} for {cls.__name__!r} objects doesn't apply "
                        f"to a {type(self).__name__!r} object")
    return 0


def _safe_repr(obj):
    """``repr(obj)`` for an error message: a repr that raises must not replace the error."""
    try:
        return repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__} object at {id(obj):#x}>"


def _describe(obj):
    try:
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else _safe_repr(obj)


def _check_runs_to_completion(impl, str what):
    """Hooks hpystate calls for their effect must be plain functions: the coroutine or
    generator an ``async def`` or generator function returns would never run."""
    if _inspect.iscoroutinefunction(impl) or _inspect.isgeneratorfunction(impl) or \
            _inspect.isasyncgenfunction(impl):
        raise TypeError(f"{what} {_describe(impl)} is an async or generator function: "
                        "hpystate calls it once and does not await or iterate it")


def _check_callable(impl, what):
    if not callable(impl):
        raise TypeError(f"{what} must be callable, not {type(impl).__name__} ({_safe_repr(impl)})")


def _check_params(impl, params, what, exact=True):
    """Check at definition time that ``impl`` accepts ``params`` positional arguments
    (``exact``) or at least accepts them as its leading positional parameters."""
    try:
        sig = _inspect.signature(impl)
    except (TypeError, ValueError):
        return                      # not introspectable (some builtins): cannot check
    names = list(sig.parameters)
    # A member written as a plain method: (self, ...) where (state, self, ...) belongs. Only
    # for members taking self/cls second (a state class's own method used as a module
    # function or exec hook rightly calls its state self).
    if len(params) > 1 and params[0] == "state" and params[1] in ("self", "cls") and \
            names and names[0] == params[1] and names[1:2] != [params[1]]:
        raise TypeError(f"{what} {_describe(impl)}{sig}: the first parameter is the module "
                        f"state, then {params[1]}: "
                        f"write ({', '.join(params)}{'' if exact else ', ...'})")
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
        raise ValueError(f"{what} must be a valid Python identifier, not {_safe_repr(name)}")


# The Python-level names of type slots (_DUNDERS, _VARIADIC_DUNDERS, _SLOT_NAMES,
# _AMBIGUOUS_SLOTS) and the cimport API's _C_SLOTS come from tools/slot_table.py, through
# the generated _slot_table.pxi (included in section 6, after the fallback modes).


# tp_richcompare as one implementation with the comparison op (Cython's __richcmp__, one of
# the slot table's _WHOLE_SLOTS); _RICHCMP_DUNDERS, the six comparison dunders in op order,
# follows _slot_table.pxi.
_RICHCMP = "__richcmp__"


def _resolve_slot_name(name):
    """Map a dunder or C slot name to the dunder hpystate installs; ValueError if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"slot name must be a str, not {type(name).__name__}")
    if name in _DUNDERS or name in _WHOLE_SLOTS:
        return name
    if name in _SLOT_NAMES:
        return _SLOT_NAMES[name]
    if name in _AMBIGUOUS_SLOTS:
        raise ValueError(f"slot {_safe_repr(name)} stands for several Python methods; decorate each "
                         f"of {_AMBIGUOUS_SLOTS[name]} with @hpystate.slot instead")
    close = _difflib.get_close_matches(name, list(_DUNDERS) + list(_SLOT_NAMES), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"unknown slot {_safe_repr(name)}{hint}")


class _Member:
    """A class-body marker made by one of hpystate's decorators; consumed by ``@mod.type``."""
    kind = "member"
    _class = None                       # the class statement's class, once known
    _claimed = False

    def __set_name__(self, owner, name):
        self._class = owner

    def __get__(self, instance, owner):
        raise TypeError(self._unclaimed_message())

    def __call__(self, *args, **kwargs):
        raise TypeError(self._unclaimed_message())

    def _aliases_of(self, td):
        """Other names this marker is bound to in ``td``'s class body (see inplace)."""
        return ()

    def _unclaimed_message(self):
        where = f"class {self._class.__qualname__}" if self._class is not None else "its class"
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
        since = _DUNDERS_SINCE.get(dunder)
        if since is not None and _sys.version_info < since:
            raise TypeError(f"slot {dunder} needs Python {since[0]}.{since[1]} or newer: "
                            f"CPython {_sys.version_info[0]}.{_sys.version_info[1]} does not "
                            f"call it (PEP 688); implement the C slot with the cimport API "
                            f"instead")
        params = ("state",) + _DUNDERS[dunder]
        exact = dunder not in _VARIADIC_DUNDERS
        _check_params(impl, params, f"slot {dunder}", exact=exact)
        _check_no_class_cell(impl, f"slot {dunder}")
        self.impl = impl
        self.dunder = dunder


class _RichcmpMember(_Member):
    """``@hpystate.slot`` on ``__richcmp__(state, self, other, op)`` (or
    ``@hpystate.slot("tp_richcompare")``): one implementation for the six comparisons, with
    ``op`` one of ``Py_LT`` (0) ... ``Py_GE`` (5), as in Cython."""
    kind = "slot"
    dunder = _RICHCMP

    def __init__(self, impl):
        _check_callable(impl, "@hpystate.slot implementation")
        _check_params(impl, ("state",) + _WHOLE_SLOTS[_RICHCMP][1], "slot __richcmp__")
        _check_no_class_cell(impl, "slot __richcmp__")
        self.impl = impl


@cython.final
@cython.auto_pickle(False)
cdef class _RichcmpOp:
    """One comparison dunder of a ``__richcmp__`` implementation: adds its op."""
    cdef object impl
    cdef int op

    def __call__(self, state, obj, other):
        return self.impl(state, obj, other, self.op)

    @property
    def __signature__(self):
        P = _inspect.Parameter
        return _inspect.Signature([P(n, P.POSITIONAL_OR_KEYWORD)
                                   for n in ("state", "self", "other")])


cdef _RichcmpOp _richcmp_op(impl, int op):
    cdef _RichcmpOp f = _RichcmpOp.__new__(_RichcmpOp)
    f.impl = impl
    f.op = op
    return f


class _PropertyMember(_Member):
    kind = "getter"

    def __init__(self, fget, fset=None, fdel=None):
        _check_callable(fget, "@hpystate.getter implementation")
        _check_params(fget, ("state", "self"), "getter")
        _check_no_class_cell(fget, "getter")
        self.impl = fget
        self.fset = fset
        self.fdel = fdel

    _aliases = frozenset()      # names of inplace setters/deleters: the same member again

    def setter(self, fset):
        """Decorator: a copy with setter ``fset(state, self, value)``, as ``property.setter``
        (so the setter function must have the property's name)."""
        _check_setter(fset)
        return _PropertyMember(self.impl, fset, self.fdel)

    def deleter(self, fdel):
        """Decorator: a copy with deleter ``fdel(state, self)``, as ``property.deleter``."""
        _check_deleter(fdel)
        return _PropertyMember(self.impl, self.fset, fdel)

    def _aliases_of(self, td):
        if not self._aliases:
            return ()
        for m in (<TypeDef>td)._members:
            if (<_MemberDef>m).value is self:
                return self._aliases
        return ()              # not registered yet under its own name: no alias to skip

    @_builtins.property
    def inplace(self):
        """``@x.inplace.setter`` / ``@x.inplace.deleter``: add to this property itself, so the
        function may have another name (type checkers refuse redefining ``x``)."""
        return _InplaceProperty(self)


class _InplaceProperty:
    """What ``@x.inplace`` gives: setter/deleter decorators that complete ``x`` itself."""
    __slots__ = ("_prop",)

    def __init__(self, prop):
        self._prop = prop

    def setter(self, fset):
        """Decorator: make ``fset(state, self, value)`` this property's setter."""
        _check_setter(fset)
        return self._add("fset", fset)

    def deleter(self, fdel):
        """Decorator: make ``fdel(state, self)`` this property's deleter."""
        _check_deleter(fdel)
        return self._add("fdel", fdel)

    def _add(self, what, impl):
        prop = self._prop
        if prop._claimed:
            raise TypeError(f"property {_describe(prop.impl)} is already registered; an "
                            f"inplace {what[1:]}ter must be in the same class body")
        setattr(prop, what, impl)
        name = getattr(impl, "__name__", None)
        if isinstance(name, str) and name != getattr(prop.impl, "__name__", None):
            prop._aliases = prop._aliases | {name}
        return prop


def _check_setter(fset):
    _check_callable(fset, "setter implementation")
    _check_params(fset, ("state", "self", "value"), "setter")
    _check_no_class_cell(fset, "setter")


def _check_deleter(fdel):
    _check_callable(fdel, "deleter implementation")
    _check_params(fdel, ("state", "self"), "deleter")
    _check_no_class_cell(fdel, "deleter")


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
        return _slot_member(impl, _resolve_slot_name(getattr(impl, "__name__", None)))
    dunder = _resolve_slot_name(name_or_impl)

    def decorate(impl):
        _check_in_class_body("slot", impl)
        return _slot_member(impl, dunder)
    return decorate


def _slot_member(impl, dunder):
    return _RichcmpMember(impl) if dunder == _RICHCMP else _SlotMember(impl, dunder)


# Names a class statement puts in the namespace by itself.
_CLASS_MACHINERY = frozenset({
    "__module__", "__qualname__", "__doc__", "__slots__", "__dict__", "__weakref__",
    "__orig_bases__", "__firstlineno__", "__static_attributes__", "__annotations__",
    "__annotate__", "__annotate_func__", "__annotations_cache__", "__classdictcell__",
    "__pyx_vtable__",
})


def _parse_type(ModuleDef moddef, cls, str name, base, bint mutable):
    """The TypeDef for class statement ``cls``: its base, fields and members, checked."""
    _check_identifier(name, "type name")
    ns = cls.__dict__
    base = _parse_base(moddef, cls, name, base)
    fields, add_dict = _parse_fields(ns.get("__slots__", None), name, base, cls.__name__)
    cdef TypeDef td = TypeDef.__new__(TypeDef)
    td.moddef = moddef
    td.name = name
    td._base = base
    td._fields = tuple(fields)
    td._add_dict = add_dict
    td._mutable = mutable
    td._doc = ns.get("__doc__")
    td._claims = {}
    _claim(td, fields, "__slots__ field")
    td._members = []
    _parse_members(td, ns)
    td._field_names_b = [f.encode() for f in fields]
    return td


def _parse_base(ModuleDef moddef, cls, str name, base):
    """The single base: a TypeDef of the same definition, a subclassable type, or None."""
    orig_bases = cls.__dict__.get("__orig_bases__", ())
    declared = [b for b in orig_bases if isinstance(b, _Handle)] + \
               [b for b in cls.__bases__ if b is not object]
    if base is not None:
        declared.insert(0, base)
    if len(declared) > 1:
        raise TypeError(f"type {name!r}: hpystate types take a single base, got {_safe_repr(declared)}")
    base = declared[0] if declared else None
    if isinstance(base, _Handle):
        if not isinstance(base, TypeDef):
            raise TypeError(f"type {name!r}: base {_safe_repr(base)} is not a type definition")
        if (<TypeDef>base).moddef is not moddef:
            raise ValueError(f"type {name!r}: base {_safe_repr(base)} belongs to another ModuleDef; "
                             "bases from a definition must be of the same definition")
    elif base is not None:
        if not isinstance(base, type):
            raise TypeError(f"type {name!r}: base must be a type or a TypeDef, not {_safe_repr(base)}")
        if not ((<PyTypeObject_ *>base).tp_flags & Py_TPFLAGS_BASETYPE):
            raise TypeError(f"type {name!r}: base {base.__qualname__!r} does not allow "
                            "subclassing")
    return base


def _parse_fields(slots, str name, base, str clsname):
    """(fields, whether instances get a __dict__) from the class's ``__slots__``, private
    names mangled as the class statement (and its methods' ``self.__x``) mangle them."""
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
        if s.startswith("__") and not s.endswith("__") and clsname.lstrip("_"):
            s = f"_{clsname.lstrip('_')}{s}"
        if s in fields:
            raise ValueError(f"type {name!r}: duplicate __slots__ entry {s!r}")
        fields.append(s)
    if isinstance(base, type) and fields and base.__itemsize__:
        raise TypeError(f"type {name!r}: nonempty __slots__ not supported for a subtype of "
                        f"{base.__qualname__!r}")
    return fields, add_dict


def _parse_members(TypeDef td, ns):
    """Register a class body's members on ``td``: state-receiving markers (claimed, so no
    other type takes them) and constants; plain functions are refused."""
    cdef str name = td.name
    for attr, value in ns.items():
        if attr in _CLASS_MACHINERY:
            continue
        if attr in td._fields and isinstance(value, _types.MemberDescriptorType):
            continue                    # made by the class statement from __slots__
        if isinstance(value, _Member):
            if attr in value._aliases_of(td):
                continue                # @x.inplace.setter's name: x itself, seen again
            if value._claimed:
                raise ValueError(f"type {name!r}: {attr!r} is already registered on another "
                                 "type")
            _add_python_member(td, attr, value)
        elif attr in _DUNDERS and (callable(value) or value is None):
            if value is None and attr == "__hash__":
                # A class statement sets __hash__ = None itself where the body defines
                # __eq__ and no __hash__: that one is implicit (a C tp_hash replaces it).
                what = _IMPLICIT_HASH if "__eq__" in ns else "__hash__ = None"
                if td._claims.get(attr) != _IMPLICIT_HASH:
                    _add_member(td, attr, _MK_VALUE, None, None, (attr,), what)
                continue
            raise TypeError(f"type {name!r}: {attr} must be decorated with @hpystate.slot "
                            "(its implementation receives the state first)")
        elif isinstance(value, (_types.FunctionType, _builtins.classmethod, property)) or \
                type(value).__name__ == "cython_function_or_method":
            raise TypeError(f"type {name!r}: {attr!r} is a plain {type(value).__name__}; "
                            "decorate it with @hpystate.method, @hpystate.classmethod or "
                            "@hpystate.getter so it receives the module state")
        else:                           # constants, staticmethods, nested classes
            _add_member(td, attr, _MK_VALUE, value, None, (attr,), f"class attribute {attr!r}")
    cdef _MemberDef m
    for m in td._members:
        if isinstance(m.value, _Member):
            (<object>m.value)._claimed = True


cdef int _add_python_member(TypeDef td, str attr, value) except -1:
    """A class-body marker as a member: its kind is decided here, once per definition."""
    if isinstance(value, _SlotMember):
        key = value.dunder
        kind = _MK_STATICMETHOD if key == "__new__" else _MK_METHOD
        return _add_member(td, key, kind, value, None, (key,), f"Python-level slot {key!r}")
    if isinstance(value, _RichcmpMember):      # one member per comparison dunder
        value._claimed = True
        for op, key in enumerate(_RICHCMP_DUNDERS):
            op_member = _SlotMember.__new__(_SlotMember)
            op_member.impl, op_member.dunder = _richcmp_op(value.impl, op), key
            _add_member(td, key, _MK_METHOD, op_member, None, (key,),
                        "Python-level slot '__richcmp__'")
        return 0
    if isinstance(value, _PropertyMember):
        kind = _MK_PROPERTY
    elif isinstance(value, _ClassMethodMember):
        kind = _MK_CLASSMETHOD
    elif isinstance(value, _StaticMethodMember):
        kind = _MK_STATICMETHOD
    else:
        kind = _MK_METHOD
    return _add_member(td, attr, kind, value, None, (attr,), f"Python-level member {attr!r}")


cdef enum _MemberKind:      # what a TypeDef member becomes on each instance's type
    _MK_VALUE               # the class attribute itself (constants, nested classes, None)
    _MK_METHOD              # a StateMethod over impl(state, self, ...)
    _MK_CLASSMETHOD         # classmethod(StateMethod) over impl(state, cls, ...)
    _MK_STATICMETHOD        # staticmethod(StateFunction); also a Python-level __new__
    _MK_PROPERTY            # a StateProperty
    _MK_C_METHOD            # C-level from here on: part of the type spec (a trampoline)
    _MK_C_SLOT              # where one is free, else a CMethod attribute (the fallback)
    _MK_C_GETSET


@cython.final
@cython.auto_pickle(False)
cdef class _BindingNames:
    """The names a binding (_bindings.pxi) reports. Kept once per definition and shared by
    every instance's binding of it: a binding's own fields are its state and impl."""
    cdef str name
    cdef str qualname
    cdef str modname
    cdef object signature       # StateFunction/StateMethod: __signature__ (None: not yet)


cdef _BindingNames _binding_names(str name, str qualname, str modname):
    cdef _BindingNames n = _BindingNames.__new__(_BindingNames)
    n.name = name
    n.qualname = qualname
    n.modname = modname
    return n


cdef inline _BindingNames _names_in(_BindingNames shared, str modname):
    """The definition's names for an instance named ``modname``: shared unless the module
    instance's name differs from the definition's (a spec of another name)."""
    if shared.modname == modname:
        return shared
    return _binding_names(shared.name, shared.qualname, modname)


@cython.final
@cython.auto_pickle(False)
cdef class _MemberDef:
    """One member of a TypeDef, Python-level or C-level: every kind is registered,
    conflict-checked (_claim) and installed (_make_type) as one of these."""
    cdef str attr               # the attribute it sets (a C slot: the slot's C name)
    cdef int kind               # _MemberKind
    cdef object value           # Python-level: the class-body marker, or the value itself
    cdef _CImpl c               # C-level: the implementation
    cdef _BindingNames names    # Python-level bindings (not _MK_VALUE): what they report
    cdef object impl            # the marker's implementation, read when registered


# Claimed by the __hash__ = None a class statement implies for a type defining __eq__ but
# not __hash__; any member that defines __hash__ replaces it.
_IMPLICIT_HASH = "implicit __hash__ = None"


cdef int _add_member(TypeDef td, str attr, int kind, value, _CImpl c, names,
                     str what) except -1:
    """Register a member that sets attributes (or slot dunders) ``names``; the one path
    for every kind, so one conflict check covers them all."""
    if "__hash__" in names and td._claims.get("__hash__") == _IMPLICIT_HASH:
        del td._claims["__hash__"]
        td._members = [m for m in td._members if (<_MemberDef>m).attr != "__hash__"]
    _claim(td, names, what)
    cdef _MemberDef m = _MemberDef.__new__(_MemberDef)
    m.attr = attr
    m.kind = kind
    m.value = value
    m.c = c
    if _MK_VALUE < kind < _MK_C_METHOD:
        m.names = _binding_names(attr, f"{td.name}.{attr}", td.moddef.name)
        m.impl = value.impl
    if kind >= _MK_C_METHOD:
        # Refers to strings and a _CImpl only: no cycle to find, nothing for the collector
        # to traverse at every collection.
        PyObject_GC_UnTrack(<PyObject *>m)
    td._members.append(m)
    if kind == _MK_C_METHOD:
        td._n_c_methods += 1
    elif kind == _MK_C_SLOT:
        td._n_c_slots += 1
    elif kind == _MK_C_GETSET:
        td._n_c_getsets += 1
    if "__eq__" in names and "__hash__" not in td._claims:
        # As for a class statement, and the same on both dispatch paths: a type from a
        # spec with tp_richcompare but no tp_hash is unhashable too.
        _add_member(td, "__hash__", _MK_VALUE, None, None, ("__hash__",), _IMPLICIT_HASH)
    return 0


cdef int _claim(TypeDef td, names, str member) except -1:
    """Record that ``member`` (a description) defines attributes ``names`` of the type. The
    one conflict check for every kind of member, Python-level or C-level, fields included:
    two members that would set one attribute (or one slot) are refused when defined."""
    for n in names:
        other = td._claims.get(n)
        if other is not None:
            raise ValueError(_conflict(td.name, n, member, other))
    for n in names:
        td._claims[n] = member
    return 0


def _conflict(str tname, str attr, str member, str other):
    if member.startswith("Python-level slot") and other.startswith("Python-level slot"):
        via = "" if member == other else f" ({other[13:]} and {member[13:]})"
        return f"type {tname!r}: two implementations of slot {attr!r}{via}"
    if member == other:
        return f"type {tname!r}: {member} is already implemented"
    if other == "__slots__ field" or member == "__slots__ field":
        return f"type {tname!r}: {attr!r} is both a __slots__ field and a member"
    if member.startswith("C slot") and other.startswith("Python-level"):
        return f"type {tname!r}: {member} conflicts with Python-level {attr}"
    return f"type {tname!r}: duplicate member name {attr!r}: {member} and {other} both set it"


cdef class _Handle:
    """A definition-time handle for a type or exception of a ModuleDef; ``of(x)`` gives the
    object a given module instance created for it."""

    def of(self, owner):
        """The per-instance object for ``owner``: a module instance made from this
        definition, or its state object."""
        _check_self(self, _Handle, "of")
        module = (<ModuleState>owner)._module if isinstance(owner, ModuleState) else owner
        cdef _Block *b = _block_of(module, self.moddef)
        if b == NULL or b.objects == NULL:
            raise TypeError(f"{_safe_repr(owner)} is not a module instance of "
                            f"{self.moddef.name!r} or its state")
        objects = <list>b.objects
        if self._index >= len(objects):
            raise RuntimeError(f"{self.name} of module {module.__name__!r} does not exist yet: "
                               "an instance creates its types and exceptions after the state's "
                               "__init__, in definition order (use it in an exec hook)")
        return objects[self._index]

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.name} is the definition of {self._kind(True)} of module "
                        f"{self.moddef.name!r}, not the {self._kind()} itself: call this "
                        f"instance's, {self.name}.of(state)(...) (type_of/exception_of from "
                        "cdef code)")

    def __instancecheck__(self, obj):
        raise TypeError(f"isinstance() needs this instance's {self._kind()}: "
                        f"isinstance(obj, {self.name}.of(state)); {self.name} is its "
                        "definition, shared by every module instance")

    def __subclasscheck__(self, cls):
        raise TypeError(f"issubclass() needs this instance's {self._kind()}: "
                        f"issubclass(cls, {self.name}.of(state))")

    def __class_getitem__(cls, item):
        """``TypeDef[Box]``, ``ExceptionDef[ValueError]`` in annotations (hpystate/_core.pyi)."""
        return _types.GenericAlias(cls, item)

    def _kind(self, article=False):
        if isinstance(self, ExceptionDef):
            return "an exception" if article else "exception"
        return "a type" if article else "type"

    def __mro_entries__(self, bases):
        _check_self(self, _Handle, "__mro_entries__")
        # ``class Sub(Box)`` inside a module definition: the base is recorded through
        # __orig_bases__ and resolved per module instance by ``@mod.type``.
        if isinstance(self, ExceptionDef):
            raise TypeError(f"cannot subclass exception definition {self.name!r} in a class "
                            f"statement; use {self.moddef.name}.exception(..., base=...)")
        return ()


def type_of(handle, owner):
    """``handle.of(owner)`` for a TypeDef: the type that module instance (or state) has for
    it. The spelling for typed code: type checkers see ``@mod.type``'s class as a class,
    and ``type_of(Box, state)`` as ``type[Box]``."""
    if not isinstance(handle, TypeDef):
        raise TypeError(f"type_of() takes a type definition (what @<ModuleDef>.type returns), "
                        f"not {_safe_repr(handle)}")
    return (<TypeDef>handle).of(owner)


@cython.final
cdef class TypeDef(_Handle):
    """Handle returned by ``@mod.type``: ``Box.of(state)`` is that module instance's type."""

    def __repr__(self):
        return f"<hpystate TypeDef {self.moddef.name}.{self.name}>"


@cython.final
cdef class ExceptionDef(_Handle):
    """Handle returned by ``mod.exception()``: ``Error.of(state)`` is that module instance's
    exception class."""

    def __repr__(self):
        return f"<hpystate ExceptionDef {self.moddef.name}.{self.name}>"


# Not tracked by the collector: it refers to strings and a tuple of strings and ints only.
@cython.final
@cython.no_gc
@cython.auto_pickle(False)
cdef class _CImpl:
    """A C implementation of the cimport API (function, method, slot or getset): what its
    PyMethodDef, type slot or PyGetSetDef needs (the strings live as long as the
    definition) and how the fallback calls it, decided once at registration."""
    cdef str name
    cdef size_t impl            # the C function (a getset: the getter)
    cdef size_t setter          # a getset's setter, or 0
    cdef int flags              # functions and methods: METH_*
    cdef bint dunder            # methods: named like a slot dunder (so it sets the slot)
    cdef int kind               # functions, methods, slots: the trampoline kind (HPS_K_*)
    cdef int mode               # functions and methods: the fallback's mode (M_*) for the flags
    cdef int slot_id            # slots: the type slot id (Py_nb_add, ...)
    cdef tuple adapters         # slots: the fallback's ((dunder, mode S_*, variant), ...)
    cdef str doc                # functions and methods: without the signature line
    cdef str text_sig           # functions and methods: "($module, n, /)" (CPython's form)
    cdef bytes name_b
    cdef bytes doc_b


cdef _CImpl _c_impl(str name, void *impl, str doc):
    cdef _CImpl c = _CImpl.__new__(_CImpl)
    c.name = name
    c.impl = <size_t>impl
    c.doc = doc
    c.name_b = name.encode()
    c.doc_b = _opt_bytes(doc)
    return c


cdef _CImpl _c_callable_impl(str name, void *impl, int flags, str doc, bint method):
    """A C function (``method`` False) or method with METH_* ``flags``."""
    cdef _CImpl c = _c_impl(name, impl, doc)
    method_kind, c.mode, function_kind = _METH_KINDS[flags]
    c.flags = flags
    c.kind = method_kind if method else function_kind
    c.dunder = method and name in _DUNDERS
    c.text_sig, c.doc = _text_signature(name, doc, flags, method)
    # CPython's convention: ml_doc "name(sig)\n--\n\n" gives __text_signature__ (and
    # inspect.signature) on builtin functions and method descriptors.
    c.doc_b = f"{name}{c.text_sig}\n--\n\n{c.doc or ''}".encode()
    return c


# Parameters of a C function or method by calling convention, when its docstring does not
# begin with its own signature line.
_DEFAULT_PARAMS = {METH_NOARGS: "", METH_O: "arg, /", METH_FASTCALL: "/, *args",
                   METH_FASTCALL | METH_KEYWORDS: "/, *args, **kwargs"}


cdef tuple _text_signature(str name, doc, int flags, bint method):
    """(text signature, docstring without it). A docstring may begin with CPython's
    signature line, ``name(params)``, then ``--`` and an empty line; the parameters must fit
    the calling convention (METH_O: exactly one, positional). Any other docstring (an old
    style ``name() -> x`` included) is kept whole, as CPython does."""
    first = "$self" if method else "$module"
    params, body = _DEFAULT_PARAMS[flags], doc
    if isinstance(doc, str) and doc.startswith(name + "("):
        head, sep, rest = doc.partition("\n--\n\n")
        if sep and head.endswith(")") and "\n" not in head:
            params, body = head[len(name) + 1:-1].strip(), rest or None
            params = _check_c_params(name, _without_bound(params, method), flags, method)
    return f"({first}, {params})" if params else f"({first})", body


cdef str _without_bound(str params, bint method):
    """CPython's own form names the bound first parameter ``$self``/``$module``; a method's
    line may also begin with ``self``. hpystate adds it: drop it here."""
    first, comma, rest = params.partition(",")
    first = first.strip()
    if first.startswith("$") or (method and first == "self"):
        return rest.strip()
    return params


cdef str _check_c_params(str name, str params, int flags, bint method):
    what = f"C {'method' if method else 'function'} {name!r}"
    try:
        sig = _inspect._signature_fromstr(      # a placeholder first: "$..." is bound
            _inspect.Signature, None, f"($__hpystate_bound__, {params})", False) \
            if params else None
    except Exception as exc:
        raise ValueError(f"{what}: signature ({params}) is not valid: "
                         f"{exc or type(exc).__name__}") from None
    ps = list(sig.parameters.values())[1:] if sig is not None else []
    P = _inspect.Parameter
    if flags == METH_NOARGS and ps:
        raise ValueError(f"{what}: METH_NOARGS takes no arguments, not ({params})")
    if flags == METH_O:
        if len(ps) != 1 or ps[0].kind not in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD) \
                or ps[0].default is not P.empty:
            raise ValueError(f"{what}: METH_O takes exactly one positional argument, "
                             f"always given, not ({params})")
        return f"{ps[0]}, /"            # METH_O never takes it by keyword
    if flags == METH_FASTCALL and any(p.kind in (P.KEYWORD_ONLY, P.VAR_KEYWORD) for p in ps):
        raise ValueError(f"{what}: METH_FASTCALL takes no keyword arguments, not ({params}); "
                         "use METH_FASTCALL | METH_KEYWORDS")
    return params


@cython.final
cdef class FunctionDef:
    """Handle returned by ``@mod.function``: ``f.of(state)`` is that instance's function; the
    handle still works as a decorator target for documentation, never as the function."""
    cdef readonly ModuleDef moddef
    cdef readonly str name
    cdef readonly object impl   # the Python implementation, or None
    cdef _CImpl _c              # the C implementation (cimport API), or None
    cdef _BindingNames _names   # Python implementation: what its StateFunctions report

    def of(self, owner):
        """This function as a module instance made from this definition has it (``owner``:
        the module or its state): the ``StateFunction`` bound to that instance's state."""
        _check_self(self, FunctionDef, "of")
        module = (<ModuleState>owner)._module if isinstance(owner, ModuleState) else owner
        if _block_of(module, self.moddef) == NULL:
            raise TypeError(f"{_safe_repr(owner)} is not a module instance of "
                            f"{self.moddef.name!r} or its state")
        try:
            return module.__dict__[self.name]
        except KeyError:
            raise RuntimeError(f"function {self.name} of module {module.__name__!r} does not "
                               "exist yet: an instance creates its functions after its types, "
                               "before its exec hooks") from None

    def __class_getitem__(cls, item):
        """``FunctionDef[State, [int], int]`` in annotations (see hpystate/_core.pyi)."""
        return _types.GenericAlias(cls, item)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.moddef.name}.{self.name} is a function definition; call it "
                        f"on a module instance (module.{self.name}(...)) or call its "
                        "implementation with a state: .impl(state, ...)")

    def __repr__(self):
        return f"<hpystate FunctionDef {self.moddef.name}.{self.name}>"


cdef object _handle_error(_Handle h, ModuleState st):
    """The slow path of ``_handle_of`` (type_of/exception_of): raise what ``of`` raises."""
    if h is None:
        raise TypeError("type_of()/exception_of(): the handle is None")
    if st is None:
        raise TypeError(f"type_of()/exception_of() of {h.name!r}: the state is None")
    return h.of(st)


cdef _Block *_block_of(object module, ModuleDef expected) except? NULL:
    """The module's hpystate state block, or NULL if ``module`` is not an hpystate module
    instance (of ``expected``, when given)."""
    if not PyModule_Check(module):
        return NULL
    cdef PyModuleDef *d = hps_module_def(<PyObject *>module)
    if d == NULL or d.m_free != <void *>_m_free:
        return NULL
    cdef _Block *b = <_Block *>PyModule_GetState(<PyObject *>module)
    if expected is not None and (b == NULL or b.moddef != <PyObject *>expected):
        return NULL
    return b


cdef int _check_open(ModuleDef mod, str what) except -1:
    if mod._frozen:
        raise TypeError(f"cannot add {what} to ModuleDef {mod.name!r}: it is frozen since "
                        "its first module instance was created")
    return 0


# The only dunder names a definition may give module members: module __getattr__ and
# __dir__ (PEP 562). Any other __x__ would clobber what the import system and modules use.
_MODULE_DUNDERS = frozenset({"__getattr__", "__dir__"})


# ModuleDef(multiple_interpreters=...) -> Py_mod_multiple_interpreters value (CPython's
# Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED, ..._SUPPORTED, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED);
# the names are those of Cython's ``subinterpreters_compatible`` directive.
_MULTIPLE_INTERPRETERS = {"no": 0, "shared_gil": 1, "own_gil": 2}
_MULTIPLE_INTERPRETERS_NAMES = {v: k for k, v in _MULTIPLE_INTERPRETERS.items()}


cdef void _fill_module_slots(PyModuleDef_Slot *slots, size_t size, void *exec_,
                             size_t multiple_interpreters, bint gil_used) noexcept:
    """The module-definition slots, into an array of ``size`` (at least 4): exec, then the
    declarations this CPython knows, then the terminator. ``multiple_interpreters``: a value
    of _MULTIPLE_INTERPRETERS. No Python code: it runs under hps_lock for extension
    definitions."""
    memset(slots, 0, size * sizeof(PyModuleDef_Slot))
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
    CPython's loader enabled it). PYTHON_GIL=0 / -X gil=0 keeps it off, as for CPython.
    Called on free-threaded builds only."""
    if _sys.flags.gil == 0:
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
    """ModuleDef(name, state=None, doc=None, *, multiple_interpreters='own_gil', gil_used=True)
--

    The definition of an extension module with per-instance state.

    ``ModuleDef(name, state=StateClass, doc=...)`` collects functions, types, exceptions and
    exec hooks; every ``create()`` (or import through ``register``) makes a fresh module with
    a fresh state object and fresh types. The definition is frozen once the first instance
    exists.

    ``multiple_interpreters`` declares subinterpreter support (``Py_mod_multiple_interpreters``):
    ``"own_gil"`` (default: isolated interpreters with their own GIL), ``"shared_gil"``, or
    ``"no"`` (import in a subinterpreter raises CPython's ``ImportError``). ``gil_used``
    (``Py_mod_gil``, 3.13+) is False if the module is safe to run without the GIL on
    free-threaded builds."""

    def __cinit__(self):
        self._held = <int *>PyMem_Calloc(HPS_NKINDS, sizeof(int))
        if self._held == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self._held)      # its instances are gone: each held it

    def __init__(self, str name, state=None, doc=None, *, multiple_interpreters="own_gil",
                 gil_used=True):
        """__init__($self, name, state=None, doc=None, *, multiple_interpreters='own_gil', gil_used=True)
--

Initialise the definition (see the class's documentation)."""
        if self.name is not None:
            raise TypeError(f"ModuleDef {self.name!r} is already initialised; make a new "
                            "ModuleDef instead")
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"module name must be a dotted Python identifier, not {_safe_repr(name)}")
        if state is None:
            state = ModuleState
        if not isinstance(state, type):
            raise TypeError(f"state must be a class (a subclass of hpystate.ModuleState), not "
                            f"{type(state).__name__} ({_safe_repr(state)})")
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
        _check_runs_to_completion(getattr(state, "__init__", None),
                                  f"state class {state.__qualname__}: __init__")
        if doc is not None and not isinstance(doc, str):
            raise TypeError(f"doc must be a str or None, not {type(doc).__name__}")
        if multiple_interpreters not in _MULTIPLE_INTERPRETERS:
            raise ValueError(f"multiple_interpreters must be one of "
                             f"{', '.join(map(repr, _MULTIPLE_INTERPRETERS))}, not "
                             f"{_safe_repr(multiple_interpreters)}")
        if not isinstance(gil_used, bool):
            raise TypeError(f"gil_used must be True or False, not {_safe_repr(gil_used)}")
        self.name = name
        self.multiple_interpreters = multiple_interpreters
        self.gil_used = gil_used
        self.state = state
        self.doc = doc
        self._functions = []
        self._state_checks = []
        self._handles = []
        self._exec_hooks = []
        self._names = set()
        self._name_b = name.encode()
        self._doc_b = _opt_bytes(doc)
        memset(&self._c, 0, sizeof(_DefStorage))
        hps_moddef_base_init(&self._c.moddef)
        self._c.moddef_obj = <PyObject *>self
        self._c.moddef.m_name = self._name_b
        if self._doc_b is not None:
            self._c.moddef.m_doc = self._doc_b
        self._c.moddef.m_size = sizeof(_Block)
        self._c.moddef.m_slots = self._c.slots
        self._c.moddef.m_traverse = <void *>_m_traverse
        self._c.moddef.m_clear = <void *>_m_clear
        self._c.moddef.m_free = <void *>_m_free
        _fill_module_slots(self._c.slots, sizeof(self._c.slots) // sizeof(PyModuleDef_Slot),
                           <void *>_m_exec, _MULTIPLE_INTERPRETERS[multiple_interpreters],
                           gil_used)

    def __repr__(self):
        return f"<hpystate ModuleDef {self.name!r}>"

    def __class_getitem__(cls, item):
        """``ModuleDef[StateClass]`` in annotations (see hpystate/_core.pyi)."""
        return _types.GenericAlias(cls, item)

    def __getitem__(self, name):
        """__getitem__($self, name, /)
--

The handle (TypeDef, ExceptionDef or FunctionDef) defined under ``name``."""
        for h in self._handles:
            if (<_Handle>h).name == name:
                return h
        for fd in self._functions:
            if (<FunctionDef>fd).name == name:
                return fd
        raise KeyError(f"ModuleDef {self.name!r} defines no {_safe_repr(name)}")

    def __contains__(self, name):
        return name in self._names

    # -- definition ------------------------------------------------------------------------

    def function(self, impl=None, *, name=None):
        """Decorator: add module function ``impl(state, ...)``; ``module.<name>(...)`` calls it
        with that module instance's state."""
        _check_self(self, ModuleDef, "function")
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
        fd._names = _binding_names(name, name, self.name)
        with cython.critical_section(self):     # atomic with freezing: see _moddef_create_module
            _moddef_claim_name(self, name, "function")
            self._functions.append(fd)
        return fd

    def exception(self, name, base=Exception, *, doc=None):
        """Add an exception class created afresh for every module instance; returns its
        handle (``Error.of(state)`` is that instance's class)."""
        _check_self(self, ModuleDef, "exception")
        bases = base if isinstance(base, tuple) else (base,)
        for b in bases:
            if isinstance(b, ExceptionDef):
                if (<ExceptionDef>b).moddef is not self:
                    raise ValueError(f"exception {name!r}: base {_safe_repr(b)} belongs to another "
                                     "ModuleDef")
            elif not (isinstance(b, type) and issubclass(b, BaseException)):
                raise TypeError(f"exception {name!r}: base must be an exception class or an "
                                f"ExceptionDef of this ModuleDef, not {_safe_repr(b)}")
        if doc is not None and not isinstance(doc, str):
            raise TypeError(f"exception {name!r}: doc must be a str or None")
        cdef ExceptionDef ed = ExceptionDef.__new__(ExceptionDef)
        ed.moddef = self
        ed.name = name
        ed._base = base
        ed._doc = doc
        with cython.critical_section(self):
            _moddef_claim_name(self, name, "exception")
            ed._index = len(self._handles)
            self._handles.append(ed)
        return ed

    def type(self, cls=None, *, name=None, base=None, mutable=False):
        """Class decorator: register a type created per module instance with
        ``PyType_FromModuleAndSpec``. ``__slots__`` gives the instance layout (object fields,
        GC-traversed); without ``__slots__`` instances have a ``__dict__``."""
        _check_self(self, ModuleDef, "type")
        if cls is None:
            return lambda c: self.type(c, name=name, base=base, mutable=mutable)
        if not isinstance(cls, type):
            raise TypeError(f"@{self.name}.type decorates a class, not {_safe_repr(cls)}")
        if name is None:
            name = cls.__name__
        cdef TypeDef td = _parse_type(self, cls, name, base, mutable)
        with cython.critical_section(self):
            _moddef_claim_name(self, name, "type")
            td._index = len(self._handles)
            self._handles.append(td)
        return td

    def exec(self, hook):
        """Decorator: run ``hook(state, module)`` when an instance is initialised, after its
        types, exceptions and functions exist. Hooks run in definition order."""
        _check_self(self, ModuleDef, "exec")
        _check_callable(hook, "exec hook")
        _check_params(hook, ("state", "module"), "exec hook")
        _check_runs_to_completion(hook, "exec hook")
        what = f"exec hook {_describe(hook)}"
        with cython.critical_section(self):
            _check_open(self, what)
            self._exec_hooks.append(hook)
        return hook

    def state_of(self, module):
        """The state of ``module``, an instance of this definition (typed: ``ModuleDef[S]``
        gives ``S``); TypeError for any other object."""
        _check_self(self, ModuleDef, "state_of")
        cdef _Block *b = _block_of(module, self)
        if b == NULL:
            raise TypeError(f"{_safe_repr(module)} is not a module instance of {self.name!r}")
        return _block_state(b, module)

    # -- instantiation ---------------------------------------------------------------------

    def create(self, name=None):
        """Create and initialise a fresh module instance (not put in ``sys.modules``).
        ``name`` defaults to the definition's name."""
        _check_self(self, ModuleDef, "create")
        if self.name is None:
            raise TypeError("ModuleDef.__init__ was never called on this ModuleDef")
        spec = _machinery.ModuleSpec(self.name if name is None else name, Loader(self),
                                     origin="hpystate")
        module = _import_util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


# ModuleDef's C-level helpers: functions, not cdef methods, so the class has no vtable
# (no __pyx_vtable__ in help()) and cimporting modules see no private methods.
cdef _moddef_claim_name(ModuleDef md, name, what):
    _check_open(md, f"{what} {_safe_repr(name)}")
    _check_identifier(name, f"{what} name")
    if name.startswith("__") and name.endswith("__") and name not in _MODULE_DUNDERS:
        raise ValueError(f"{what} name {name!r} is reserved: names of the form __x__ "
                         "belong to the module machinery (__name__, __spec__, __dict__, "
                         "...); only __getattr__ and __dir__ (PEP 562) may be defined")
    if name in md._names:
        raise ValueError(f"duplicate name {name!r} in ModuleDef {md.name!r}")
    md._names.add(name)


cdef object _moddef_create_module(ModuleDef md, spec):
    if md.name is None:
        raise TypeError("ModuleDef.__init__ was never called on this ModuleDef")
    _moddef_check_interpreter(md, spec.name)
    # Additions check _frozen and append under the same critical section, so every
    # member added before this point is in every instance and none can be added after.
    with cython.critical_section(md):
        md._frozen = True
    if HPS_FREE_THREADED and md.gil_used:
        _require_gil(spec.name)
    return PyModule_FromDefAndSpec(&md._c.moddef, spec)


cdef int _moddef_check_interpreter(ModuleDef md, str name) except -1:
    # 3.12+: CPython checks the Py_mod_multiple_interpreters slot itself (in interpreters
    # whose config checks extensions). 3.10/3.11 have no such slot: a module declared
    # multiple_interpreters="no" refuses every subinterpreter, with CPython's message.
    if (not HPS_MOD_MULTIPLE_INTERPRETERS and md.multiple_interpreters == "no"
            and not hps_in_main_interpreter()):
        raise ImportError(f"module {name} does not support loading in subinterpreters")
    return 0


cdef int _moddef_exec_module(ModuleDef md, module) except -1:
    return PyModule_ExecDef(module, &md._c.moddef)
