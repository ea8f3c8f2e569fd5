# Included by _core.pyx (textually: one module, one namespace).
# 7. Module initialisation, last: hpystate's classes are made immutable.

# Built with Cython's type specs (one set of heap types per interpreter), they would be
# mutable, unlike static types. Besides letting code patch them, that stops CPython from
# specialising attribute access through their instances used as descriptors (``box.get()``
# when type(Box.get) is mutable; docs/benchmarks.md has the cost).
for _cls in (ModuleState, _Binding, _VectorcallBinding, _StateCallable, StateFunction,
             StateMethod, StateProperty, _Handle, TypeDef, ExceptionDef, FunctionDef,
             ModuleDef, _CCallable, CFunction, CMethod, Loader):
    _freeze(_cls)
del _cls

# Only hpystate makes these (a default-constructed one would be empty): Python-level calls
# of the classes are refused; hpystate's own Cython code calls their tp_new directly.
for _cls in (_Binding, _VectorcallBinding, _StateCallable, StateFunction, StateMethod,
             StateProperty, _Handle, TypeDef, ExceptionDef, FunctionDef, _CCallable,
             CFunction, CMethod, _CImpl, _MemberDef):
    (<PyTypeObject_ *>_cls).tp_new = <void *>hps_no_new
    (<PyTypeObject_ *>_cls).tp_vectorcall = NULL      # Cython's may construct without tp_new
    PyType_Modified(<PyTypeObject_ *>_cls)
del _cls
