"""The port's build: the definition module compiled by Cython for several interpreters, and
``xxlimited_hps.xxlimited``, a real extension entry handing CPython the definition."""
from setuptools import Extension, setup

import hpystate.build

setup(ext_modules=hpystate.build.cythonize(
    [Extension("xxlimited_hps._xxlimited", ["src/xxlimited_hps/_xxlimited.pyx"])],
    freethreading_compatible=True,      # as xxlimited.c's Py_mod_gil = Py_MOD_GIL_NOT_USED
) + [hpystate.build.extension("xxlimited_hps.xxlimited", "xxlimited_hps._xxlimited:xx_def",
                              gil_used=False)])
