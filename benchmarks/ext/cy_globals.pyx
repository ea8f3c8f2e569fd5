# cython: language_level=3
"""A plain Cython module keeping its state in ``cdef`` module globals: what Cython users
write today. Same interface as ref_ext.c (see there). One instance per process: Cython
returns the existing module when it is loaded again."""

cdef object g_value = None
cdef Py_ssize_t g_n = 7


def get():
    return g_value


def set(v):
    global g_value
    g_value = v


def own_type():
    return Box          # a module global (the class is defined below)


cdef class Box:
    def get(self):
        return g_value

    def take(self, x):
        return g_value

    def take2(self, x, y):
        return g_value

    def __add__(self, other):
        return g_value

    def __radd__(self, other):
        return g_value

    def __eq__(self, other):
        return g_value

    def __len__(self):
        return g_n

    def __hash__(self):
        return g_n

    def __next__(self):
        return g_value

    @property
    def value(self):
        return g_value


cdef class Map:
    # Cython fills sq_length and mp_length from one __len__; len() takes sq_length.
    def __len__(self):
        return g_n
