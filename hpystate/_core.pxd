# Declarations of hpystate's runtime classes that other Cython modules may cimport.
# The public contract re-exports them from ``hpystate/state.pxd``; cimport from there.

cdef class ModuleState:
    cdef object _module
    cdef object __weakref__
