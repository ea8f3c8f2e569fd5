from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("hpystate._core", ["hpystate/_core.pyx"], include_dirs=["hpystate"],
                   depends=["hpystate/_trampolines.h"])],
        compiler_directives={"language_level": 3},
    ),
)
