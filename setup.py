from Cython.Build import cythonize
from setuptools import Extension, setup

# hpystate's own extension is safe in own-GIL subinterpreters: Cython keeps its module globals
# in per-interpreter module state and creates its types from specs (heap types, one set per
# interpreter); the directive declares it (Py_mod_multiple_interpreters). C statics in
# _core.pyx hold only constant data and the lock-guarded trampoline tables.
setup(
    ext_modules=cythonize(
        [Extension("hpystate._core", ["hpystate/_core.pyx"], include_dirs=["hpystate"],
                   depends=["hpystate/_trampolines.h", "hpystate/hpystate.h"],
                   define_macros=[("CYTHON_USE_MODULE_STATE", "1"),
                                  ("CYTHON_USE_TYPE_SPECS", "1")])],
        compiler_directives={"language_level": 3, "subinterpreters_compatible": "own_gil"},
    ),
)
