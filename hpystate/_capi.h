/* hpystate's C helpers for _core.pyx, where Cython cannot express them: CPython internals
 * hpystate relies on (ModuleState's allocation, the managed dict), what differs between
 * CPython versions and builds (PEP 793 module export on 3.15, free-threaded builds), the
 * lock of the process-wide trampoline tables. Private: declared in _capi.pxd. */
#ifndef HPYSTATE_CAPI_H
#define HPYSTATE_CAPI_H

#include <Python.h>
#include "structmember.h"
#include <stdatomic.h>
#include "hpystate.h"

/* f(*args) through f's own vectorcall function, as the interpreter's specialised calls
   make it: PyObject_Vectorcall adds a thread-state lookup (a TLS call in a shared
   libpython) and a check of every result; only a NULL one without an exception is
   checked here, which release builds of the interpreter do the same way; anything
   without a vectorcall function goes through PyObject_Vectorcall. */
static inline PyObject *hps_vcall(PyObject *f, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames) {
    PyTypeObject *tp = Py_TYPE(f);
    if (PyType_HasFeature(tp, Py_TPFLAGS_HAVE_VECTORCALL) && tp->tp_vectorcall_offset > 0) {
        vectorcallfunc vc = *(vectorcallfunc *)((char *)f + tp->tp_vectorcall_offset);
        if (vc != NULL) {
            PyObject *r = vc(f, args, nargsf, kwnames);
            if (r == NULL && !PyErr_Occurred()) {      /* a C callable's bug, not a crash */
                PyErr_Format(PyExc_SystemError, "%R returned NULL without setting an "
                             "exception", f);
            }
            return r;
        }
    }
    return PyObject_Vectorcall(f, args, nargsf, kwnames);
}

static void hps_moddef_base_init(PyModuleDef *d) {
    PyModuleDef_Base base = PyModuleDef_HEAD_INIT;
    d->m_base = base;
}
/* ``__class__`` of hpystate instances (on every layout type): reads as object's does;
   an assignment is checked first by _instance.pxi's _assign_class (registered once at
   import: the same function in every interpreter), which refuses one that would make the
   object drop a module instance its bound C methods may read, then assigns as object's
   setter does. */
