/* hpystate's C header, for the entry points of real extension modules.
 *
 * hpystate.build.extension("pkg.mod", "pkg._impl:moddef") generates a C file like
 *
 *     #include "hpystate.h"
 *     static HpyState_ExtensionDef def = HPYSTATE_EXTENSION_DEF(
 *         "pkg.mod", "pkg._impl:moddef", HPYSTATE_OWN_GIL, 1);
 *     PyMODINIT_FUNC PyInit_mod(void) { return HpyState_ModuleInit(&def); }
 *
 * The definition is a process-wide static PyModuleDef (PEP 489 multi-phase) whose slots and
 * callbacks are hpystate's. CPython may run PyInit_mod in another interpreter than the one
 * importing (3.13 runs it in the main interpreter), so PyInit_mod only fills that static
 * definition in; the module's exec slot, running in the importing interpreter, imports
 * "pkg._impl" there and initialises the instance from its hpystate.ModuleDef.
 * Include directory: hpystate.get_include().
 */
#ifndef HPYSTATE_H
#define HPYSTATE_H

#include <Python.h>

#define HPYSTATE_CAPI_VERSION 2

/* multiple_interpreters= values (as Cython's subinterpreters_compatible directive) */
#define HPYSTATE_NO_SUBINTERPRETERS 0
#define HPYSTATE_SHARED_GIL 1
#define HPYSTATE_OWN_GIL 2

typedef struct {
    PyModuleDef moddef;            /* filled in by hpystate: first, see hpystate/_core.pxd */
    PyObject *owner;               /* always NULL: marks a definition found through `target` */
    PyModuleDef_Slot slots[4];
    const char *target;            /* "package.module:attribute" of the hpystate.ModuleDef */
    int multiple_interpreters;     /* HPYSTATE_OWN_GIL, ... */
    int gil_used;
} HpyState_ExtensionDef;

#define HPYSTATE_EXTENSION_DEF(name, target, multiple_interpreters, gil_used) \
    {{PyModuleDef_HEAD_INIT, (name), NULL, 0, NULL, NULL, NULL, NULL, NULL}, NULL, \
     {{0, NULL}}, (target), (multiple_interpreters), (gil_used)}

typedef struct {
    int version;
    /* Complete `def` (once per process) and return it initialised, or NULL with an
       exception set. */
    PyObject *(*extension_init)(HpyState_ExtensionDef *def);
} HpyState_CAPI;

static inline PyObject *
HpyState_ModuleInit(HpyState_ExtensionDef *def)
{
    HpyState_CAPI *api = (HpyState_CAPI *)PyCapsule_Import("hpystate._core._C_API", 0);
    if (api == NULL) {
        return NULL;
    }
    if (api->version != HPYSTATE_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "extension %s was built for hpystate C API version %d, the installed "
                     "hpystate has version %d: rebuild it", def->moddef.m_name,
                     HPYSTATE_CAPI_VERSION, api->version);
        return NULL;
    }
    return api->extension_init(def);
}

#endif /* HPYSTATE_H */
