# cython: language_level=3
"""hpystate's runtime: module definitions, per-instance module state, and the bindings that
deliver that state to user code.

The module is one namespace, laid out along the data path in included files:

1. ``_state.pxi``: ``ModuleState``, the base class of every state object.
2. ``_definition.pxi``: what a user writes. The class-body markers (``method``, ``slot``,
   ``getter``, ...), the handles ``@mod.type`` and friends return (``TypeDef``,
   ``ExceptionDef``, ``FunctionDef``), and ``ModuleDef``, which collects them and owns the
   ``PyModuleDef``. Slot names come from ``_slot_table.pxi`` (generated from
   tools/slot_table.py).
3. ``_instance.pxi``: what each instance gets. The ``PyModuleDef`` callbacks (exec, traverse,
   clear, free), initialising an instance, and the types and exceptions it creates
   (``PyType_FromModuleAndSpec`` over one layout type per ``TypeDef``).
4. ``_bindings.pxi``: how Python-level code receives its state. ``StateFunction``,
   ``StateMethod`` and ``StateProperty`` hold an instance's state and call the
   implementation through vectorcall.
5. ``_cbindings.pxi``: the same for C-level code (the cimport API). Per-binding trampolines
   (``_trampolines.h``), the fallback descriptors ``CFunction``/``CMethod`` when a table
   is full, and the registration functions (``_add_function``, ... with the state test of
   the checked API, ``hpystate/checked.pxi``; ``add_*_unchecked`` without).
6. ``_import.pxi``: ``Loader``, ``register`` and the meta path finder; real extension
   entries (``hpystate.h``), completed through a capsule.
7. ``_init.pxi``: module initialisation, last.

C that Cython cannot express lives in real headers: ``_capi.h`` (helpers, version and build
differences; declared in ``_capi.pxd``), ``_trampolines.h`` (generated), ``hpystate.h`` (for
extension entries).

Every binding object holds the state of the module instance it was created for, so code always
receives the state of its *true defining class's* module instance: the binding is found by
CPython's ordinary attribute/MRO lookup, never by searching for a module definition.
See docs/design.md.
"""

cimport cython
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_AsUTF8String
from libc.string cimport memcpy, memset, strlen

from hpystate._capi cimport *
from hpystate._slot_table cimport *

import builtins as _builtins
import difflib as _difflib
import importlib as _importlib
import importlib.machinery as _machinery
import importlib.util as _import_util
import inspect as _inspect
import sys as _sys
import threading as _threading
import types as _types
import warnings as _warnings


include "_state.pxi"
include "_definition.pxi"
include "_instance.pxi"
include "_bindings.pxi"
include "_cbindings.pxi"
include "_import.pxi"
include "_init.pxi"
