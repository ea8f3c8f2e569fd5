/* hpystate's C header, for the entry points of real extension modules.
 *
 * hpystate.build.extension("pkg.mod", "pkg._impl:moddef") generates a C file that includes
 * this header and defines
 *
 *     PyMODINIT_FUNC PyInit_mod(void)
 *     {
 *         return HpyState_ModuleInit("pkg.mod", "pkg._impl:moddef");
 *     }
 *
 * HpyState_ModuleInit imports hpystate (in the importing interpreter), resolves the
 * hpystate.ModuleDef named by the target and returns its PyModuleDef, initialised: CPython's
 * extension loader then creates and executes the module the PEP 489 multi-phase way.
 * Include directory: hpystate.get_include().
 */
#ifndef HPYSTATE_H
#define HPYSTATE_H

#include <Python.h>

#define HPYSTATE_CAPI_VERSION 1

typedef struct {
    int version;
    /* New-style definition for module `name` from "package.module:attribute", or NULL
       with an exception set. */
    PyObject *(*extension_def)(const char *name, const char *target);
} HpyState_CAPI;

static inline PyObject *
HpyState_ModuleInit(const char *name, const char *target)
{
    HpyState_CAPI *api = (HpyState_CAPI *)PyCapsule_Import("hpystate._core._C_API", 0);
    if (api == NULL) {
        return NULL;
    }
    if (api->version != HPYSTATE_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "extension %s was built for hpystate C API version %d, the installed "
                     "hpystate has version %d: rebuild it", name, HPYSTATE_CAPI_VERSION,
                     api->version);
        return NULL;
    }
    return api->extension_def(name, target);
}

#endif /* HPYSTATE_H */
