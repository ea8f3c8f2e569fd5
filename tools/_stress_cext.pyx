# cython: language_level=3
"""The C-level twin of _stress_module.py for tools/stress.py: the same members, each
implemented in C through hpystate's cimport API (trampolines), plus a C finalizer. stress.py
compiles it with hpystate.build.cythonize, so subinterpreters can import it too."""
import hpystate
from cpython.object cimport PyObject
from hpystate.state cimport ModuleState, TypeDef

NAME = "hps_stress_cmod"


cdef class CState(ModuleState):
    cdef public long calls
    cdef public list payload

    def __init__(self):
        self.calls = 0
        self.payload = [object() for _ in range(8)]     # something to leak, if we did


ctypedef CState State
include "hpystate/checked.pxi"     # typed registration: Cython checks each impl


# Boxes created and finalized in this process (interpreter-wide counters would need module
# state; these are only read by the main interpreter's leak check).
cdef long _created = 0
cdef long _finalized = 0


def counts():
    """(Boxes initialised, Boxes finalized) so far in this process."""
    return _created, _finalized


defn = hpystate.ModuleDef(NAME, state=CState, gil_used=False)
Error = defn.exception("Error", base=ValueError)


@defn.type
class Box:
    __slots__ = ("value",)


cdef TypeDef BoxT = defn["Box"]


def definition():
    return defn


cdef object c_whoami(CState st):
    st.calls += 1
    return st


cdef object c_owner(CState st, object self):
    return st


cdef object c_fail(CState st, object self):
    raise Error.of(st)("failed")


cdef int c_init(CState st, object self, PyObject *args, PyObject *kwargs) except -1:
    global _created
    self.value = (<tuple>args)[0] if len(<tuple>args) else 0
    _created += 1
    return 0


cdef object c_add(CState st, object a, object b):
    box_type = BoxT.of(st)
    if type(a) is not box_type:             # C semantics: the Box may be either operand
        a, b = b, a
    return box_type(a.value + b)


cdef Py_ssize_t c_len(CState st, object self) except -1:
    return 1


cdef int c_finalize(CState st, object self) except -1:
    global _finalized
    _finalized += 1
    return 0


cdef object c_seen(CState st, object self):
    return st


add_function_noargs(defn, "whoami", c_whoami)
add_method_noargs(BoxT, "owner", c_owner)
add_method_noargs(BoxT, "fail", c_fail)
set_tp_init(BoxT, c_init)
set_nb_add(BoxT, c_add)
set_sq_length(BoxT, c_len)
set_tp_finalize(BoxT, c_finalize)
add_getset(BoxT, "seen", c_seen, NULL)
