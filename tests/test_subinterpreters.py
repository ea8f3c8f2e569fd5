"""Subinterpreters: hpystate modules (Python- or Cython-defined, loaded through hpystate or
through a real extension entry) work in own-GIL isolated interpreters (3.12+) and legacy
shared-GIL ones, with state isolated from the main interpreter's instance; definitions
declare their support (Py_mod_multiple_interpreters, Py_mod_gil). Every subinterpreter
runs in a child process with a timeout (hpystate.testing.run_in_subinterpreter)."""
import ctypes
import sys

import pytest

import hpystate
from hpystate import testing

MODES = ["legacy"] + (["isolated"] if testing.OWN_GIL else [])

DEFINITION = '''
import hpystate

class S(hpystate.ModuleState):
    def __init__(self):
        self.n = 0

d = hpystate.ModuleDef("sub.mod", state=S, multiple_interpreters={setting!r})

@d.function
def incr(state, k=1):
    state.n += k
    return state.n

@d.type
class Box:
    __slots__ = ()

    @hpystate.method
    def get(state, self):
        return state.n

    @hpystate.slot
    def __add__(state, self, other):
        return state.n + other

    @hpystate.getter
    def value(state, self):
        return state.n

E = d.exception("E")
'''


@pytest.mark.parametrize("mode", MODES)
def test_python_definition_in_a_subinterpreter(mode):
    result = testing.run_in_subinterpreter(DEFINITION.format(setting="own_gil") + '''
m1, m2 = d.create(), d.create()
m1.incr(5)

class Both(m1.Box, m2.Box):
    pass

both = Both()
result = (m1.incr(), m2.incr(), m1.Box().get(), m2.Box() + 10, m2.Box.get(both),
          m1.Box.value.__get__(both), m2.Box.__add__(both, 0), m1.E is not m2.E)
''', isolated=mode == "isolated")
    assert result == (6, 1, 6, 11, 1, 6, 1, True)


@pytest.mark.parametrize("mode", MODES)
def test_compiled_extension_isolated_from_the_main_interpreter(example_site, mode):
    # The main interpreter imports the module first (the order that crashes modules with
    # static types), then a subinterpreter imports and uses it, re-imports it, and the
    # main interpreter's instance is untouched.
    sub, main = testing.run_in_subinterpreter('''
import sys
import counter_ext.counter as m
p = m.Point(3.0, 4.0)
result = (type(m.__loader__).__name__, m.incr(2), p.norm2(), (-p).x, p.scaled(2).y,
          m.total(), str(m.Overflow))
del sys.modules["counter_ext.counter"]
import counter_ext.counter as again
result += (again is not m, again.count())
''', isolated=mode == "isolated", before='''
import counter_ext.counter as m
m.incr(41)
p = m.Point(1.0, 1.0)
''', after='''
import hpystate
result = (m.count(), hpystate.state_of(m).points_made, m.total())
''')
    assert sub == ("ExtensionFileLoader", 2, 25.0, -3.0, 8.0, 2 + 3,
                   "<class 'counter_ext.counter.Overflow'>", True, 0)
    assert main == (41, 1, 42)


def _refused(setting, mode):
    """CPython's rules (3.12+): an isolated interpreter refuses modules not declaring
    own-GIL support; a legacy one (no extension check in its config) loads them, except on
    free-threaded builds, which refuse "no" in every subinterpreter (gh-117649). 3.10/3.11
    have no such slot; hpystate refuses setting "no" in every subinterpreter there."""
    if mode == "isolated":
        return setting != "own_gil"
    return setting == "no" and (sys.version_info < (3, 12) or testing.FREE_THREADED)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("setting", ["no", "shared_gil", "own_gil"])
def test_multiple_interpreters_setting(setting, mode):
    result = testing.run_in_subinterpreter(DEFINITION.format(setting=setting) + '''
try:
    result = ("loaded", d.create().incr())
except ImportError as exc:
    result = ("refused", str(exc), exc.name)
''', isolated=mode == "isolated")
    if _refused(setting, mode):
        assert result == ("refused",       # CPython's exact exception (no .name either)
                          "module sub.mod does not support loading in subinterpreters", None)
    else:
        assert result == ("loaded", 1)


