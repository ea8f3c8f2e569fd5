# Private: the C-API pieces hpystate's machinery uses, declared with raw pointers where
# reference ownership or NULL-on-error must stay visible (vectorcall paths, borrowed refs).
# Not part of the public contract (that is ``hpystate/state.pxd``).

from cpython.object cimport PyObject

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
    Py_ssize_t PyTuple_GET_SIZE(PyObject *)
    PyObject *PyErr_NoMemory()
    void *PyMem_Malloc(size_t)
    void PyMem_Free(void *)
    void PyType_Modified(PyObject *)
    PyObject *PyType_GetModule(object type) except NULL   # borrowed
    object PyMethod_New(object func, object self)

    # --- module definitions (PEP 489) ---
    ctypedef struct PyModuleDef_Base:
        pass
    ctypedef struct PyModuleDef_Slot:
        int slot
        void *value
    ctypedef struct PyModuleDef:
        PyModuleDef_Base m_base
        const char *m_name
        const char *m_doc
        Py_ssize_t m_size
        void *m_methods
        PyModuleDef_Slot *m_slots
        void *m_traverse
        void *m_clear
        void *m_free
    int Py_mod_exec
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
        pass
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