static int (*hps_assign_class)(PyObject *self, PyObject *value) = NULL;
static PyObject *hps_get_class(PyObject *self, void *closure) {
    (void)closure;
    return Py_NewRef((PyObject *)Py_TYPE(self));
}
static int hps_set_class(PyObject *self, PyObject *value, void *closure) {
    (void)closure;
    return hps_assign_class(self, value);
}
/* Getsets of layout types, with and without an instance __dict__. Constant data. */
static PyGetSetDef hps_layout_getset[] = {
    {"__class__", hps_get_class, hps_set_class, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};
static PyGetSetDef hps_layout_dict_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"__class__", hps_get_class, hps_set_class, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};
/* The module a heap type was created with (borrowed), or NULL; never raises. */
static PyObject *hps_type_module(PyObject *t) {
    if (!PyType_Check(t) || !(((PyTypeObject *)t)->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return NULL;
    return ((PyHeapTypeObject *)t)->ht_module;
}
/* 3.12+: __dict__ and weak references live in the object's pre-header (as for classes
   defined in Python); CPython's layout check no longer ignores trailing dict/weaklist
   slots, so types sharing a layout must not add them to the basic size. */
#if PY_VERSION_HEX >= 0x030C0000
#define HPS_MANAGED_PREHEADER 1
#define HPS_TPFLAGS_MANAGED_DICT Py_TPFLAGS_MANAGED_DICT
#define HPS_TPFLAGS_MANAGED_WEAKREF Py_TPFLAGS_MANAGED_WEAKREF
#else
#define HPS_MANAGED_PREHEADER 0
#define HPS_TPFLAGS_MANAGED_DICT 0
#define HPS_TPFLAGS_MANAGED_WEAKREF 0
#endif
/* The trampoline tables are process-wide: guard allocation with a spinlock that needs
   no interpreter (held for a scan of one small table, never across Python code). */
static atomic_flag hps_table_lock = ATOMIC_FLAG_INIT;
static void hps_lock(void) {
    while (atomic_flag_test_and_set_explicit(&hps_table_lock, memory_order_acquire)) {}
}
static void hps_unlock(void) {
    atomic_flag_clear_explicit(&hps_table_lock, memory_order_release);
}
/* The index an sq_item implementation gets for ``obj[key]`` or ``__getitem__(key)``:
   a negative index counts from the end when the type has a length, as PySequence_GetItem
   and CPython's __getitem__ wrapper do on the trampoline path (-1 with an exception set
   on error; -1 without one is an index). */
static Py_ssize_t hps_sequence_index(PyObject *self, PyObject *key) {
    if (!PyIndex_Check(key)) {              /* PyObject_GetItem's message */
        PyErr_Format(PyExc_TypeError, "sequence index must be integer, not '%.200s'",
                     Py_TYPE(key)->tp_name);
        return -1;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    if (i < 0) {
        PySequenceMethods *sq = Py_TYPE(self)->tp_as_sequence;
        if (sq != NULL && sq->sq_length != NULL) {
            Py_ssize_t n = sq->sq_length(self);
            if (n < 0)
                return -1;
            i += n;
        }
    }
    return i;
}
/* PyType_FromModuleAndSpec, with the exception it may fail to set: one of its
   allocations can fail without MemoryError (a CPython bug), and returning NULL with no
   exception set would crash the caller's error handling. */
static PyObject *hps_type_from_spec(PyObject *module, PyType_Spec *spec, PyObject *bases) {
    PyObject *t = PyType_FromModuleAndSpec(module, spec, bases);
    if (t == NULL && !PyErr_Occurred())
        PyErr_NoMemory();
    return t;
}
/* tp_new of hpystate's classes that only hpystate makes (definitions' handles, bindings):
   made from Python they would be empty, and reading an empty one could crash. hpystate
   creates them with Cython's own tp_new, called directly. */
static PyObject *hps_no_new(PyTypeObject *t, PyObject *args, PyObject *kwds) {
    (void)args;
    (void)kwds;
    const char *name = strrchr(t->tp_name, '.');
    name = name != NULL ? name + 1 : t->tp_name;
    PyErr_Format(PyExc_TypeError, "cannot create 'hpystate.%s' instances directly: hpystate "
                 "makes them (see help(hpystate.%s))", name, name);
    return NULL;
}
/* Cython re-raises the exception a C implementation left set through this. */
static PyObject *hps_pending_error(void) {
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError,
            "hpystate: a C implementation reported an error without setting an exception");
    return NULL;
}
/* ModuleState's tp_new. Cython's own allocates with tp_alloc directly; on 3.11/3.12
   that skips the managed-dict initialisation object.__new__ does, so attribute access
   on a Python-class state (``state.count``) was never specialised. This
   allocates through object.__new__ (no argument check: args are not passed on) and
   then does what Cython's tp_new does for ModuleState's own fields: ``_module`` (the
   first field, checked by hps_state_install) starts as None; the weak-reference list
   stays zeroed. Cython subclasses call this through the slot and then set their own
   fields, as they do with Cython's. */
static PyObject *hps_state_new(PyTypeObject *t, PyObject *args, PyObject *kwds) {
    PyObject *empty = PyTuple_New(0);   /* the (per-interpreter) empty-tuple singleton */
    if (empty == NULL) {
        return NULL;
    }
    PyObject *o = PyBaseObject_Type.tp_new(t, empty, NULL);
    Py_DECREF(empty);
    if (o != NULL) {
        *(PyObject **)((char *)o + sizeof(PyObject)) = Py_NewRef(Py_None);
    }
    return o;
}
/* CPython's dealloc, traverse and clear of classes defined in Python (noted by
   _instance.pxi at import; the same functions in every interpreter), for the layout types'
   slots. C statics here rather than in Cython, which warns about every C global under
   subinterpreter support; so is the capsule's table (_import.pxi), filled the same way by
   every interpreter. */
static destructor hps_subtype_dealloc = NULL;
static void *hps_subtype_traverse = NULL;
static void *hps_subtype_clear = NULL;
static void hps_note_subtype_fns(void *dealloc, void *traverse, void *clear) {
    hps_subtype_dealloc = (destructor)dealloc;
    hps_subtype_traverse = traverse;
    hps_subtype_clear = clear;
}
#define hps_subtype_dealloc_fn ((void *)hps_subtype_dealloc)
static HpyState_CAPI hps_c_api;
/* Whether ModuleState's dealloc drops the reference an object holds to its type. Only a
   heap type is referenced; and a class defined in Python over a static base (a state
   class from a Cython module built without type specs) has its reference dropped by
   CPython's subtype_dealloc, which does so exactly when the nearest base with a dealloc
   of its own is static. */
static int hps_state_owns_type_ref(PyTypeObject *tp) {
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        return 0;
    }
    PyTypeObject *b = tp;
    while (b->tp_dealloc == hps_subtype_dealloc && b->tp_base != NULL) {
        b = b->tp_base;
    }
    return (b->tp_flags & Py_TPFLAGS_HEAPTYPE) != 0;
}
/* ModuleState's tp_dealloc. hpystate's own Cython module is built with type specs
   (ModuleState is a heap type), but a state class may come from a Cython module built
   without them (a static type): Cython's own dealloc would then drop a reference to
   that static type on every state freed, and a second one to a Python subclass of it. */
static void hps_state_dealloc(PyObject *o) {
    PyTypeObject *tp = Py_TYPE(o);
    if (tp->tp_finalize != NULL && tp->tp_dealloc == hps_state_dealloc) {
        if (PyObject_CallFinalizerFromDealloc(o) < 0) {
            return;                       /* resurrected */
        }
    }
    PyObject_GC_UnTrack(o);
    if (*(PyObject **)((char *)o + sizeof(PyObject) + 2 * sizeof(PyObject *)) != NULL) {
        PyObject_ClearWeakRefs(o);
    }
    Py_CLEAR(*(PyObject **)((char *)o + sizeof(PyObject)));
    int owns = hps_state_owns_type_ref(tp);
    tp->tp_free(o);
    if (owns) {
        Py_DECREF(tp);
    }
}
/* Layout expected: PyObject_HEAD, _module, _block (a C pointer), __weakref__. Once per
   interpreter: with Cython's type specs each interpreter has its own ModuleState type. */
static int hps_state_install(PyTypeObject *t) {
    if (t->tp_basicsize != (Py_ssize_t)(sizeof(PyObject) + 3 * sizeof(PyObject *)) ||
            t->tp_weaklistoffset != (Py_ssize_t)(sizeof(PyObject) + 2 * sizeof(PyObject *))) {
        PyErr_SetString(PyExc_SystemError, "hpystate: unexpected ModuleState layout");
        return -1;
    }
    t->tp_new = hps_state_new;
    t->tp_dealloc = hps_state_dealloc;
    PyType_Modified(t);
    return 0;
}
/* Module slots declaring subinterpreter and free-threading support, where they exist
   (0: not on this version). */
#if PY_VERSION_HEX >= 0x030C0000
#define HPS_MOD_MULTIPLE_INTERPRETERS Py_mod_multiple_interpreters
#else
#define HPS_MOD_MULTIPLE_INTERPRETERS 0
#endif
#if PY_VERSION_HEX >= 0x030D0000
#define HPS_MOD_GIL Py_mod_gil
#define HPS_MOD_GIL_USED Py_MOD_GIL_USED
#define HPS_MOD_GIL_NOT_USED Py_MOD_GIL_NOT_USED
#else
#define HPS_MOD_GIL 0
#define HPS_MOD_GIL_USED NULL
#define HPS_MOD_GIL_NOT_USED NULL
#endif
/* Exec slot of real extension entries (hpystate.h): CPython may have run the module's
   PyInit in another interpreter (3.13: the main one), so the importing interpreter may
   not have imported hpystate yet, and Cython code needs its module there. Plain C:
   import it, then run the Cython exec function (set once at module init). */
static int (*hps_cython_exec)(PyObject *) = NULL;
static int hps_extension_exec(PyObject *module) {
    PyObject *core = PyImport_ImportModule("hpystate._core");
    if (core == NULL) {
        return -1;
    }
    Py_DECREF(core);
    return hps_cython_exec(module);
}
static void hps_set_cython_exec(void *f) {
    hps_cython_exec = (int (*)(PyObject *))f;
}
static int hps_in_main_interpreter(void) {
    return PyInterpreterState_Get() == PyInterpreterState_Main();
}
#define HPS_T_OBJECT_EX T_OBJECT_EX
#define HPS_T_PYSSIZET T_PYSSIZET
#define HPS_READONLY READONLY


#ifdef Py_GIL_DISABLED
#define HPS_FREE_THREADED 1
#else
#define HPS_FREE_THREADED 0
#endif

/* 3.14+: objects whose reference count is deferred let free-threaded CPython specialise
   calls through them (``obj.method()``) without contention on their reference count. */
static inline void hps_enable_deferred_refcount(PyObject *op) {
#if PY_VERSION_HEX >= 0x030E0000 && defined(Py_GIL_DISABLED)
    (void)PyUnstable_Object_EnableDeferredRefcount(op);
#else
    (void)op;
#endif
}

/* Extension entries that hpystate completed, in a list that is only ever prepended to
   (entries are static data of loaded extensions, never freed). On 3.15 a module made by
   PyModExport has no PyModuleDef: its token (the entry) is looked up here, so nothing ever
   reads through a foreign module's token. Writers hold hps_lock (each entry is added once,
   when hpystate completes it); readers take no lock, so the head is published with release
   after the entry's ``next`` is set. */
static HpyState_ExtensionDef *_Atomic hps_ext_defs = NULL;

static void hps_ext_def_add(HpyState_ExtensionDef *x) {
    x->next = atomic_load_explicit(&hps_ext_defs, memory_order_relaxed);
    atomic_store_explicit(&hps_ext_defs, x, memory_order_release);
}

/* The PyModuleDef-shaped definition behind a module: its PyModuleDef (any CPython), else on
   3.15 the hpystate extension entry that is its token. NULL without an exception: none. */
static PyModuleDef *hps_module_def(PyObject *module) {
    PyModuleDef *d = PyModule_GetDef(module);
    if (d != NULL || PyErr_Occurred()) {
        if (d == NULL) {
            PyErr_Clear();
        }
        return d;
    }
#if PY_VERSION_HEX >= 0x030F0000
    void *token = NULL;
    if (PyModule_GetToken(module, &token) < 0) {
        PyErr_Clear();
        return NULL;
    }
    HpyState_ExtensionDef *p = atomic_load_explicit(&hps_ext_defs, memory_order_acquire);
    for (; p != NULL; p = p->next) {
        if ((void *)p == token) {
            return &p->moddef;
        }
    }
#endif
    return NULL;
}

#if PY_VERSION_HEX >= 0x030F0000
/* PEP 793: the slots PyModExport_<name> returns, the same module as the PyModuleDef that
   PyInit_<name> returns (filled in once, under hps_lock, after moddef); the token is the
   entry. */
PyABIInfo_VAR(hps_abi_info);          /* a static PyABIInfo */

static void hps_prepare_export(HpyState_ExtensionDef *x) {
    PyModuleDef *d = &x->moddef;
    PySlot slots[] = {
        PySlot_DATA(Py_mod_abi, &hps_abi_info),
        PySlot_DATA(Py_mod_name, d->m_name),
        PySlot_SIZE(Py_mod_state_size, d->m_size),
        PySlot_FUNC(Py_mod_state_traverse, d->m_traverse),
        PySlot_FUNC(Py_mod_state_clear, d->m_clear),
        PySlot_FUNC(Py_mod_state_free, d->m_free),
        PySlot_FUNC(Py_mod_exec, x->slots[0].value),
        PySlot_DATA(Py_mod_multiple_interpreters, x->slots[1].value),
        PySlot_DATA(Py_mod_gil, x->slots[2].value),
        PySlot_DATA(Py_mod_token, x),
        PySlot_END,
    };
    Py_BUILD_ASSERT(sizeof(slots) <= sizeof(x->export_slots));
    memcpy(x->export_slots, slots, sizeof(slots));
}

static void *hps_export_slots(HpyState_ExtensionDef *x) {
    return x->export_slots;
}
#else
static void hps_prepare_export(HpyState_ExtensionDef *x) {
    (void)x;
}

static void *hps_export_slots(HpyState_ExtensionDef *x) {
    (void)x;
    PyErr_SetString(PyExc_SystemError, "hpystate: PyModExport needs CPython 3.15");
    return NULL;
}
#endif

#endif /* HPYSTATE_CAPI_H */
