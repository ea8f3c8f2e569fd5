# cython: language_level=3
"""CPython's ``Modules/xxlimited.c`` (3.13), ported to hpystate's checked cimport API.

What the C template spends most of its lines on, hpystate does: the module state struct and
its traverse/clear/free (the state is a class; the per-instance types live in hpystate's
block), PyType_Spec and slot arrays (a class statement plus ``set_<slot>`` calls),
PyType_FromModuleAndSpec per instance, the exception, the multi-phase init slots, and
finding the defining class's state in methods and slots (each implementation receives
it). What remains is the C code that does the work, with Cython checking each signature.

Behaviour is xxlimited's: ``Xxo`` keeps its attributes in an internal dict (``tp_getattro``,
``tp_setattro``) and exports a 10-byte buffer whose exports it counts; ``demo(o)`` returns
``o`` for a ``str`` or an ``Xxo`` of *this* module instance, else None; ``foo(i, j)`` adds
two C longs; ``new()`` makes an ``Xxo``; ``Str`` is a trivial ``str`` subclass; ``Error``.
"""
import hpystate
from cpython.buffer cimport PyBuffer_FillInfo
from cpython.object cimport PyObject, PyObject_GenericGetAttr
from hpystate.state cimport ModuleState, type_of

cdef enum:
    BUFSIZE = 10


cdef class XxState(ModuleState):
    """xxlimited's state holds only its types; hpystate keeps those for each instance
    (``type_of(Xxo, st)``), so this state has no fields."""


ctypedef XxState State
include "hpystate/checked.pxi"      # typed registration: Cython checks every signature


xx_def = hpystate.ModuleDef("xxlimited_hps.xxlimited", state=XxState, gil_used=False,
                            doc="This is a template module just for instruction.")

Error = xx_def.exception("Error")


cdef class XxoFields:
    """Xxo's C fields (XxoObject in the C template). Cython traverses and clears x_attr."""
    cdef dict x_attr                    # attributes; None acts as an empty dict
    cdef char x_buffer[BUFSIZE]         # exported through the buffer protocol
    cdef Py_ssize_t x_exports           # how many exports are alive


@xx_def.type
class Xxo(XxoFields):
    """A class that explicitly stores attributes in an internal dict"""
    __slots__ = ()


@xx_def.type
class Str(str):
    """A trivial subclass of a built-in type."""
    __slots__ = ()


# -- Xxo: attribute handling --------------------------------------------------------------------

cdef object Xxo_getattro(XxState st, object self, object name):
    cdef XxoFields o = self
    if o.x_attr is not None and name in o.x_attr:
        return o.x_attr[name]
    return PyObject_GenericGetAttr(self, name)   # special attributes, AttributeError, ...


cdef int Xxo_setattro(XxState st, object self, object name, PyObject *v) except -1:
    cdef XxoFields o = self
    if o.x_attr is None:
        o.x_attr = {}
    if v == NULL:                       # delete
        try:
            del o.x_attr[name]
        except KeyError:
            raise AttributeError("delete non-existing Xxo attribute") from None
    else:
        o.x_attr[name] = <object>v
    return 0


cdef int Xxo_finalize(XxState st, object self) except -1:
    (<XxoFields>self).x_attr = None
    return 0


set_tp_getattro(Xxo, Xxo_getattro)
set_tp_setattro(Xxo, Xxo_setattro)
set_tp_finalize(Xxo, Xxo_finalize)


# -- Xxo: methods (the C template needs METH_METHOD and defining_class for this) ---------------

cdef object Xxo_demo(XxState st, object self, object o):
    if isinstance(o, str):
        return o
    if isinstance(o, type_of(Xxo, st)):     # this module instance's Xxo
        return o
    return None


add_method_o(Xxo, "demo", Xxo_demo, "demo(o, /)\n--\n\ndemo(o) -> o")


# -- Xxo: the buffer protocol ----------------------------------------------------------------

cdef int Xxo_getbuffer(XxState st, object self, Py_buffer *view, int flags) except -1:
    cdef XxoFields o = self
    PyBuffer_FillInfo(view, self, o.x_buffer, BUFSIZE, 0, flags)
    o.x_exports += 1
    return 0


cdef void Xxo_releasebuffer(XxState st, object self, Py_buffer *view) noexcept:
    (<XxoFields>self).x_exports -= 1


cdef object Xxo_get_x_exports(XxState st, object self):
    return (<XxoFields>self).x_exports


set_bf_getbuffer(Xxo, Xxo_getbuffer)
set_bf_releasebuffer(Xxo, Xxo_releasebuffer)
add_getset(Xxo, "x_exports", Xxo_get_x_exports)


# -- module functions --------------------------------------------------------------------------

cdef object xx_foo(XxState st, PyObject **args, Py_ssize_t nargs):
    if nargs != 2:
        raise TypeError(f"foo expected 2 arguments, got {nargs}")
    cdef long i = <object>args[0]       # C long arithmetic, as PyArg_ParseTuple("ll")
    cdef long j = <object>args[1]
    return i + j


cdef object xx_new(XxState st):
    return type_of(Xxo, st)()


add_function_fastcall(xx_def, "foo", xx_foo, "foo(i, j, /)\n--\n\nReturn the sum of i and j.")
add_function_noargs(xx_def, "new", xx_new, "new() -> new Xx object")
