from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("hpystate._core", ["hpystate/_core.pyx"])],
        compiler_directives={"language_level": 3},
    ),
)
