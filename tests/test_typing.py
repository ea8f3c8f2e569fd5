"""The shipped typing stubs agree with the runtime (mypy's stubtest)."""
import os
import pathlib
import subprocess
import sys

import pytest

import hpystate
from conftest import hpystate_stub_path, run_stubtest

ALLOWLIST = pathlib.Path(__file__).resolve().parent.parent / "tools" / "stubtest-allowlist.txt"


def test_stubs_match_the_runtime():
    assert run_stubtest("hpystate", allowlist=ALLOWLIST) == ""


ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _mypy(tmp_path, files, mypypath=()):
    """``mypy --strict`` of ``files`` with the shipped stubs: (exit status, report)."""
    env = dict(os.environ)
    env["MYPYPATH"] = os.pathsep.join([str(p) for p in mypypath] + hpystate_stub_path())
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file",
                           str(config), "--cache-dir", str(tmp_path / "cache"),
                           *map(str, files)], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    return proc.returncode, proc.stdout[-4000:] + proc.stderr[-2000:]


def _tutorial(tmp_path):
    import test_readme
    path = tmp_path / "tutorial.py"
    path.write_text(test_readme.python_blocks()[0])
    return path


def test_readme_tutorial_passes_mypy_strict(tmp_path):
    status, report = _mypy(tmp_path, [_tutorial(tmp_path), EXAMPLES / "threads" / "counter.py"])
    assert status == 0, report


@pytest.mark.parametrize("example, package", [("counter_ext", "counter_ext"),
                                              ("xxlimited", "xxlimited_hps"),
                                              ("meson_counter", "meson_counter")])
def test_examples_pass_mypy_strict(tmp_path, example, package):
    # The example's Python files and its package (stubs of the compiled modules included).
    folder = EXAMPLES / example
    files = sorted(folder.glob("*.py")) + [folder / "src" / package]
    status, report = _mypy(tmp_path, files, mypypath=[folder / "src"])
    assert status == 0, report


def test_the_stubs_carry_the_state_and_signatures(tmp_path):
    # What the tutorial's checks rely on is typed, not Any: each line below is an error.
    bad = _tutorial(tmp_path).read_text() + '''
mod.state_of(m1).nope
incr.of(m1)("five")
n: str = incr.of(m1)()
c: str = mod.state_of(m1).count

@mod.function
def wrong_state(state: int) -> None: ...

class Other:
    @hpystate.method
    def size(state: Counter, self: Other) -> int:
        return 1

Other().size(1)
s: str = Other().size()
d: str = hpystate.type_of(Box, m1)(1).doubled
e: type[KeyError] = Error.of(m1)
'''
    path = tmp_path / "bad.py"
    path.write_text(bad)
    status, report = _mypy(tmp_path, [path])
    lines = [line for line in report.splitlines() if ": error:" in line]
    first = bad.count("\n", 0, bad.index("mod.state_of(m1).nope")) + 1
    wanted = {first, first + 1, first + 2, first + 3, first + 5, first + 13, first + 14,
              first + 15, first + 16}
    seen = {int(line.split(":")[1]) for line in lines}
    assert status == 1 and seen == wanted, report


# -- the runtime side of the typed spellings ----------------------------------------------

class _Counter(hpystate.ModuleState):
    def __init__(self):
        self.count = 0


def _typed_def():
    d = hpystate.ModuleDef("typed.demo", state=_Counter)

    @d.type
    class Box:
        __slots__ = ("value",)
        value: int                      # an annotation only: no member, no clash with the slot
        label: str = "box"              # an annotated constant stays a constant

        @hpystate.slot
        def __init__(state, self, value=0):
            self.value = value

        @hpystate.getter
        def doubled(state, self):
            return 2 * self.value

        @doubled.inplace.setter
        def _set_doubled(state, self, value):
            state.count += 1
            self.value = value // 2

        @doubled.inplace.deleter
        def _del_doubled(state, self):
            self.value = 0

        @hpystate.getter
        def copied(state, self):
            return self.value

        @copied.setter                  # property's semantics: a copy under this name
        def copied_rw(state, self, value):
            self.value = value
    return d, Box


def test_inplace_setter_and_deleter_complete_the_property_itself():
    d, Box = _typed_def()
    m = d.create()
    b = m.Box(3)
    b.doubled = 10
    assert b.value == 5 and b.doubled == 10 and d.state_of(m).count == 1
    del b.doubled
    assert b.value == 0
    # the functions' own names are not attributes of the type: only the property is
    assert not hasattr(m.Box, "_set_doubled") and not hasattr(m.Box, "_del_doubled")
    assert m.Box.label == "box" and "value" not in vars(m.Box).get("__annotations__", {})
    # .setter keeps property's semantics: the original stays read-only
    with pytest.raises(AttributeError):
        b.copied = 1
    b.copied_rw = 7
    assert b.copied == 7


def test_an_inplace_setter_after_registration_is_refused():
    d2 = hpystate.ModuleDef("typed.late")

    class Holder:
        @hpystate.getter
        def x(state, self):
            return 1
    marker = Holder.__dict__["x"]
    d2.type(Holder)
    with pytest.raises(TypeError, match="already registered.*same class body"):
        marker.inplace.setter(lambda state, self, value: None)
    with pytest.raises(TypeError, match="setter"):          # checked as .setter is
        marker.inplace.setter(lambda state, self: None)


def test_type_of_and_state_of_of_a_definition():
    d, Box = _typed_def()
    m = d.create()
    assert hpystate.type_of(Box, m) is m.Box is hpystate.type_of(Box, d.state_of(m))
    assert isinstance(d.state_of(m), _Counter) and d.state_of(m).module is m
    with pytest.raises(TypeError, match="type_of\\(\\) takes a type definition.*not <class"):
        hpystate.type_of(m.Box, m)
    other = hpystate.ModuleDef("typed.other").create()
    with pytest.raises(TypeError, match="not a module instance of 'typed.demo'"):
        d.state_of(other)
    with pytest.raises(TypeError, match="not a module instance of 'typed.demo'"):
        d.state_of(42)


def test_generic_handles_subscript_at_runtime():
    # Annotations such as ModuleDef[Counter] or FunctionDef[Counter, [int], int] evaluate.
    for cls in (hpystate.ModuleDef, hpystate.TypeDef, hpystate.ExceptionDef,
                hpystate.FunctionDef, hpystate.StateFunction):
        alias = cls[int]
        assert alias.__origin__ is cls and alias.__args__ == (int,)


def test_a_module_function_is_a_routine_that_never_binds():
    import inspect
    d, Box = _typed_def()

    @d.function
    def twice(state, x):
        return 2 * x
    m = d.create()

    class Holder:
        f = m.twice
    assert inspect.isroutine(m.twice) and Holder().f(4) == 8 and Holder.f is m.twice
