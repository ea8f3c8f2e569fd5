# hpystate's cimport contract.
#
#     from hpystate.state cimport ModuleState
#
#     cdef class CounterState(ModuleState):
#         cdef public long count
#
# ``ModuleState`` is the base of every module state class. Instances are created by
# hpystate, one per module instance; ``self.module`` is that instance (a strong reference).

from hpystate._core cimport ModuleState
