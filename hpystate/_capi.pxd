# Private: the C-API pieces hpystate's machinery uses, declared with raw pointers where
# reference ownership or NULL-on-error must stay visible (vectorcall paths, borrowed refs).
# Not part of the public contract (that is ``hpystate/state.pxd``).

from cpython.object cimport PyObject
from hpystate._pydefs cimport PyModuleDef_Base, PyModuleDef_Slot, PyModuleDef

cdef extern from "_capi.h":
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
        PyObject *tp_dict
        void *tp_new
        void *tp_vectorcall

    int hps_state_install(PyTypeObject_ *t) except -1
    void hps_note_subtype_fns(void *dealloc, void *traverse, void *clear)
    void *hps_subtype_dealloc_fn
    void *hps_subtype_traverse
    void *hps_subtype_clear
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
    object PyVectorcall_Call_obj "PyVectorcall_Call"(object callable, object tuple,
                                                     object kwargs)
    # The same, for Cython code that wants a new reference or a raised exception.
    object PyObject_Vectorcall_obj "PyObject_Vectorcall"(object callable, PyObject **args,
                                                         size_t nargsf, PyObject *kwnames)
    Py_ssize_t PyTuple_GET_SIZE(PyObject *)
    PyObject *PyErr_NoMemory()
    void *PyMem_Malloc(size_t)
    void *PyMem_Calloc(size_t, size_t)
    void *PyMem_Realloc(void *, size_t)
    void PyMem_Free(void *)
    void PyType_Modified(PyTypeObject_ *)
    void PyObject_GC_UnTrack(void *)
    bint PyObject_TypeCheck(PyObject *o, PyTypeObject_ *t)
    PyTypeObject_ *Py_TYPE(PyObject *o)
    bint PyType_IsSubtype(PyTypeObject_ *a, PyTypeObject_ *b)
    PyObject *hps_no_new(PyTypeObject_ *t, PyObject *args, PyObject *kwds) except NULL
    Py_ssize_t hps_sequence_index(PyObject *self, PyObject *key) except? -1
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
    object PyDescr_NewMethod(PyTypeObject_ *, PyMethodDef *)
    PyObject *PyDescr_NAME(object descr)             # borrowed: the interned name
    void hps_lock()
    object hps_pending_error()
    void hps_unlock()
    Py_ssize_t PyNumber_AsSsize_t(object, object exc) except? -1
    PyObject *PyErr_Occurred()                      # borrowed; NULL: none pending

    # type slot ids of the slots in tools/slot_table.py: _slot_table.pxd
    PyGetSetDef hps_layout_getset[]
    PyGetSetDef hps_layout_dict_getset[]
    int (*hps_assign_class)(PyObject *self, PyObject *value) except -1
    PyObject *hps_type_module(PyObject *t)
    bint HPS_MANAGED_PREHEADER
    unsigned long HPS_TPFLAGS_MANAGED_DICT
    unsigned long HPS_TPFLAGS_MANAGED_WEAKREF
    int HPS_T_OBJECT_EX
    int HPS_T_PYSSIZET
    int HPS_READONLY
    int Py_tp_doc, Py_tp_members, Py_tp_getset, Py_tp_dealloc, Py_tp_traverse, Py_tp_clear
    object hps_type_from_spec(object module, PyType_Spec *spec, object bases)

    ctypedef int (*visitproc)(PyObject *, void *)


cdef extern from "hpystate.h":
    int HPYSTATE_CAPI_VERSION
    ctypedef struct HpyState_ExtensionDef:
        PyModuleDef moddef
        PyObject *moddef_obj
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


cdef extern from "_capi.h":
    HpyState_CAPI hps_c_api       # the capsule's table (_import.pxi fills it)
    # PyObject_Vectorcall without its thread-state lookup (the bindings' calls)
    PyObject *hps_vcall(PyObject *f, PyObject **args, size_t nargsf, PyObject *kwnames)
    object hps_vcall_obj "hps_vcall"(object f, PyObject **args, size_t nargsf,
                                     PyObject *kwnames)
    bint HPS_FREE_THREADED
    void hps_enable_deferred_refcount(PyObject *op)
    void hps_ext_def_add(HpyState_ExtensionDef *x)
    PyModuleDef *hps_module_def(PyObject *module)   # NULL: not a module with a definition
    void hps_prepare_export(HpyState_ExtensionDef *x)  # under hps_lock
    void *hps_export_slots(HpyState_ExtensionDef *x) except NULL
