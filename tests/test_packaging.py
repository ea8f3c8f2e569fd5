"""Real extension entries (hpystate.build.extension) and downstream packaging: an extension
module whose PyInit hands CPython an hpystate definition, loaded by CPython's own extension
loader; and a downstream package built in a fresh venv with only hpystate (plus Cython and
setuptools) as its build requirements."""
import ctypes
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import textwrap
import venv

import pytest

import hpystate
import hpystate.build
from hpystate import testing

from conftest import STRICT_CFLAGS, build_in_place, run_child, run_stubtest

ROOT = pathlib.Path(__file__).resolve().parent.parent

DEFS = '''
import hpystate

class S(hpystate.ModuleState):
    def __init__(self):
        self.n = 0

def _define(name, **kw):
    d = hpystate.ModuleDef(name, state=S, doc=f"{name} docs", **kw)

    @d.function
    def incr(state, k=1):
        state.n += k
        return state.n

    @d.type
    class Box:
        __slots__ = ()

        @hpystate.method
        def owner(state, self):
            return state

    return d

ok_def = _define("extpkg.ok")
solo_def = _define("extpkg.solo", multiple_interpreters="no")
other_def = _define("extpkg.other")
strict_def = _define("extpkg.strict")
classic_def = _define("extpkg.classic")
nogil_def = _define("extpkg.nogil", gil_used=False)
'''

SETUP = '''
from setuptools import setup
import hpystate.build as b
setup(script_args=["build_ext", "--inplace", "-q"], ext_modules=[
    b.extension("extpkg.ok", "extpkg.defs:ok_def"),
    b.extension("extpkg.solo", "extpkg.defs:solo_def", multiple_interpreters="no"),
    b.extension("extpkg.misnamed", "extpkg.defs:other_def"),
    b.extension("extpkg.strict", "extpkg.defs:strict_def", multiple_interpreters="shared_gil"),
    b.extension("extpkg.classic", "extpkg.defs:classic_def",
                define_macros=[("HPYSTATE_NO_MODEXPORT", "1")]),     # PyInit only
    b.extension("extpkg.nogil", "extpkg.defs:nogil_def", gil_used=False),
])
'''


@pytest.fixture(scope="module")
def extpkg(tmp_path_factory):
    site = tmp_path_factory.mktemp("extsite")
    (site / "extpkg").mkdir()
    (site / "extpkg" / "__init__.py").write_text("")
    (site / "extpkg" / "defs.py").write_text(DEFS)
    build_in_place(site, SETUP)
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
    for name in [n for n in sys.modules if n.startswith("extpkg")]:
        del sys.modules[name]


def test_extension_entry_is_a_multi_phase_extension(extpkg):
    first, second = testing.check_reimport("extpkg.ok")
    assert type(first.__loader__).__name__ == "ExtensionFileLoader"
    assert first.__file__.startswith(str(extpkg)) and first.__doc__ == "extpkg.ok docs"
    assert first.incr(5) == 5 and second.incr() == 1
    assert first.Box().owner() is hpystate.state_of(first)
    sys.modules["extpkg.ok"] = first
    assert importlib.reload(first) is first and first.incr() == 6     # reload keeps it
    from extpkg.defs import ok_def
    assert ok_def["Box"].of(first) is first.Box and ok_def["incr"].of(second)() == 2


def _module_def(module):
    get_def = ctypes.pythonapi.PyModule_GetDef
    get_def.restype, get_def.argtypes = ctypes.c_void_p, [ctypes.py_object]
    return get_def(module)


@pytest.mark.parametrize("name", ["ok", "classic"])
def test_both_entry_points(extpkg, name):
    # 3.15+: PyModExport_<name> (PEP 793), which CPython prefers, and PyInit_<name> for older
    # interpreters; HPYSTATE_NO_MODEXPORT builds PyInit only. Both give the same module.
    first, second = testing.check_reimport(f"extpkg.{name}")
    lib = ctypes.CDLL(first.__file__)
    assert hasattr(lib, f"PyInit_{name}")
    modexport = name == "ok" and sys.version_info >= (3, 15)
    assert hasattr(lib, f"PyModExport_{name}") is modexport
    # A module made from PyModExport's slots has no PyModuleDef.
    assert (_module_def(first) is None) is modexport
    assert first.incr(2) == 2 and second.incr() == 1 and first.__doc__ == f"extpkg.{name} docs"
    assert first.Box().owner() is hpystate.state_of(first)
    defn = getattr(importlib.import_module("extpkg.defs"), f"{name}_def")
    assert defn["Box"].of(hpystate.state_of(second)) is second.Box

    def load():
        sys.modules.pop(f"extpkg.{name}", None)
        return importlib.import_module(f"extpkg.{name}")
    testing.check_multiple_inheritance(load, "Box", call=lambda Box, obj: Box.owner(obj))


