"""Everything hpystate knows about type slots, once: the single source that
tools/gen_slots.py turns into the trampolines (hpystate/_trampolines.h), the Cython
declarations (hpystate/_slot_table.pxd), the Python-level name maps
(hpystate/_slot_table.pxi) and the signature table of docs/cimport.md.

Adding a slot is one line in SLOTS (plus tests); a new C signature is one line in KINDS.
Cython's Compiler/TypeSlots.py is the model: one table drives everything.
"""
from collections import namedtuple

# A trampoline family: every binding of one C signature reaches its implementation through
# a trampoline of this kind. ``params``: what CPython passes; ``args``: what the trampoline
# passes on after ``state``; ``impl_params``/``impl_ret``: the implementation's own
# parameters/return type where they differ from CPython's; ``body``: a trampoline that does
# more than a tail call. ``doc``: the implementation as a Cython user declares it
# (``St`` is the state class), ``errors``: its error convention.
Kind = namedtuple("Kind", "ret params args impl_params impl_ret body doc errors")

# Trampolines of each kind, for the whole process; one definition's instances may hold at
# most half of them (so no extension can leave another none). Past that, the fallback.
PER_KIND = 256

KINDS = {
    # methods: CPython passes the instance as ``self``
    "meth_noargs": Kind("PyObject *", "PyObject *self, PyObject *unused", "self",
                        "PyObject *self", None, None,
                        "object f(St st, object self)", "NULL return: exception"),
    "meth_o": Kind("PyObject *", "PyObject *self, PyObject *arg", "self, arg", None, None,
                   None, "object f(St st, object self, object arg)", "NULL return: exception"),
    "meth_fastcall": Kind("PyObject *", "PyObject *self, PyObject *const *args, Py_ssize_t nargs",
                          "self, args, nargs", None, None, None,
                          "object f(St st, object self, PyObject **args, Py_ssize_t nargs)",
                          "NULL return: exception"),
    "meth_fastcall_kw": Kind("PyObject *", "PyObject *self, PyObject *const *args, "
                             "Py_ssize_t nargs, PyObject *kwnames",
                             "self, args, nargs, kwnames", None, None, None,
                             "object f(St st, object self, PyObject **args, Py_ssize_t nargs, "
                             "PyObject *kwnames)", "NULL return: exception"),
    # module functions: CPython passes the module as ``self``; the impl does not get it
    "func_noargs": Kind("PyObject *", "PyObject *self, PyObject *unused", "", "", None, None,
                        "object f(St st)", "NULL return: exception"),
    "func_o": Kind("PyObject *", "PyObject *self, PyObject *arg", "arg", "PyObject *arg",
                   None, None, "object f(St st, object arg)", "NULL return: exception"),
    "func_fastcall": Kind("PyObject *", "PyObject *self, PyObject *const *args, Py_ssize_t nargs",
                          "args, nargs", "PyObject *const *args, Py_ssize_t nargs", None, None,
                          "object f(St st, PyObject **args, Py_ssize_t nargs)",
                          "NULL return: exception"),
    "func_fastcall_kw": Kind("PyObject *", "PyObject *self, PyObject *const *args, "
                             "Py_ssize_t nargs, PyObject *kwnames", "args, nargs, kwnames",
                             "PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames",
                             None, None,
                             "object f(St st, PyObject **args, Py_ssize_t nargs, "
                             "PyObject *kwnames)", "NULL return: exception"),
    # type slots
    "unary": Kind("PyObject *", "PyObject *a", "a", None, None, None,
                  "object f(St st, object self)", "NULL return: exception"),
    "binary": Kind("PyObject *", "PyObject *a, PyObject *b", "a, b", None, None, None,
                   "object f(St st, object a, object b)", "NULL return: exception"),
    "ternary": Kind("PyObject *", "PyObject *a, PyObject *b, PyObject *c", "a, b, c", None,
                    None, None, "object f(St st, object a, object b, object mod)",
                    "NULL return: exception"),
    "richcmp": Kind("PyObject *", "PyObject *a, PyObject *b, int op", "a, b, op", None, None,
                    None, "object f(St st, object self, object other, int op)",
                    "NULL return: exception"),
    "inquiry": Kind("int", "PyObject *a", "a", None, None, None,
                    "int f(St st, object self) except -1", "-1: exception"),
    "hash": Kind("Py_hash_t", "PyObject *a", "a", None, None, None,
                 "Py_hash_t f(St st, object self) except -1", "-1: exception"),
    "len": Kind("Py_ssize_t", "PyObject *a", "a", None, None, None,
                "Py_ssize_t f(St st, object self) except -1", "-1: exception"),
    "ssizearg": Kind("PyObject *", "PyObject *a, Py_ssize_t i", "a, i", None, None, None,
                     "object f(St st, object self, Py_ssize_t i)", "NULL return: exception"),
    "objobj": Kind("int", "PyObject *a, PyObject *b", "a, b", None, None, None,
                   "int f(St st, object self, object x) except -1", "-1: exception"),
    "objobjarg": Kind("int", "PyObject *a, PyObject *b, PyObject *c", "a, b, c", None, None,
                      None, "int f(St st, object self, object key, PyObject *value) except -1",
                      "-1: exception"),
    # the buffer protocol (PEP 3118)
    "getbuffer": Kind("int", "PyObject *a, Py_buffer *view, int flags", "a, view, flags", None,
                      None, None, "int f(St st, object self, Py_buffer *view, int flags) except -1",
                      "-1: exception"),
    "releasebuffer": Kind("void", "PyObject *a, Py_buffer *view", "a, view", None, None,
                          "((hps_releasebuffer_impl)e->impl)(e->state, a, view);",
                          "void f(St st, object self, Py_buffer *view) noexcept",
                          "cannot fail"),
    # tp_finalize: the impl returns 0 or -1 (exception set); see hps_call_finalize
    "finalize": Kind("void", "PyObject *a", "a", None, "int",
                     "hps_call_finalize((hps_finalize_impl)e->impl, e->state, a);",
                     "int f(St st, object self) except -1", "-1: exception (reported)"),
}

