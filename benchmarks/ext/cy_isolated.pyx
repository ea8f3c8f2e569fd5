# cython: language_level=3
"""A Cython module in Cython's own isolation mode: compiled for subinterpreters (module
state, type specs: what ``hpystate.build.cythonize`` sets), with its state where such a
module must keep it, in Python-level module globals (``cdef`` globals stay process-wide C
statics). Same interface as ref_ext.c (see there). One instance per interpreter: Cython
returns the existing module when it is loaded again."""

_value = None
_n = 7


def get():
    return _value


def set(v):
    global _value
    _value = v


def own_type():
    return Box          # a module global (the class is defined below)


cdef class Box:
    def get(self):
        return _value

    def take(self, x):
        return _value

    def take2(self, x, y):
        return _value

    def __add__(self, other):
        return _value

    def __radd__(self, other):
        return _value

    def __eq__(self, other):
        return _value

    def __len__(self):
        return _n

    def __hash__(self):
        return _n

    def __next__(self):
        return _value

    @property
    def value(self):
        return _value


cdef class Map:
    # Cython fills sq_length and mp_length from one __len__; len() takes sq_length.
    def __len__(self):
        return _n
