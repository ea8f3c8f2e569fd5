/* The decorator API's Python-level slots: what a binding's own C slot (a py_* trampoline,
 * tools/slot_table.py) does. Private: included by _trampolines.h.
 *
 * Without these, a dunder such as ``__add__`` is a StateMethod in the type's dict and the
 * slot is CPython's generic dispatcher (typeobject.c's slot_nb_add): it looks the dunder
 * up along the MRO, calls the StateMethod, which calls ``impl(state, self, other)``.
 * hpystate installs a trampoline instead wherever the dunders of a slot resolve to
 * StateMethods of one module instance (_instance.pxi, _fast_slots): it calls the
 * implementations directly. Each helper below is the generic dispatcher's own logic with
 * the lookups done once, at type creation, so that behaviour is the same: the checks of
 * results (__len__, __hash__, __bool__), and for binary operators the reflected
 * operand and NotImplemented protocol (SLOT1BINFULL), where "this slot" is the binding's
 * trampoline itself (e->fn) as it is slot_nb_add for a class statement.
 *
 * e->impl is the implementation (a callable taking the state first), or for py_binop a
 * tuple (see HPS_BIN_*) and for py_richcmp a tuple of six (one per op) or of one
 * (``__richcmp__``, which also takes the op); None where the type has no such method.
 * The module instance owns it (and e->state). */
#ifndef HPYSTATE_PYSLOTS_H
#define HPYSTATE_PYSLOTS_H

#include "_capi.h"                   /* hps_vcall */

static int hps_py_slots_on = 1;     /* 0: CPython's dispatchers everywhere (tests compare) */

