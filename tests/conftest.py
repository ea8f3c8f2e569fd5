import gc
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

import hpystate


class Counter(hpystate.ModuleState):
    """State used by most tests: a counter and a record of which state saw each call."""

    def __init__(self):
        self.count = 0
        self.tag = None


def make_def(name="demo.counter"):
    """A definition exercising functions, an exception, types with methods/slots/getters."""
    mod = hpystate.ModuleDef(name, state=Counter, doc="A demo module.")

    @mod.function
    def incr(state, n=1):
        """Add n to the counter."""
        state.count += n
        return state.count

    @mod.function
    def whoami(state):
        return state

    Error = mod.exception("Error", base=ValueError, doc="Demo error.")

    @mod.type
    class Box:
        """A box holding a value."""
        __slots__ = ("value",)

        @hpystate.slot
        def __init__(state, self, value=0):
            self.value = value

        @hpystate.method
        def get(state, self):
            return self.value

        @hpystate.method
        def whoami(state, self):
            return state

        @hpystate.slot
        def __add__(state, self, other):
            if not isinstance(other, int):
                return NotImplemented
            return (state, "add", self.value + other)

        @hpystate.slot
        def __radd__(state, self, other):
            if not isinstance(other, int):
                return NotImplemented
            return (state, "radd", other + self.value)

        @hpystate.slot("nb_subtract")
        def sub(state, self, other):
            return (state, "sub", self.value - other)

        @hpystate.getter
        def size(state, self):
            return (state, self.value)

        @size.setter
        def size(state, self, value):
            state.tag = ("set", value)
            self.value = value

        @hpystate.slot
        def __repr__(state, self):
            return f"Box({self.value!r})"

        @hpystate.method
        def fail(state, self):
            raise Error.of(state)("boom")

    @mod.exec
    def setup(state, module):
        state.tag = "exec ran"
        module.CONSTANT = 42

    assert mod["Box"] is Box and mod["Error"] is Error and mod["incr"] is incr
    return mod


@pytest.fixture
def mod():
    return make_def()


@pytest.fixture(autouse=True)
def _collect():
    yield
    gc.collect()


EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "counter_ext"


@pytest.fixture(scope="session")
def example_site(tmp_path_factory):
    """examples/counter_ext built against the installed hpystate into a folder put on
    sys.path (Cython definition module + a real extension entry, hpystate.build)."""
    yield from installed_example(tmp_path_factory, EXAMPLE, "counter_ext")


def installed_example(tmp_path_factory, example, package):
    """Install ``example`` (a downstream package) with pip into a folder on sys.path, as a
    user would; yields the folder, then removes it and the package's modules."""
    src = tmp_path_factory.mktemp("src") / example.name
    shutil.copytree(example, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "*.c"))
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
         "--no-index", "-q", "--target", str(site), str(src)],
        capture_output=True, text=True, env={**os.environ, "CFLAGS": STRICT_CFLAGS})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
    for name in [n for n in sys.modules if n.startswith(package)]:
        del sys.modules[name]


@pytest.fixture
def registered():
    """``registered(name, definition)``: hpystate.register for one test (undone after)."""
    names = []

    def register(name, definition):
        hpystate.register(name, definition)
        names.append(name)

    yield register
    for name in names:
        hpystate.unregister(name)
        sys.modules.pop(name, None)


@pytest.fixture
def unraisable():
    """The exceptions sys.unraisablehook receives during the test. (Not the hook's argument
    objects: those are not tracked by the collector, so a cycle through one, back to the
    test's frame, would never be freed.)"""
    seen = []

    def hook(u):
        # without its traceback and context, which would keep the finalized object's
        # frames (and so its type, module and state) alive
        seen.append(u.exc_value.with_traceback(None))
        u.exc_value.__context__ = None

    old = sys.unraisablehook
    sys.unraisablehook = hook
    yield seen
    sys.unraisablehook = old


def live_instances(cls):
    """The objects of exactly ``cls`` alive after full collections. (A weak reference cannot
    tell: the collector clears those to garbage before running finalizers, which may
    resurrect it.)"""
    gc.collect()
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is cls]


# What GCC 14 rejects by default, for every extension the tests build (a wrong prototype in
# hpystate.h or the generated entry points fails the build with older compilers too). CFLAGS
# replaces the interpreter's own optimisation flags, hence -O2.
STRICT_CFLAGS = ("-O2 -Werror=incompatible-pointer-types -Werror=int-conversion "
                 "-Werror=implicit-function-declaration")


def build_in_place(folder, setup_script):
    """Run a setuptools script (``build_ext --inplace``) in ``folder`` with STRICT_CFLAGS;
    fail the test with the compiler's output if it fails."""
    proc = subprocess.run([sys.executable, "-c", setup_script], cwd=folder,
                          capture_output=True, text=True,
                          env={**os.environ, "CFLAGS": STRICT_CFLAGS})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def run_child(source, env=None, timeout=300):
    """Run ``source`` in a new interpreter; it sets ``result`` (JSON-able), returned here
    with the warnings the child saw and whether its GIL ended up enabled."""
    code = textwrap.dedent('''
        import json, sys, warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as _seen:
        ''') + textwrap.indent(textwrap.dedent(source), "    ") + textwrap.dedent('''
        gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
        print(json.dumps({"result": result, "gil": gil,
                          "warnings": [f"{w.category.__name__}: {w.message}" for w in _seen]}))
        ''')
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})},
                          cwd=os.path.dirname(os.path.abspath(__file__)))  # not the checkout
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.splitlines()[-1])


def hpystate_stub_path():
    """Where mypy must look for hpystate's own stubs: the checkout of an editable install
    (mypy finds those only on MYPYPATH, and refuses site-packages there, where an installed
    hpystate is found anyway)."""
    import site
    import hpystate
    folder = os.path.dirname(os.path.dirname(os.path.abspath(hpystate.__file__)))
    return [] if folder in {os.path.abspath(p) for p in site.getsitepackages()} else [folder]


def run_stubtest(module, folder=None, allowlist=None):
    """mypy's stubtest of ``module`` (imported from ``folder`` if given, whose stubs it
    checks): returns its report; empty when the stubs agree with the runtime."""
    import tempfile
    env = dict(os.environ)
    env["MYPYPATH"] = os.pathsep.join(([str(folder)] if folder else []) + hpystate_stub_path())
    if folder:
        env["PYTHONPATH"] = str(folder)
    with tempfile.TemporaryDirectory() as cwd:
        config = pathlib.Path(cwd) / "mypy.ini"     # none of the checkout's or the user's
        config.write_text("[mypy]\n")
        args = [sys.executable, "-m", "mypy.stubtest", module, "--concise",
                "--mypy-config-file", str(config)]
        if allowlist is not None:
            args += ["--allowlist", str(allowlist)]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
    return "" if proc.returncode == 0 else (proc.stdout[-4000:] + proc.stderr[-2000:]
                                             or f"stubtest exited with {proc.returncode}")
