/* hpystate's C helpers for what differs between CPython versions and builds: PEP 793
 * module export (3.15), the token that identifies an extension entry's modules, free-threaded
 * builds. Private to hpystate/_core.pyx (declared in _capi.pxd). */
#ifndef HPYSTATE_COMPAT_H
#define HPYSTATE_COMPAT_H

#include <Python.h>
#include "hpystate.h"

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
   reads through a foreign module's token. Guarded by hps_lock (in _capi.pxd). */
static HpyState_ExtensionDef *hps_ext_defs = NULL;

static void hps_ext_def_add(HpyState_ExtensionDef *x) {
    HpyState_ExtensionDef *p;
    for (p = hps_ext_defs; p != NULL; p = p->next) {
        if (p == x) {
            return;
        }
    }
    x->next = hps_ext_defs;
    hps_ext_defs = x;
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
    for (HpyState_ExtensionDef *p = hps_ext_defs; p != NULL; p = p->next) {
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

#endif /* HPYSTATE_COMPAT_H */