/* impl(state, a) or impl(state, a, b), by vectorcall */
static inline PyObject *hps_py_call(hps_entry *e, PyObject *a, PyObject *b) {
    PyObject *args[4] = {NULL, e->state, a, b};
    return hps_vcall((PyObject *)e->impl, args + 1,
                     (b != NULL ? 3 : 2) | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static inline PyObject *hps_py_call_with(PyObject *f, PyObject *state, PyObject *a,
                                         PyObject *b) {
    PyObject *args[4] = {NULL, state, a, b};
    return hps_vcall(f, args + 1, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static inline void *hps_nb_at(PyObject *o, unsigned int off) {
    PyNumberMethods *nb = Py_TYPE(o)->tp_as_number;
    return nb != NULL ? *(void **)((char *)nb + off) : NULL;
}

/* A py_binop entry's impl: a tuple of (forward impl | None, reflected impl | None, the type
   that got the trampoline, the two dunder names, the two StateMethods | a sentinel). */
enum { HPS_BIN_FWD, HPS_BIN_REFL, HPS_BIN_TYPE, HPS_BIN_NAME, HPS_BIN_METH = 5 };

/* _PyType_Lookup as a new reference (3.14+: _PyType_LookupRef, safe without the GIL) */
static inline PyObject *hps_type_lookup(PyTypeObject *t, PyObject *name) {
#if PY_VERSION_HEX >= 0x030E0000
    return _PyType_LookupRef(t, name);
#else
    return Py_XNewRef(_PyType_Lookup(t, name));
#endif
}

/* Whether ``t`` resolves both of the entry's names to its StateMethods (to nothing where
   the type that got the trampoline has none), as that type does: then a call needs no
   lookup. The last subclass found to is cached with its version tag (which changes
   whenever it or a base is modified), as method trampolines cache theirs. 1, 0 or -1. */
HPS_COLD static int hps_binop_lookup_both(hps_entry *e, PyTypeObject *t) {
    PyObject *impls = (PyObject *)e->impl;
    int same = 1;
    for (int side = 0; side < 2 && same; side++) {
        PyObject *f = hps_type_lookup(t, PyTuple_GET_ITEM(impls, HPS_BIN_NAME + side));
        if (f == NULL && PyErr_Occurred()) {
            return -1;
        }
        same = f == NULL ? PyTuple_GET_ITEM(impls, side) == Py_None
                         : f == PyTuple_GET_ITEM(impls, HPS_BIN_METH + side);
        Py_XDECREF(f);
    }
    if (same) {
        hps_sub_remember(e, t);
    }
    return same;
}

static inline int hps_binop_resolves(hps_entry *e, PyTypeObject *t) {
    if (t == (PyTypeObject *)PyTuple_GET_ITEM((PyObject *)e->impl, HPS_BIN_TYPE)
            || HPS_SUB_SEEN(e, t)) {
        return 1;
    }
    return hps_binop_lookup_both(e, t);
}

/* ``a.<forward or reflected>(b)`` as typeobject.c's vectorcall_maybe: the implementation
   directly when ``a``'s type resolves the names as the trampoline's type does (no lookup
   at all for that type itself or the last subclass seen), else whatever the lookup finds,
   called as CPython would; NotImplemented when nothing is found. */
static PyObject *hps_binop_side(hps_entry *e, int refl, PyObject *a, PyObject *b) {
    PyObject *impls = (PyObject *)e->impl;
    PyObject *f;
    int direct = hps_binop_resolves(e, Py_TYPE(a));
    if (direct < 0) {
        return NULL;
    }
    if (direct) {
        f = PyTuple_GET_ITEM(impls, refl);
        return f != Py_None ? hps_py_call_with(f, e->state, a, b)
                            : Py_NewRef(Py_NotImplemented);
    }
    f = hps_type_lookup(Py_TYPE(a), PyTuple_GET_ITEM(impls, HPS_BIN_NAME + refl));
    if (f == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyObject *r;
    if (f == PyTuple_GET_ITEM(impls, HPS_BIN_METH + refl)) {
        r = hps_py_call_with(PyTuple_GET_ITEM(impls, refl), e->state, a, b);
    }
    else if (PyType_HasFeature(Py_TYPE(f), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
        PyObject *args[2] = {a, b};
        r = hps_vcall(f, args, 2, NULL);
    }
    else {
        descrgetfunc get = Py_TYPE(f)->tp_descr_get;
        if (get != NULL) {
            Py_SETREF(f, get(f, a, (PyObject *)Py_TYPE(a)));
            if (f == NULL) {
                return NULL;
            }
        }
        r = PyObject_CallOneArg(f, b);
    }
    Py_DECREF(f);
    return r;
}

/* typeobject.c's method_is_overloaded, by identity of what the types' lookups find */
static int hps_binop_overloaded(hps_entry *e, PyTypeObject *left, PyTypeObject *right) {
    int l = hps_binop_resolves(e, left), r = l > 0 ? hps_binop_resolves(e, right) : 0;
    if (l < 0 || r < 0) {
        return -1;
    }
    if (l && r) {                       /* both find the same method, or neither has one */
        return 0;
    }
    PyObject *name = PyTuple_GET_ITEM((PyObject *)e->impl, HPS_BIN_NAME + 1);
    PyObject *b = hps_type_lookup(right, name);
    if (b == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *a = hps_type_lookup(left, name);
    int ok = a == NULL ? (PyErr_Occurred() ? -1 : 1) : a != b;
    Py_XDECREF(a);
    Py_DECREF(b);
    return ok;
}

/* SLOT1BINFULL, where "this slot" is the trampoline (e->fn): the type that got it and its
   Python subclasses share it (_instance.pxi), as class statements share slot_nb_add, so
   that binary_op1 calls it once for both operands and the reflected method of a
   subclass goes first only where the subclass overrides it. */
HPS_NOINLINE static PyObject *hps_py_binop_full(hps_entry *e, PyObject *self, PyObject *other) {
    PyObject *r;
    int do_other = !Py_IS_TYPE(self, Py_TYPE(other)) && hps_nb_at(other, e->off) == e->fn;
    if (hps_nb_at(self, e->off) == e->fn) {
        if (do_other && PyType_IsSubtype(Py_TYPE(other), Py_TYPE(self))) {
            int ok = hps_binop_overloaded(e, Py_TYPE(self), Py_TYPE(other));
            if (ok < 0) {
                return NULL;
            }
            if (ok) {
                r = hps_binop_side(e, 1, other, self);
                if (r != Py_NotImplemented) {
                    return r;
                }
                Py_DECREF(r);
                do_other = 0;
            }
        }
        r = hps_binop_side(e, 0, self, other);
        if (r != Py_NotImplemented || Py_IS_TYPE(other, Py_TYPE(self))) {
            return r;
        }
        Py_DECREF(r);
    }
    if (do_other) {
        return hps_binop_side(e, 1, other, self);
    }
    Py_RETURN_NOTIMPLEMENTED;
}

/* Whether calls with ``o`` on this side need no lookup: its type is the one that got the
   trampoline, or the subclass last seen to resolve the names as that type does
   (hps_binop_resolves) and sharing the slot. */
static inline int hps_binop_direct(hps_entry *e, PyTypeObject *t, PyObject *o) {
    return Py_IS_TYPE(o, t) || (HPS_SUB_SEEN(e, Py_TYPE(o)) && hps_nb_at(o, e->off) == e->fn);
}

/* hps_py_binop_full's common cases, in one small function (two calls of big ones cost
   about 35 instructions of register saves): one operand of hps_binop_direct's kind, and
   the other of the same type or one whose slot is not this trampoline. SLOT1BINFULL then
   calls that one side's method and returns what it returns, NotImplemented included. */
static PyObject *hps_py_binop(hps_entry *e, PyObject *self, PyObject *other) {
    PyObject *impls = (PyObject *)e->impl;
    PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(impls, HPS_BIN_TYPE);
    PyObject *f;
    if (hps_binop_direct(e, t, self)
            && (Py_IS_TYPE(other, Py_TYPE(self)) || hps_nb_at(other, e->off) != e->fn)) {
        f = PyTuple_GET_ITEM(impls, HPS_BIN_FWD);
    }
    else if (hps_nb_at(self, e->off) != e->fn && hps_binop_direct(e, t, other)) {
        f = PyTuple_GET_ITEM(impls, HPS_BIN_REFL);      /* other.__rop__(self) */
        PyObject *left = self;
        self = other;
        other = left;
    }
    else {
        return hps_py_binop_full(e, self, other);
    }
    return f != Py_None ? hps_py_call_with(f, e->state, self, other)
                        : Py_NewRef(Py_NotImplemented);
}

/* slot_tp_richcompare where hps_py_richcmp has no method of the op's own to call: a
   ``__richcmp__``, else object's (``__eq__``: identity, ``__ne__``: the inverse of
   ``__eq__``, the others: NotImplemented), which is what the lookup would find. */
HPS_NOINLINE static PyObject *hps_py_richcmp_full(hps_entry *e, PyObject *self,
                                                  PyObject *other, int op) {
    PyObject *impls = (PyObject *)e->impl;
    if (PyTuple_GET_SIZE(impls) == 1) {
        PyObject *o = PyLong_FromLong(op);
        if (o == NULL) {
            return NULL;
        }
        PyObject *args[5] = {NULL, e->state, self, other, o};
        PyObject *r = hps_vcall(PyTuple_GET_ITEM(impls, 0), args + 1,
                                4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(o);
        return r;
    }
    if (op == Py_EQ) {
        return Py_NewRef(self == other ? Py_True : Py_NotImplemented);
    }
    if (op == Py_NE && Py_TYPE(self)->tp_richcompare != NULL) {   /* object_richcompare */
        PyObject *r = Py_TYPE(self)->tp_richcompare(self, other, Py_EQ);
        if (r != NULL && r != Py_NotImplemented) {
            int ok = PyObject_IsTrue(r);
            Py_DECREF(r);
            return ok < 0 ? NULL : Py_NewRef(ok ? Py_False : Py_True);
        }
        return r;
    }
    Py_RETURN_NOTIMPLEMENTED;
}

/* The op's own method, in a small function (as hps_py_binop); the rest in
   hps_py_richcmp_full. */
static PyObject *hps_py_richcmp(hps_entry *e, PyObject *self, PyObject *other, int op) {
    PyObject *impls = (PyObject *)e->impl;
    if (PyTuple_GET_SIZE(impls) != 1) {
        PyObject *f = PyTuple_GET_ITEM(impls, op);
        if (f != Py_None) {
            return hps_py_call_with(f, e->state, self, other);
        }
    }
    return hps_py_richcmp_full(e, self, other, op);
}

/* slot_sq_length */
static Py_ssize_t hps_py_len(hps_entry *e, PyObject *self) {
    PyObject *res = hps_py_call(e, self, NULL);
    if (res == NULL) {
        return -1;
    }
    if (PyLong_CheckExact(res)) {               /* what PyNumber_Index would return */
        Py_ssize_t n = PyLong_AsSsize_t(res);
        if (n >= 0) {
            Py_DECREF(res);
            return n;
        }
        PyErr_Clear();                          /* below: the same as for any int */
    }
    Py_SETREF(res, PyNumber_Index(res));
    if (res == NULL) {
        return -1;
    }
    Py_ssize_t n = PyLong_AsSsize_t(res);
    if (n >= 0) {
        Py_DECREF(res);
        return n;
    }
    int negative = 1;
    if (n == -1 && PyErr_Occurred()) {          /* too large either way */
        PyErr_Clear();
        PyObject *zero = PyLong_FromLong(0);
        negative = zero != NULL ? PyObject_RichCompareBool(res, zero, Py_LT) : -1;
        Py_XDECREF(zero);
    }
    if (negative > 0) {
        PyErr_SetString(PyExc_ValueError, "__len__() should return >= 0");
    }
    else if (negative == 0) {
        PyErr_Format(PyExc_OverflowError, "cannot fit '%.200s' into an index-sized integer",
                     Py_TYPE(res)->tp_name);
    }
    Py_DECREF(res);
    return -1;
}

/* slot_tp_hash */
static Py_hash_t hps_py_hash(hps_entry *e, PyObject *self) {
    PyObject *res = hps_py_call(e, self, NULL);
    if (res == NULL) {
        return -1;
    }
    if (!PyLong_Check(res)) {
        Py_DECREF(res);
        PyErr_SetString(PyExc_TypeError, "__hash__ method should return an integer");
        return -1;
    }
    /* values in Py_hash_t's range are kept (hash(x) == x.__hash__() == hash(y)); others
       are hashed as the int they are */
    Py_hash_t h = PyLong_AsSsize_t(res);
    if (h == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        h = PyLong_Type.tp_hash(res);
    }
    if (h == -1) {                              /* -1 means an error */
        h = -2;
    }
    Py_DECREF(res);
    return h;
}

/* slot_nb_bool, for a type with __bool__ */
static int hps_py_bool(hps_entry *e, PyObject *self) {
    PyObject *res = hps_py_call(e, self, NULL);
    if (res == NULL) {
        return -1;
    }
    int r;
    if (PyBool_Check(res)) {
        r = res == Py_True;
    }
    else {
#if PY_VERSION_HEX >= 0x030F0000
        PyErr_Format(PyExc_TypeError, "%T.__bool__() must return a bool, not %T", self, res);
#else
        PyErr_Format(PyExc_TypeError, "__bool__ should return bool, returned %s",
                     Py_TYPE(res)->tp_name);
#endif
        r = -1;
    }
    Py_DECREF(res);
    return r;
}

/* slot_sq_contains, for a type with __contains__ */
static int hps_py_contains(hps_entry *e, PyObject *self, PyObject *value) {
    PyObject *res = hps_py_call(e, self, value);
    if (res == NULL) {
        return -1;
    }
    int r = PyObject_IsTrue(res);
    Py_DECREF(res);
    return r;
}

#endif /* HPYSTATE_PYSLOTS_H */
