# Private: the C-API pieces hpystate's machinery uses, declared with raw pointers where
# reference ownership or NULL-on-error must stay visible (vectorcall paths, borrowed refs).
# Not part of the public contract (that is ``hpystate/state.pxd``).

from cpython.object cimport PyObject
from hpystate._pydefs cimport PyModuleDef_Base, PyModuleDef_Slot, PyModuleDef

cdef extern from "Python.h":
    """
    /* Small C helpers hpystate cannot express in Cython (see docs/design.md). */
    #include "structmember.h"

    static void hps_moddef_base_init(PyModuleDef *d) {
        PyModuleDef_Base base = PyModuleDef_HEAD_INIT;
        d->m_base = base;
    }
    /* Getset for the instance __dict__ of hpystate types that have one. Constant data. */
    static PyGetSetDef hps_dict_getset[] = {
        {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL}
    };
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
    #include <stdatomic.h>
    static atomic_flag hps_table_lock = ATOMIC_FLAG_INIT;
    static void hps_lock(void) {
        while (atomic_flag_test_and_set_explicit(&hps_table_lock, memory_order_acquire)) {}
    }
    static void hps_unlock(void) {
        atomic_flag_clear_explicit(&hps_table_lock, memory_order_release);
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
       on a Python-class state (``state.count``) was never specialised (3x slower). This
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
    /* ModuleState's tp_dealloc. hpystate's own Cython module is built with type specs
       (ModuleState is a heap type), but a state class may come from a Cython module built
       without them (a static type): Cython's own dealloc would then drop a reference to
       that static type on every state freed. Like CPython's subtype_dealloc, this drops the
       type reference only when the object's type is a heap type. */
    static void hps_state_dealloc(PyObject *o) {
        PyTypeObject *tp = Py_TYPE(o);
        if (tp->tp_finalize != NULL && tp->tp_dealloc == hps_state_dealloc) {
            if (PyObject_CallFinalizerFromDealloc(o) < 0) {
                return;                       /* resurrected */
            }
        }
        PyObject_GC_UnTrack(o);
        if (*(PyObject **)((char *)o + sizeof(PyObject) + sizeof(PyObject *)) != NULL) {
            PyObject_ClearWeakRefs(o);
        }
        Py_CLEAR(*(PyObject **)((char *)o + sizeof(PyObject)));
        tp->tp_free(o);
        if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
            Py_DECREF(tp);
        }
    }
    /* Layout expected: PyObject_HEAD, _module, __weakref__. Once per interpreter: with
       Cython's type specs each interpreter has its own ModuleState type. */
    static int hps_state_install(PyTypeObject *t) {
        if (t->tp_basicsize != (Py_ssize_t)(sizeof(PyObject) + 2 * sizeof(PyObject *)) ||
                t->tp_weaklistoffset != (Py_ssize_t)(sizeof(PyObject) + sizeof(PyObject *))) {
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
    """
    ctypedef struct PyTypeObject_ "PyTypeObject":
        const char *tp_name
        Py_ssize_t tp_basicsize
        Py_ssize_t tp_itemsize
        Py_ssize_t tp_vectorcall_offset
        unsigned long tp_flags
        void *tp_call
        void *tp_dealloc
        void *tp_traverse
        void *tp_clear
        Py_ssize_t tp_weaklistoffset
        Py_ssize_t tp_dictoffset
        PyTypeObject_ *tp_base

    int hps_state_install(PyTypeObject_ *t) except -1
    unsigned long Py_TPFLAGS_DEFAULT
    unsigned long Py_TPFLAGS_BASETYPE
    unsigned long Py_TPFLAGS_HAVE_GC
    unsigned long Py_TPFLAGS_HEAPTYPE
    unsigned long Py_TPFLAGS_IMMUTABLETYPE
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    unsigned long Py_TPFLAGS_METHOD_DESCRIPTOR

    size_t PY_VECTORCALL_ARGUMENTS_OFFSET
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    PyObject *PyObject_Vectorcall(PyObject *callable, PyObject **args, size_t nargsf,
                                  PyObject *kwnames)
    PyObject *PyVectorcall_Call(PyObject *callable, PyObject *tuple, PyObject *kwargs)
    # The same, for Cython code that wants a new reference or a raised exception.
    object PyObject_Vectorcall_obj "PyObject_Vectorcall"(object callable, PyObject **args,
                                                         size_t nargsf, PyObject *kwnames)
    Py_ssize_t PyTuple_GET_SIZE(PyObject *)
    PyObject *PyErr_NoMemory()
    void *PyMem_Malloc(size_t)
    void *PyMem_Realloc(void *, size_t)
    void PyMem_Free(void *)
    void PyType_Modified(PyTypeObject_ *)
    PyObject *PyType_GetModule(PyTypeObject_ *type) except NULL   # borrowed
    object PyMethod_New(object func, object self)

    # --- module definitions (PEP 489; the structs are in _pydefs.pxd) ---
    int Py_mod_exec
    int HPS_MOD_MULTIPLE_INTERPRETERS
    int HPS_MOD_GIL
    void *HPS_MOD_GIL_USED
    void *HPS_MOD_GIL_NOT_USED
    int hps_in_main_interpreter()
    int hps_extension_exec(PyObject *module)
    void hps_set_cython_exec(void *f)
    void hps_moddef_base_init(PyModuleDef *)
    object PyModule_FromDefAndSpec(PyModuleDef *, object spec)
    int PyModule_ExecDef(object module, PyModuleDef *) except -1
    bint PyModule_Check(object)
    PyModuleDef *PyModule_GetDef(PyObject *)        # NULL: no def (error set for non-modules)
    void *PyModule_GetState(PyObject *)             # NULL: no state (may set no error)

    # --- heap types from specs ---
    ctypedef struct PyType_Slot:
        int slot
        void *pfunc
    ctypedef struct PyType_Spec:
        const char *name
        int basicsize
        int itemsize
        unsigned int flags
        PyType_Slot *slots
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags
        const char *doc
    ctypedef struct PyGetSetDef:
        const char *name
        void *get
        void *set
        const char *doc
        void *closure
    ctypedef struct PyMethodDef:
        const char *ml_name
        void *ml_meth
        int ml_flags
        const char *ml_doc
    int METH_NOARGS, METH_O, METH_FASTCALL, METH_KEYWORDS
    int Py_tp_methods
    object PyCFunction_NewEx(PyMethodDef *, object self, object module)
    void hps_lock()
    object hps_pending_error()
    void hps_unlock()
    Py_ssize_t PyNumber_AsSsize_t(object, object exc) except? -1
    PyObject *PyErr_Occurred()                      # borrowed; NULL: none pending

    # type slot ids of the slots in tools/slot_table.py: _slot_table.pxd
    PyGetSetDef hps_dict_getset[]
    bint HPS_MANAGED_PREHEADER
    unsigned long HPS_TPFLAGS_MANAGED_DICT
    unsigned long HPS_TPFLAGS_MANAGED_WEAKREF
    int HPS_T_OBJECT_EX
    int HPS_T_PYSSIZET
    int HPS_READONLY
    int Py_tp_doc, Py_tp_members, Py_tp_getset, Py_tp_dealloc, Py_tp_traverse, Py_tp_clear
    object PyType_FromModuleAndSpec(object module, PyType_Spec *spec, object bases)

    ctypedef int (*visitproc)(PyObject *, void *)


cdef extern from "hpystate.h":
    int HPYSTATE_CAPI_VERSION
    ctypedef struct HpyState_ExtensionDef:
        PyModuleDef moddef
        PyObject *owner
        PyModuleDef_Slot slots[4]
        const char *target
        int multiple_interpreters
        int gil_used
    ctypedef struct HpyState_CAPI:
        int version
        PyObject *(*extension_init)(HpyState_ExtensionDef *d) except NULL
        void *(*extension_export)(HpyState_ExtensionDef *d) except NULL
    PyObject *PyModuleDef_Init(PyModuleDef *d)
    object PyCapsule_New(void *pointer, const char *name, void *destructor)


cdef extern from "_compat.h":
    bint HPS_FREE_THREADED
    void hps_enable_deferred_refcount(PyObject *op)
    void hps_ext_def_add(HpyState_ExtensionDef *x)
    PyModuleDef *hps_module_def(PyObject *module)   # NULL: not a module with a definition
    void hps_prepare_export(HpyState_ExtensionDef *x)  # under hps_lock
    void *hps_export_slots(HpyState_ExtensionDef *x) except NULL