# Python-level slots (the decorator API): a binding's own C slot that calls its Python
# implementation directly, as Cython's slot wrappers call theirs, instead of CPython's
# generic dispatcher (which looks the dunder up along the MRO and calls the binding that
# then calls the implementation). ``body`` calls a helper of hpystate/_pyslots.h, which
# keeps CPython's semantics for the slot (typeobject.c's slot_* functions) exactly.
def _py(ret, params, body):
    return Kind(ret, params, None, None, None, body, None, None)


PY_KINDS = {
    "py_unary": _py("PyObject *", "PyObject *a", "return hps_py_call(e, a, NULL);"),
    "py_binary": _py("PyObject *", "PyObject *a, PyObject *b", "return hps_py_call(e, a, b);"),
    "py_binop": _py("PyObject *", "PyObject *a, PyObject *b", "return hps_py_binop(e, a, b);"),
    "py_richcmp": _py("PyObject *", "PyObject *a, PyObject *b, int op",
                      "return hps_py_richcmp(e, a, b, op);"),
    "py_len": _py("Py_ssize_t", "PyObject *a", "return hps_py_len(e, a);"),
    "py_hash": _py("Py_hash_t", "PyObject *a", "return hps_py_hash(e, a);"),
    "py_bool": _py("int", "PyObject *a", "return hps_py_bool(e, a);"),
    "py_contains": _py("int", "PyObject *a, PyObject *b", "return hps_py_contains(e, a, b);"),
}

# How the fallback (a CFunction or CMethod, when a trampoline table is full) calls a C
# function or method, by its METH_* calling convention: M_<mode>, the first modes of the
# generated enum, before the slots' S_<mode> (the ``mode`` of each D below). Modes are not
# kinds: one kind serves several Python-level methods (nb_add is __add__ and __radd__).
CALL_MODES = ("NOARGS", "O", "FASTCALL", "FASTCALL_KW")

# One Python-level method of a slot: its name, its parameters after ``state`` (``*``: more
# may follow, as for __call__), and how the fallback (a C-level descriptor under the dunder,
# when a trampoline table is full) calls a C implementation: a mode (S_<mode> in the
# generated enum), plus a variant (the comparison op for tp_richcompare).
D = namedtuple("D", "name params mode variant")


def d(name, params, mode=None, variant=0):
    return D(name, tuple(params.split()), mode, variant)


