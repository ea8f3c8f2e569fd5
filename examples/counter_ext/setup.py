"""counter_ext's build: the definition module is compiled by Cython (ready for
subinterpreters), and ``counter_ext.counter`` is a real extension module whose entry point
hands CPython the definition (``hpystate.build``; see docs/subinterpreters.md)."""
from setuptools import Extension, setup

import hpystate.build

setup(ext_modules=hpystate.build.cythonize(
    [Extension("counter_ext._counter", ["src/counter_ext/_counter.pyx"])],
) + [hpystate.build.extension("counter_ext.counter", "counter_ext._counter:counter_def")])
