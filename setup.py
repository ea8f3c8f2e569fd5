import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# What GCC 14 rejects by default, rejected here with any GCC or Clang, so a wrong C-API
# prototype can never come back unnoticed on older compilers.
STRICT = [] if sys.platform == "win32" else [
    "-Werror=incompatible-pointer-types", "-Werror=int-conversion",
    "-Werror=implicit-function-declaration"]

# hpystate's own extension is safe in own-GIL subinterpreters: Cython keeps its module globals
# in per-interpreter module state and creates its types from specs (heap types, one set per
# interpreter); the directive declares it (Py_mod_multiple_interpreters). C statics in
# _core.pyx hold only constant data and the lock-guarded trampoline tables. It is also safe
# without the GIL (docs/threads.md): freethreading_compatible declares Py_mod_gil.
CORE_MACROS = [("CYTHON_USE_MODULE_STATE", "1"), ("CYTHON_USE_TYPE_SPECS", "1")]
setup(
    ext_modules=cythonize(
        [Extension("hpystate._core", ["hpystate/_core.pyx"], include_dirs=["hpystate"],
                   depends=["hpystate/_trampolines.h", "hpystate/_entries.h", "hpystate/_pyslots.h", "hpystate/hpystate.h",
                            "hpystate/_capi.h", "hpystate/_slot_table.pxi"],
                   define_macros=CORE_MACROS, extra_compile_args=STRICT),
         # A module that does not declare Py_mod_gil: loading it is how hpystate makes a
         # free-threaded CPython enable the GIL for definitions with gil_used=True.
         Extension("hpystate._needs_gil", ["hpystate/_needs_gil.pyx"],
                   define_macros=CORE_MACROS, extra_compile_args=STRICT)],
        compiler_directives={"language_level": 3, "subinterpreters_compatible": "own_gil",
                             "auto_pickle": False,     # pickling is by reference or refused
                             "freethreading_compatible": True},
    ),
)