def test_extension_entry_gil_used(extpkg):
    # Real entries declare Py_mod_gil to CPython's own loader: a free-threaded interpreter
    # keeps the GIL off for gil_used=False and enables it (with its own warning) otherwise.
    out = run_child('''
import sys
import extpkg.nogil as m
before = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
import extpkg.ok as ok
result = [m.incr(), ok.incr(), before]
''', env={"PYTHONPATH": str(extpkg)})
    assert out["result"] == [1, 1, not testing.FREE_THREADED] and out["gil"] is True
    if testing.FREE_THREADED:
        assert len(out["warnings"]) == 1 and "'extpkg.ok'" in out["warnings"][0]
        assert out["warnings"][0].startswith("RuntimeWarning: The global interpreter lock")
    else:
        assert out["warnings"] == []


def test_extension_entry_true_defining_class(extpkg):
    def load():
        sys.modules.pop("extpkg.ok", None)
        return importlib.import_module("extpkg.ok")
    testing.check_multiple_inheritance(load, "Box", call=lambda Box, obj: Box.owner(obj))


def test_extension_entry_in_a_subinterpreter(extpkg):
    sub, main = testing.run_in_subinterpreter('''
import extpkg.ok as m
result = (m.incr(3), type(m.__loader__).__name__, m.Box().owner().n)
''', isolated=testing.OWN_GIL, before='''
import extpkg.ok as m
m.incr(40)
''', after='''
result = m.incr()
''')
    assert sub == (3, "ExtensionFileLoader", 3) and main == 41


@pytest.mark.parametrize("mode", ["legacy"] + (["isolated"] if testing.OWN_GIL else []))
def test_extension_entry_not_supporting_subinterpreters(extpkg, mode):
    assert importlib.import_module("extpkg.solo").incr() >= 1        # the main interpreter
    result = testing.run_in_subinterpreter('''
try:
    import extpkg.solo as m
    result = ("loaded", m.incr())
except ImportError as exc:
    result = ("refused", str(exc))
''', isolated=mode == "isolated")
    if mode == "isolated" or sys.version_info < (3, 12) or testing.FREE_THREADED:
        assert result == ("refused",
                          "module extpkg.solo does not support loading in subinterpreters")
    else:   # CPython 3.12+ with a GIL lets legacy interpreters load such modules (gh-117649)
        assert result == ("loaded", 1)


def test_extension_entry_name_must_match_the_definition(extpkg):
    with pytest.raises(ImportError, match="built for 'extpkg.defs:other_def', a definition "
                                          "named 'extpkg.other'; the names must match"):
        importlib.import_module("extpkg.misnamed")
    assert "extpkg.misnamed" not in sys.modules


def test_extension_entry_declarations_must_match_the_definition(extpkg):
    with pytest.raises(ImportError, match="built with multiple_interpreters='shared_gil', "
                                          "gil_used=True but its definition"):
        importlib.import_module("extpkg.strict")


def test_entry_source_validates_its_arguments():
    src = hpystate.build.entry_source("pkg.mod", "pkg._impl:moddef")
    assert "PyInit_mod(void)" in src and '"pkg.mod", "pkg._impl:moddef"' in src
    assert "HPYSTATE_OWN_GIL, 1" in src
    src = hpystate.build.entry_source("m", "d:x", multiple_interpreters="no", gil_used=False)
    assert "HPYSTATE_NO_SUBINTERPRETERS, 0" in src
    with pytest.raises(ValueError, match="extension module name"):
        hpystate.build.entry_source("pkg.1mod", "a:b")
    with pytest.raises(ValueError, match="'package.module:attribute'"):
        hpystate.build.entry_source("pkg.mod", "pkg._impl.moddef")
    with pytest.raises(ValueError, match="target attribute"):
        hpystate.build.entry_source("pkg.mod", 'pkg:x"); evil("')
    with pytest.raises(TypeError, match="target must be"):
        hpystate.build.entry_source("pkg.mod", None)
    with pytest.raises(ValueError, match="multiple_interpreters must be one of"):
        hpystate.build.entry_source("pkg.mod", "a:b", multiple_interpreters="yes")
    with pytest.raises(TypeError, match="gil_used"):
        hpystate.build.entry_source("pkg.mod", "a:b", gil_used="no")


