# Declarations of hpystate's runtime classes and C-level registration functions that other
# Cython modules may cimport. The public contract re-exports them from
# ``hpystate/state.pxd``; cimport from there.

from cpython.object cimport PyObject
from hpystate._pydefs cimport PyModuleDef, PyModuleDef_Slot


cdef class ModuleState:
    cdef object _module
    cdef void *_block           # its module's _Block while the module holds it (type_of)
    cdef object __weakref__


# --- private layout, declared here because the classes below embed or reference it ------

ctypedef struct _CItem:     # one C resource a module instance owns (released in m_free)
    int kind                # >= 0: trampoline entry (kind, index); else a _CItemKind
    int index
    void *ptr

cdef enum _CItemKind:
    _CITEM_MEMORY = -1      # ptr: memory to PyMem_Free
    _CITEM_GETSET = -2      # ptr: a _GetSetClosure, holding a state reference
    _CITEM_RESERVED = -3    # room taken before a trampoline entry is (nothing to release)
    _CITEM_OBJECT = -4      # ptr: a strong reference (a Python-level slot's implementations)

ctypedef struct _Block:     # a module instance's PEP 489 state (m_size)
    PyObject *state         # the ModuleState instance
    PyObject *moddef        # the ModuleDef (released only in m_free: it owns the PyModuleDef)
    PyObject *objects       # list: per-instance types and exceptions, by handle index
    _CItem *citems          # C resources of C-level bindings, released in m_free
    Py_ssize_t n_citems
    Py_ssize_t cap_citems

ctypedef struct _DefStorage:
    PyModuleDef moddef      # must stay first: PyModuleDef* -> _DefStorage*
    PyObject *moddef_obj    # borrowed back-pointer to the ModuleDef object
    PyModuleDef_Slot slots[4]  # exec, multiple interpreters (3.12+), gil (3.13+), end


cdef class ModuleDef:
    cdef _DefStorage _c
    cdef readonly str name
    cdef readonly object state
    cdef readonly object doc
    cdef readonly str multiple_interpreters
    cdef readonly bint gil_used
    cdef bytes _name_b
    cdef bytes _doc_b
    cdef list _functions        # [FunctionDef]
    cdef list _handles          # [TypeDef | ExceptionDef], creation order
    cdef list _exec_hooks
    cdef set _names
    cdef bint _frozen
    cdef int *_held             # trampoline entries its instances hold, by kind (hps_lock)
    cdef list _state_checks     # [(_state_check address, binding)]: checked.pxi's state tests
    cdef Py_ssize_t _citems_hint  # records its last instance's block held (_block_fit)
    cdef object __weakref__


cdef class _Handle:
    cdef readonly ModuleDef moddef
    cdef readonly str name
    cdef Py_ssize_t _index


cdef class TypeDef(_Handle):
    cdef object _base                   # TypeDef, a type, or None
    cdef tuple _fields                 # __slots__ fields of the instance layout
    cdef bint _add_dict
    cdef bint _mutable
    cdef object _doc
    cdef list _members                 # [_MemberDef], Python- and C-level, definition order
    cdef dict _claims                  # attribute name -> the member defining it (_claim)
    cdef list _field_names_b           # field names as bytes, alive as long as the def
    cdef object _layout                # the shared layout type, made at first instance
    cdef bytes _layout_name
    cdef Py_ssize_t _n_c_methods       # C-level members in _members, by kind
    cdef Py_ssize_t _n_c_slots
    cdef Py_ssize_t _n_c_getsets


cdef class ExceptionDef(_Handle):
    cdef object _base
    cdef object _doc


# --- C-level registration (the cimport API; see hpystate/state.pxd) ---------------------

# A checked registration's state test (hpystate/checked.pxi): raises TypeError unless its
# argument is an instance of the state class the implementations were compiled for.
ctypedef int (*_state_check)(object state) except -1

cdef int _add_function(mod, str name, void *impl, int flags, str doc, _state_check check,
                       str api) except -1
cdef int _add_method(tp, str name, void *impl, int flags, str doc, _state_check check,
                     str api) except -1
cdef int _add_slot(tp, str slot, void *impl, _state_check check, str api) except -1
cdef int _add_getset(tp, str name, void *get, void *set, str doc, _state_check check,
                     str api) except -1

# the unchecked escape hatch (void * implementations)
cdef int add_function_unchecked(mod, str name, void *impl, int flags, str doc=*) except -1
cdef int add_method_unchecked(tp, str name, void *impl, int flags, str doc=*) except -1
cdef int add_slot_unchecked(tp, str slot, void *impl) except -1
cdef int add_getset_unchecked(tp, str name, void *get, void *set, str doc=*) except -1


# --- this instance's types and exceptions, at C speed (hpystate.state: type_of, ...) -------

cdef object _handle_error(_Handle h, ModuleState st)

cdef extern from "Python.h":
    # borrowed, unchecked: for a list the block owns (no temporary references)
    Py_ssize_t _hps_list_size "PyList_GET_SIZE"(PyObject *list)
    PyObject *_hps_list_item "PyList_GET_ITEM"(PyObject *list, Py_ssize_t i)

cdef inline object _handle_of(_Handle h, ModuleState st):
    """``h.of(st)`` without a Python call: the state's module block (``st._block``, NULL
    once the module let go of the state) holds its per-instance objects by handle index.
    Anything unexpected takes the slow path, which raises."""
    cdef _Block *b
    if h is not None and st is not None:
        b = <_Block *>st._block
        if (b != NULL and b.moddef == <PyObject *>h.moddef and b.objects != NULL
                and h._index < _hps_list_size(b.objects)):
            return <object>_hps_list_item(b.objects, h._index)
    return _handle_error(h, st)
