/* hpystate's C header, for the entry points of real extension modules.
 *
 * hpystate.build.extension("pkg.mod", "pkg._impl:moddef") generates a C file like
 *
 *     #include "hpystate.h"
 *     static HpyState_ExtensionDef def = HPYSTATE_EXTENSION_DEF(
 *         "pkg.mod", "pkg._impl:moddef", HPYSTATE_OWN_GIL, 1);
 *     PyMODINIT_FUNC PyInit_mod(void) { return HpyState_ModuleInit(&def); }
 *     HPYSTATE_MODEXPORT(mod, def)
 *
 * The definition is a process-wide static PyModuleDef (PEP 489 multi-phase) whose slots and
 * callbacks are hpystate's. CPython may run PyInit_mod in another interpreter than the one
 * importing (3.13 runs it in the main interpreter), so PyInit_mod only fills that static
 * definition in; the module's exec slot, running in the importing interpreter, imports
 * "pkg._impl" there and initialises the instance from its hpystate.ModuleDef.
 * On CPython 3.15+ the entry also exports PyModExport_mod (PEP 793), which CPython prefers:
 * the same module described as slots, with the entry as its Py_mod_token. Define
 * HPYSTATE_NO_MODEXPORT to build an entry with PyInit_mod only.
 * Include directory: hpystate.get_include().
 */
#ifndef HPYSTATE_H
#define HPYSTATE_H

#include <Python.h>

#define HPYSTATE_CAPI_VERSION 3

#if PY_VERSION_HEX >= 0x030F0000 && !defined(HPYSTATE_NO_MODEXPORT)
#define HPYSTATE_HAVE_MODEXPORT 1
#else
#define HPYSTATE_HAVE_MODEXPORT 0
#endif

/* multiple_interpreters= values (as Cython's subinterpreters_compatible directive) */
#define HPYSTATE_NO_SUBINTERPRETERS 0
#define HPYSTATE_SHARED_GIL 1
#define HPYSTATE_OWN_GIL 2

typedef struct HpyState_ExtensionDef {
    PyModuleDef moddef;            /* filled in by hpystate: first, see hpystate/_core.pxd */
    PyObject *moddef_obj;          /* always NULL: the ModuleDef is found through `target` */
    PyModuleDef_Slot slots[4];
    const char *target;            /* "package.module:attribute" of the hpystate.ModuleDef */
    int multiple_interpreters;     /* HPYSTATE_OWN_GIL, ... */
    int gil_used;
    struct HpyState_ExtensionDef *next;    /* hpystate's list of completed entries */
#if PY_VERSION_HEX >= 0x030F0000
    PySlot export_slots[12];       /* what PyModExport returns, filled in by hpystate */
#endif
} HpyState_ExtensionDef;

#define HPYSTATE_EXTENSION_DEF(name, target, multiple_interpreters, gil_used) \
    {{PyModuleDef_HEAD_INIT, (name), NULL, 0, NULL, NULL, NULL, NULL, NULL}, NULL, \
     {{0, NULL}}, (target), (multiple_interpreters), (gil_used), NULL}

typedef struct {
    int version;
    /* Complete `def` (once per process) and return it initialised, or NULL with an
       exception set. */
    PyObject *(*extension_init)(HpyState_ExtensionDef *def);
    /* 3.15+: complete `def` and return its PEP 793 slots, or NULL with an exception set. */
    void *(*extension_export)(HpyState_ExtensionDef *def);
} HpyState_CAPI;

/* Takes the name, not the definition: given the definition, GCC 12 at -O2 (IPA constant
   propagation + ipa-reference) wrongly proved the static definition read-only and placed it
   in .data.rel.ro, where hpystate's writes to complete it crash. */
static inline HpyState_CAPI *
HpyState_ImportCAPI(const char *name)
{
    HpyState_CAPI *api = (HpyState_CAPI *)PyCapsule_Import("hpystate._core._C_API", 0);
    if (api != NULL && api->version != HPYSTATE_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "extension %s was built for hpystate C API version %d, the installed "
                     "hpystate has version %d: rebuild it", name, HPYSTATE_CAPI_VERSION,
                     api->version);
        return NULL;
    }
    return api;
}

static inline PyObject *
HpyState_ModuleInit(HpyState_ExtensionDef *def)
{
    HpyState_CAPI *api = HpyState_ImportCAPI(def->moddef.m_name);
    return api == NULL ? NULL : api->extension_init(def);
}

#if HPYSTATE_HAVE_MODEXPORT
static inline PySlot *
HpyState_ModuleExport(HpyState_ExtensionDef *def)
{
    HpyState_CAPI *api = HpyState_ImportCAPI(def->moddef.m_name);
    return api == NULL ? NULL : (PySlot *)api->extension_export(def);
}

/* PyModExport_<SHORT> for the entry DEF (3.15+; nothing on older interpreters). */
#define HPYSTATE_MODEXPORT(SHORT, DEF) \
    PyMODEXPORT_FUNC PyModExport_##SHORT(void) { return HpyState_ModuleExport(&(DEF)); }
#else
#define HPYSTATE_MODEXPORT(SHORT, DEF)
#endif

#endif /* HPYSTATE_H */
