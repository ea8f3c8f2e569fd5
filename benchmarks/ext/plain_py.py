"""A plain Python module keeping its state in module globals: the floor for Python
implementations. Same interface as ref_ext.c (see there). Each load of this file is a new
module with its own globals, so plain Python is naturally per-instance."""

value = None
n = 7


def get():
    return value


def set(v):
    global value
    value = v


def own_type():
    return Box


class Box:
    __slots__ = ()

    def get(self):
        return value

    def take(self, x):
        return value

    def take2(self, x, y):
        return value

    def __add__(self, other):
        return value

    def __radd__(self, other):
        return value

    def __eq__(self, other):
        return value

    def __len__(self):
        return n

    def __hash__(self):
        return n

    def __next__(self):
        return value

    @property
    def value(self):
        return value


class Map:
    __slots__ = ()

    def __len__(self):
        return n