@pytest.mark.parametrize("setting", ["no", "shared_gil", "own_gil"])
def test_every_setting_loads_in_the_main_interpreter(setting):
    d = hpystate.ModuleDef("main.mod", multiple_interpreters=setting)
    assert d.multiple_interpreters == setting and d.create().__name__ == "main.mod"


def test_isolated_needs_3_12_and_is_the_default_where_it_exists():
    # The default is the strictest interpreter this Python has, so one test runs everywhere.
    code = "import sys; result = sys.implementation.name"
    assert testing.run_in_subinterpreter(code) == "cpython"
    if testing.OWN_GIL:
        assert testing.run_in_subinterpreter(code, isolated=True) == "cpython"
    else:
        with pytest.raises(NotImplementedError, match="3.12.*isolated=False"):
            testing.run_in_subinterpreter(code, isolated=True)


def test_the_default_interpreter_is_isolated_from_3_12():
    # An isolated interpreter refuses a module that declares no own-GIL support: the
    # default really is the isolated one where it exists, and a legacy one before.
    result = testing.run_in_subinterpreter("""
        import hpystate
        d = hpystate.ModuleDef("shared.only", multiple_interpreters="shared_gil")
        try:
            d.create()
            result = "loaded"
        except ImportError as exc:
            result = "refused"
        """)
    assert result == ("refused" if testing.OWN_GIL else "loaded")


# Module slot ids (moduleobject.h): CPython 3.15 renumbered them (PEP 820); hpystate's C
# uses the macros, so these numbers check what it was compiled with.
if sys.version_info >= (3, 15):
    MOD_EXEC, MOD_MULTIPLE_INTERPRETERS, MOD_GIL = 85, 86, 87
else:
    MOD_EXEC, MOD_MULTIPLE_INTERPRETERS, MOD_GIL = 2, 3, 4


def _module_slots(module):
    """{slot id: value} of the PyModuleDef behind ``module``."""
    get_def = ctypes.pythonapi.PyModule_GetDef
    get_def.restype, get_def.argtypes = ctypes.c_void_p, [ctypes.py_object]
    moddef = get_def(module)
    # PyModuleDef: m_base (PyObject_HEAD, m_init, m_index, m_copy), m_name, m_doc, m_size,
    # m_methods, m_slots. PyObject_HEAD is 32 bytes on free-threaded builds, 16 elsewhere.
    base = object.__basicsize__ + 3 * ctypes.sizeof(ctypes.c_void_p)
    slots = ctypes.c_void_p.from_address(moddef + base + 4 * ctypes.sizeof(ctypes.c_void_p))
    out, addr = {}, slots.value
    while True:
        slot = ctypes.c_int.from_address(addr).value
        if slot == 0:
            return out
        out[slot] = ctypes.c_void_p.from_address(addr + ctypes.sizeof(ctypes.c_void_p)).value
        addr += 2 * ctypes.sizeof(ctypes.c_void_p)


@pytest.mark.parametrize("setting, value", [("no", 0), ("shared_gil", 1), ("own_gil", 2)])
@pytest.mark.parametrize("gil_used", [True, False])
def test_module_slots_declare_support(setting, value, gil_used):
    d = hpystate.ModuleDef("slots.mod", multiple_interpreters=setting, gil_used=gil_used)
    slots = _module_slots(d.create())
    assert MOD_EXEC in slots
    expected = {MOD_EXEC}
    if sys.version_info >= (3, 12):
        assert (slots[MOD_MULTIPLE_INTERPRETERS] or 0) == value
        expected.add(MOD_MULTIPLE_INTERPRETERS)
    if sys.version_info >= (3, 13):                                # Py_MOD_GIL_(NOT_)USED
        assert (slots[MOD_GIL] or 0) == (0 if gil_used else 1)
        expected.add(MOD_GIL)
    assert set(slots) == expected
    assert d.gil_used is gil_used


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="multiple_interpreters must be one of"):
        hpystate.ModuleDef("x", multiple_interpreters="yes")
    with pytest.raises(ValueError, match="multiple_interpreters"):
        hpystate.ModuleDef("x", multiple_interpreters=True)
    with pytest.raises(TypeError, match="gil_used must be True or False"):
        hpystate.ModuleDef("x", gil_used=1)