# A slot: its C name (also its typeslots.h id, Py_<name>), the trampoline kind of its
# C-level implementations (None: the decorator API only), the Python-level methods it stands
# for (a dunder without a mode is Python-level only: the C fallback does not use it), whether
# ``@hpystate.slot("<name>")`` may name it (False where the name stands for several methods
# or for only part of one; users then decorate the dunders), and for docs/cimport.md the
# implementation's signature where it is not the kind's, and a note. ``whole``: a
# Python-level name for the whole slot (``__richcmp__(state, self, other, op)``), which
# ``@hpystate.slot("<name>")`` then means; ``since``: the first CPython whose class
# statements use the Python-level dunders (PEP 688's __buffer__: 3.12); ``hidden``: no
# dunder can stand in for the C slot, so the fallback sets the slot to a generic function
# that finds the binding as the type attribute ``__hpystate_<name>__`` (through the MRO,
# as CPython finds a dunder).
Slot = namedtuple("Slot", "name kind dunders by_name sig note whole since hidden py")


def slot(name, kind, *dunders, by_name=None, sig=None, note=None, whole=None, since=None,
         hidden=False, py=None):
    if by_name is None:
        by_name = len(dunders) == 1 or whole is not None
    return Slot(name, kind, dunders, by_name, sig, note, whole, since, hidden, py)


_L, _R = "BINARY_L", "BINARY_R"
_TERNARY_NOTE = "`mod` is `None` for `a ** b`"
_BINARY_NOTE = ("either operand may be the instance (C semantics: `1 + box` calls "
                "`f(st, 1, box)`)")

