# Private: plain Python.h structs that hpystate's cimportable declarations (_core.pxd) need.
# Nothing here adds code to a module that cimports it.

cdef extern from "Python.h":
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
