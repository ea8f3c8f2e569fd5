from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize([Extension("counter_ext._counter", ["src/counter_ext/_counter.pyx"])],
                            compiler_directives={"language_level": 3}))