def test_cythonize_adds_what_subinterpreters_need(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.pyx").write_text("def f():\n    return 1\n")
    from setuptools import Extension
    (ext,) = hpystate.build.cythonize([Extension("m", ["m.pyx"])], quiet=True)
    assert set(hpystate.build.CYTHON_MACROS) <= set(ext.define_macros)
    with pytest.raises(ValueError, match="subinterpreters must be one of"):
        hpystate.build.cythonize([Extension("m", ["m.pyx"])], subinterpreters="maybe")
    with pytest.raises(TypeError, match="freethreading_compatible must be True or False"):
        hpystate.build.cythonize([Extension("m", ["m.pyx"])], freethreading_compatible=1)


@pytest.mark.parametrize("compatible", [False, True])
def test_cythonize_declares_free_threading_only_when_asked(tmp_path, monkeypatch, compatible):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.pyx").write_text("def f():\n    return 1\n")
    from setuptools import Extension
    kw = {"freethreading_compatible": True} if compatible else {}
    hpystate.build.cythonize([Extension("m", ["m.pyx"])], quiet=True, **kw)
    c = (tmp_path / "m.c").read_text()
    # Cython's Py_mod_gil value for the module: the last definition is the one used unless
    # CYTHON_FREETHREADING_COMPATIBLE is defined on the compiler's command line.
    i = c.rindex("#define __Pyx_FREETHREADING_COMPATIBLE")
    assert c[i:].split(None, 2)[2].startswith(
        "Py_MOD_GIL_NOT_USED" if compatible else "Py_MOD_GIL_USED")


def test_get_include_has_the_header_and_pxd_files():
    include = pathlib.Path(hpystate.get_include())
    assert (include / "hpystate.h").is_file() and (include / "state.pxd").is_file()
    # the checked cimport API: include "hpystate/checked.pxi" through cython_include()
    assert (pathlib.Path(hpystate.cython_include()) / "hpystate" / "checked.pxi").is_file()


def test_hpystate_sdist_has_sources_and_builds_the_wheel(built_from_sdist):
    sdist, names = built_from_sdist["sdist"], built_from_sdist["names"]
    top = sdist.name[:-len(".tar.gz")]
    for path in ("LICENSE", "hpystate/_core.pyx", "hpystate/checked.pxi", "hpystate/hpystate.h",
                 "tools/gen_slots.py", "tests/cext/hps_cext.pyx", "tests/conftest.py",
                 "examples/counter_ext/src/counter_ext/_counter.pyx",
                 "examples/counter_ext/MANIFEST.in", "benchmarks/ext/ref_ext.c"):
        assert f"{top}/{path}" in names, path
    generated = [n for n in names if n.endswith(".c") and "/benchmarks/ext/" not in n]
    assert generated == [], generated       # Cython's output is made at build time
    assert not [n for n in names if n.endswith((".so", ".pyc"))]
    assert built_from_sdist["wheel"].is_file()
    meta = built_from_sdist["metadata"]
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta


@pytest.fixture(scope="module")
def built_from_sdist(tmp_path_factory):
    # hpystate's sdist, and its wheel built from that sdist (python -m build does both),
    # with a quick compile and what GCC 14 rejects by default rejected
    out = tmp_path_factory.mktemp("hpystate-dist")
    env = {**os.environ, "CFLAGS": "-O0 " + STRICT_CFLAGS}
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(out),
                           str(ROOT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [sdist] = out.glob("hpystate-*.tar.gz")
    [wheel] = out.glob("hpystate-*.whl")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        meta = tar.extractfile(f"{sdist.name[:-len('.tar.gz')]}/PKG-INFO").read().decode()
    return {"sdist": sdist, "wheel": wheel, "names": names, "metadata": meta, "dir": out}


def test_downstream_package_builds_in_a_fresh_venv(tmp_path, built_from_sdist):
    # examples/counter_ext through `python -m build` in a fresh venv: its sdist, then its
    # wheel from that sdist in an isolated build environment that gets only what its
    # pyproject.toml asks for (setuptools, Cython, and hpystate's wheel from PIP_FIND_LINKS);
    # then the wheel installed and run.
    wheels = built_from_sdist["dir"]
    env = {**os.environ, "CFLAGS": "-O0 " + STRICT_CFLAGS, "PIP_FIND_LINKS": str(wheels)}
    example = tmp_path / "counter_ext"
    shutil.copytree(ROOT / "examples" / "counter_ext", example,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "*.c", "*.so"))
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", "build"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    dist = tmp_path / "dist"
    proc = subprocess.run([str(python), "-m", "build", "-o", str(dist), str(example)],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [sdist] = dist.glob("counter_ext-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("src/counter_ext/_counter.pyx") for n in names), names
    assert not [n for n in names if n.endswith(".c")], names
    [wheel] = dist.glob("counter_ext-*.whl")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", str(wheel)],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = subprocess.run([str(python), str(example / "demo.py")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "first.count() = 41, second.count() = 0" in proc.stdout
    assert "second.Overflow: counter would pass 1000000 (at 0)" in proc.stdout
    proc = subprocess.run([str(python), "-c", textwrap.dedent('''
        import counter_ext.counter as m
        from hpystate import testing
        print(type(m.__loader__).__name__, m.incr(2))
    ''')], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.split() == ["ExtensionFileLoader", "2"], proc.stderr


def test_meson_python_recipe_builds_a_working_extension(tmp_path, built_from_sdist):
    # examples/meson_counter: meson.build asks `python -m hpystate.build` for the Cython
    # arguments, the C flags and the entry point; meson-python builds the wheel in an
    # isolated environment (hpystate's wheel from PIP_FIND_LINKS), with strict C flags.
    env = {**os.environ, "CFLAGS": STRICT_CFLAGS, "PIP_FIND_LINKS": str(built_from_sdist["dir"])}
    example = tmp_path / "meson_counter"
    shutil.copytree(ROOT / "examples" / "meson_counter", example,
                    ignore=shutil.ignore_patterns("build", ".mesonpy-*"))
    dist = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "-o", str(dist),
                           str(example)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [wheel] = dist.glob("meson_counter-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    out = run_child('''
import sys
import meson_counter.counter as m
first = [type(m.__loader__).__name__, m.incr(2), m.count(), m.count.__text_signature__]
del sys.modules["meson_counter.counter"]
import meson_counter.counter as again
result = first + [again is m, again.count(), m.count()]
''', env={"PYTHONPATH": str(site)})
    assert out["result"] == ["ExtensionFileLoader", 2, 2, "($module, /)", False, 0, 2]
    # its typing stub is installed beside it, and agrees with the compiled module
    assert (site / "meson_counter" / "py.typed").is_file()
    assert run_stubtest("meson_counter.counter", site) == ""


@pytest.mark.parametrize("argv, expected", [
    (["cflags"], lambda: " ".join(hpystate.build.c_flags())),
    (["include"], hpystate.get_include),
    (["cython-include"], hpystate.cython_include),
    (["cython-args", "--subinterpreters", "shared_gil"],
     lambda: f"-X language_level=3 -X subinterpreters_compatible=shared_gil "
             f"-X freethreading_compatible=False -I {hpystate.cython_include()}"),
])
def test_build_command_line_says_what_the_setuptools_helpers_do(argv, expected):
    proc = subprocess.run([sys.executable, "-m", "hpystate.build", *argv],
                          capture_output=True, text=True, cwd=ROOT.parent)   # not the checkout
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected()
    assert hpystate.build.c_flags() == [f"-D{k}={v}" for k, v in hpystate.build.CYTHON_MACROS] \
        + ["-I" + hpystate.get_include()]


def test_build_command_line_entry(tmp_path):
    out = tmp_path / "e.c"
    proc = subprocess.run([sys.executable, "-m", "hpystate.build", "entry", "pkg.mod",
                           "pkg._impl:d", "--multiple-interpreters", "no", "--gil-used",
                           "false", "-o", str(out)], capture_output=True, text=True,
                          cwd=tmp_path)     # not the checkout: the installed hpystate
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == hpystate.build.entry_source(
        "pkg.mod", "pkg._impl:d", multiple_interpreters="no", gil_used=False)
    proc = subprocess.run([sys.executable, "-m", "hpystate.build", "entry", "pkg.mod",
                           "no-colon"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "target must look like 'package.module:attribute', not 'no-colon'" in proc.stderr