SLOTS = (
    # number protocol
    slot("nb_add", "binary", d("__add__", "self other", _L), d("__radd__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_subtract", "binary", d("__sub__", "self other", _L), d("__rsub__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_multiply", "binary", d("__mul__", "self other", _L), d("__rmul__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_remainder", "binary", d("__mod__", "self other", _L), d("__rmod__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_divmod", "binary", d("__divmod__", "self other", _L), d("__rdivmod__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_power", "ternary", d("__pow__", "self other", "TERNARY_L"), d("__rpow__", "self other", "TERNARY_R"), by_name=True, note=_TERNARY_NOTE),
    slot("nb_negative", "unary", d("__neg__", "self", "UNARY"), py="py_unary"),
    slot("nb_positive", "unary", d("__pos__", "self", "UNARY"), py="py_unary"),
    slot("nb_absolute", "unary", d("__abs__", "self", "UNARY"), py="py_unary"),
    slot("nb_bool", "inquiry", d("__bool__", "self", "INQUIRY"), py="py_bool"),
    slot("nb_invert", "unary", d("__invert__", "self", "UNARY"), py="py_unary"),
    slot("nb_lshift", "binary", d("__lshift__", "self other", _L), d("__rlshift__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_rshift", "binary", d("__rshift__", "self other", _L), d("__rrshift__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_and", "binary", d("__and__", "self other", _L), d("__rand__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_xor", "binary", d("__xor__", "self other", _L), d("__rxor__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_or", "binary", d("__or__", "self other", _L), d("__ror__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_int", "unary", d("__int__", "self", "UNARY"), py="py_unary"),
    slot("nb_float", "unary", d("__float__", "self", "UNARY"), py="py_unary"),
    slot("nb_inplace_add", "binary", d("__iadd__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_subtract", "binary", d("__isub__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_multiply", "binary", d("__imul__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_remainder", "binary", d("__imod__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_power", "ternary", d("__ipow__", "self other", "TERNARY_L"), note=_TERNARY_NOTE),
    slot("nb_inplace_lshift", "binary", d("__ilshift__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_rshift", "binary", d("__irshift__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_and", "binary", d("__iand__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_xor", "binary", d("__ixor__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_or", "binary", d("__ior__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_floor_divide", "binary", d("__floordiv__", "self other", _L), d("__rfloordiv__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_true_divide", "binary", d("__truediv__", "self other", _L), d("__rtruediv__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_inplace_floor_divide", "binary", d("__ifloordiv__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_inplace_true_divide", "binary", d("__itruediv__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    slot("nb_index", "unary", d("__index__", "self", "UNARY"), py="py_unary"),
    slot("nb_matrix_multiply", "binary", d("__matmul__", "self other", _L), d("__rmatmul__", "self other", _R), by_name=True, note=_BINARY_NOTE, py="py_binop"),
    slot("nb_inplace_matrix_multiply", "binary", d("__imatmul__", "self other", _L), note=_BINARY_NOTE, py="py_binary"),
    # type slots
    slot("tp_repr", "unary", d("__repr__", "self", "UNARY"), py="py_unary"),
    slot("tp_str", "unary", d("__str__", "self", "UNARY"), py="py_unary"),
    slot("tp_hash", "hash", d("__hash__", "self", "HASH"), py="py_hash"),
    slot("tp_call", "ternary", d("__call__", "self *", "CALL"), sig="object f(St st, object self, PyObject *args, PyObject *kwargs)", note="`kwargs` may be NULL"),
    slot("tp_iter", "unary", d("__iter__", "self", "UNARY"), py="py_unary"),
    slot("tp_iternext", "unary", d("__next__", "self", "ITERNEXT"), sig="PyObject *f(St st, object self) noexcept", note="NULL without an exception ends iteration", py="py_unary"),
    slot("tp_richcompare", "richcmp", *(d(n, "self other", "RICHCMP", op) for op, n in enumerate(("__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"))), whole=d("__richcmp__", "self other op"), py="py_richcmp"),
    slot("tp_init", "objobjarg", d("__init__", "self *", "INIT"), sig="int f(St st, object self, PyObject *args, PyObject *kwargs) except -1"),
    slot("tp_new", None, d("__new__", "cls *")),
    slot("tp_finalize", "finalize", d("__del__", "self", "FINALIZE"), note="the `__del__` of PEP 442. CPython calls it once per object, before the object is freed or, in a reference cycle, before the collector clears anything (the state is whole); an explicit `obj.__del__()` calls it too. Any exception pending at the time is kept, and the implementation's own is reported through `sys.unraisablehook` (with the object), never raised, as for any C type's finalizer. An object resurrected by its finalizer (stored somewhere) is not finalized again"),
    slot("tp_getattro", "binary", d("__getattribute__", "self other", _L), d("__getattr__", "self other"), sig="object f(St st, object self, object name)", note="every attribute lookup: call `PyObject_GenericGetAttr(self, name)` for the usual ones"),
    slot("tp_setattro", "objobjarg", d("__setattr__", "self a b", "SETITEM"), d("__delattr__", "self other", "DELITEM"), sig="int f(St st, object self, object name, PyObject *value) except -1", note="`value` NULL: delete; `PyObject_GenericSetAttr(self, name, value)` does the usual"),
    slot("tp_descr_get", "ternary", d("__get__", "self a b", "DESCR_GET"), sig="object f(St st, object self, PyObject *obj, PyObject *type)", note="`obj` is NULL for access through the class, `type` may be NULL"),
    slot("tp_descr_set", "objobjarg", d("__set__", "self a b", "SETITEM"), d("__delete__", "self other", "DELITEM"), sig="int f(St st, object self, object obj, PyObject *value) except -1", note="`value` NULL: delete"),
    # mapping and sequence protocols
    slot("mp_length", "len", d("__len__", "self", "LEN"), py="py_len"),
    slot("mp_subscript", "binary", d("__getitem__", "self other", _L), sig="object f(St st, object self, object key)", py="py_binary"),
    slot("mp_ass_subscript", "objobjarg", d("__setitem__", "self a b", "SETITEM"), d("__delitem__", "self other", "DELITEM"), note="`value` NULL: delete"),
    slot("sq_length", "len", d("__len__", "self", "LEN"), py="py_len"),
    slot("sq_item", "ssizearg", d("__getitem__", "self other", "SSIZEARG"), by_name=False),
    slot("sq_ass_item", None, d("__setitem__", "self a b"), d("__delitem__", "self other")),
    slot("sq_contains", "objobj", d("__contains__", "self other", "OBJOBJ"), py="py_contains"),
    # async protocol
    slot("am_await", "unary", d("__await__", "self", "UNARY"), py="py_unary"),
    slot("am_aiter", "unary", d("__aiter__", "self", "UNARY"), py="py_unary"),
    slot("am_anext", "unary", d("__anext__", "self", "UNARY"), py="py_unary"),
    # buffer protocol (Python-level: PEP 688, CPython 3.12+)
    slot("bf_getbuffer", "getbuffer", d("__buffer__", "self flags"), by_name=True, since=(3, 12), hidden=True, note="fill `view` (`PyBuffer_FillInfo` does the simple case) with `view.obj` a new reference to `self`, or raise"),
    slot("bf_releasebuffer", "releasebuffer", d("__release_buffer__", "self view"), by_name=True, since=(3, 12), hidden=True, note="CPython releases `view.obj` itself"),
)
