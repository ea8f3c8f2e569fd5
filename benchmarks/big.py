"""Module instance creation for a big definition: 10 types x 10 methods, 50 functions.

The same definition three ways (``SHAPES``), each instance with its own state, whose
``value`` (a fresh ``object()``) every function and method returns:

- ``C by hand``: benchmarks/ext/ref_big.c, multi-phase init, PyType_FromModuleAndSpec in
  the exec slot, METH_METHOD methods (module ``ref_big``); a new instance per call through
  ``module_from_spec`` + ``exec_module`` on the extension's spec;
- ``hpystate cimport``: benchmarks/ext/hps_big_c.pyx, Cython ``cdef`` implementations
  registered with ``hpystate.state``'s add_function/add_method (module ``hps_big_c``);
  ``defn.create()``;
- ``hpystate Python``: ``python_definition()`` below, the decorator API with Python
  implementations (module ``hps_big_py``); ``defn.create()``.

Calling conventions, identical in all three: function f<k> takes convention k % 4 of
(no arguments, one argument, positional arguments, positional and keyword arguments);
method m<j> of T<i> convention ``method_convention(i, j)`` (see hps_big_c.pyx for why).

Measured by benchmarks/suite.py, which runs this file as a program (see ``main``).
"""
import argparse
import gc
import importlib.machinery
import importlib.util
import pathlib
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc
import types

import hpystate

HERE = pathlib.Path(__file__).resolve().parent

SHAPES = ("C by hand", "hpystate cimport", "hpystate Python")
MODULE_NAMES = dict(zip(SHAPES, ("ref_big", "hps_big_c", "hps_big_py")))
N_TYPES, N_METHODS, N_FUNCTIONS = 10, 10, 50      # the headline shape
TYPE_COUNTS = (1, 10, 100)                          # what creation is also measured at

# Arguments a call of each convention passes, and arguments it must reject.
CALL_ARGS = {0: ((), {}), 1: ((1,), {}), 2: ((1, 2), {}), 3: ((1,), {"k": 2})}
BAD_ARGS = {0: ((1,), {}), 1: ((), {}), 2: ((), {"k": 2}), 3: None}


def function_convention(k):
    """The calling convention (0..3) of module function f<k>."""
    return k % 4


def method_convention(i, j):
    """The calling convention (0..3) of method m<j> of type T<i>: j % 4, but m8/m9 take
    conventions 0/1 on even types and 2/3 on odd ones, 25 methods per convention."""
    return j % 4 if j < 8 else (j % 4) + 2 * (i % 2)


# -- build -----------------------------------------------------------------------------------

def build(target):
    """Compile ref_big.c and hps_big_c.pyx into ``target``."""
    script = textwrap.dedent(f"""
        import hpystate
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        ext = {str(HERE / "ext")!r}
        setup(script_args=["build_ext", "--inplace", "-q"], ext_modules=[
            Extension(name, [ext + "/ref_big.c"],
                      define_macros=[("N_TYPES", str(n)), ("MODNAME", name)])
            for n, name in {[(n, _c_module(n)) for n in TYPE_COUNTS]!r}
        ] + cythonize([Extension("hps_big_c", [ext + "/hps_big_c.pyx"])], quiet=True,
                      build_dir={str(target)!r}, include_path=[hpystate.cython_include()]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=target, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the big-definition extensions failed:\n"
                           f"{proc.stderr[-3000:]}")


def _extension_path(target, name):
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = pathlib.Path(target) / (name + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(f"no extension {name!r} in {target} (run build({str(target)!r}))")


def _import_once(target, name):
    """Import extension ``name`` from ``target`` (once per process: a Cython module cannot
    be initialised twice)."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(name, _extension_path(target, name))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


# -- the Python-level definition -------------------------------------------------------------

class BigState(hpystate.ModuleState):
    def __init__(self):
        self.value = object()


def _f_noargs(state):
    return state.value


def _f_o(state, arg):
    return state.value


def _f_fast(state, *args):
    return state.value


def _f_fastkw(state, *args, **kwargs):
    return state.value


_FUNCTION_IMPLS = (_f_noargs, _f_o, _f_fast, _f_fastkw)
_METHOD_PARAMS = ("state, self", "state, self, arg", "state, self, *args",
                  "state, self, *args, **kwargs")


def _c_module(n_types):
    """The name of the hand-written C module with ``n_types`` types."""
    return "ref_big" if n_types == N_TYPES else f"ref_big{n_types}"


def _types_source(n_types):
    """The class statements, as Python source: ``@hpystate.method`` must decorate
    functions defined in a class body (hpystate checks the frame that runs it)."""
    lines = []
    for i in range(n_types):
        lines += ["@defn.type", f"class T{i}:", "    __slots__ = ()"]
        for j in range(N_METHODS):
            params = _METHOD_PARAMS[method_convention(i, j)]
            lines += ["    @hpystate.method", f"    def m{j}({params}):",
                      "        return state.value"]
        lines.append("")
    return "\n".join(lines)


def python_definition(n_types=N_TYPES):
    """A fresh ModuleDef ``hps_big_py`` of the big shape, with Python implementations."""
    defn = hpystate.ModuleDef("hps_big_py", state=BigState)
    for k in range(N_FUNCTIONS):
        defn.function(_FUNCTION_IMPLS[function_convention(k)], name=f"f{k}")
    code = compile(_types_source(n_types), "<hps_big_py types>", "exec")
    exec(code, {"__name__": "hps_big_py", "hpystate": hpystate, "defn": defn})
    return defn


# -- instances -------------------------------------------------------------------------------

def factory(shape, target, n_types=N_TYPES):
    """A zero-argument function creating one new module instance of ``shape`` (with
    ``n_types`` types) per call; ``target`` holds the extensions ``build`` made."""
    if shape == "C by hand":
        name = _c_module(n_types)
        spec = importlib.util.spec_from_file_location(name, _extension_path(target, name))

        def create(spec=spec, module_from_spec=importlib.util.module_from_spec):
            module = module_from_spec(spec)        # create_dynamic: Py_mod_create
            spec.loader.exec_module(module)        # exec_dynamic: Py_mod_exec
            return module
        return create
    if shape == "hpystate cimport":
        return _import_once(target, "hps_big_c").define(n_types).create
    if shape == "hpystate Python":
        return python_definition(n_types).create
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def _check_call(f, convention, value, what):
    args, kwargs = CALL_ARGS[convention]
    result = f(*args, **kwargs)
    assert result is value, f"{what}(*{args}, **{kwargs}) returned {result!r}, not the state"
    if BAD_ARGS[convention] is not None:
        args, kwargs = BAD_ARGS[convention]
        try:
            f(*args, **kwargs)
        except TypeError:
            pass
        else:
            raise AssertionError(f"{what}(*{args}, **{kwargs}) did not raise TypeError")


def check(module, shape, n_types=N_TYPES, fast=True):
    """Assert that ``module`` is an instance of the big shape: 50 functions and ``n_types``
    types with 10 methods each, all returning this instance's state ``value`` and accepting
    the arguments of their calling convention. With ``fast``, also that C-level bindings
    are builtin functions and method descriptors (for hpystate cimport: that no binding
    fell back to CFunction/CMethod because the trampoline tables were full)."""
    name = _c_module(n_types) if shape == "C by hand" else MODULE_NAMES[shape]
    assert module.__name__ == name, module
    value = module.f0()
    assert type(value) is object, value
    if shape != "C by hand":
        assert value is hpystate.state_of(module).value
    public = {k for k in vars(module) if not k.startswith("_")}
    expected = {f"f{k}" for k in range(N_FUNCTIONS)} | {f"T{i}" for i in range(n_types)}
    assert public == expected, sorted(public ^ expected)
    c_level = fast and shape != "hpystate Python"
    for k in range(N_FUNCTIONS):
        f = getattr(module, f"f{k}")
        if c_level:
            assert type(f) is types.BuiltinFunctionType, f"{name}.f{k} is {type(f)}"
            assert f.__self__ is module
        _check_call(f, function_convention(k), value, f"{name}.f{k}")
    for i in range(n_types):
        tp = getattr(module, f"T{i}")
        assert isinstance(tp, type) and tp.__name__ == f"T{i}" and tp.__module__ == name
        obj = tp()
        for j in range(N_METHODS):
            if c_level:
                d = tp.__dict__[f"m{j}"]
                assert type(d) is types.MethodDescriptorType, f"{name}.T{i}.m{j} is {type(d)}"
            _check_call(getattr(obj, f"m{j}"), method_convention(i, j), value,
                        f"{name}.T{i}().m{j}")


# -- measurement -----------------------------------------------------------------------------

def create_time(create, number):
    """Median wall-clock seconds of one ``create()``, each timed alone with the cyclic GC
    off and the instance collected before the next one (never more than one alive)."""
    times = []
    for _ in range(number):
        gc.disable()
        try:
            t0 = time.perf_counter()
            module = create()
            t1 = time.perf_counter()
        finally:
            gc.enable()
        times.append(t1 - t0)
        del module
        gc.collect()
    return statistics.median(times)


def instance_memory(create, n=5, repeat=3):
    """Bytes traced by tracemalloc per instance, with ``n`` instances alive (after one
    warm-up instance); the least of ``repeat`` runs, as a process-wide table growing now
    and then (a dict resize) is no instance's cost."""
    module = create()
    del module
    gc.collect()
    results = []
    for _ in range(repeat):
        tracemalloc.start()
        try:
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            modules = [create() for _ in range(n)]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        del modules
        gc.collect()
        results.append((after - before) / n)
    return min(results)


def callgrind_cycles(create, n1, n2):
    """Under callgrind (benchmarks/ext/cgmark.c): dump the counts of n1 and n2 create +
    destroy cycles (``create()``, drop, ``gc.collect()``) and of n1 and n2 bare
    ``gc.collect()`` calls, labelled "cycle|n" and "gc|n", so the suite can take the
    per-cycle difference net of the collection itself."""
    import cgmark

    def cycles(n):
        for _ in range(n):
            module = create()
            del module
            gc.collect()

    def collects(n):
        for _ in range(n):
            gc.collect()

    for label, run in (("cycle", cycles), ("gc", collects)):
        run(2)
        cgmark.zero()
        run(n1)
        cgmark.dump(f"{label}|{n1}")
        run(n2)
        cgmark.dump(f"{label}|{n2}")


def main(argv=None):
    """``big.py MODE SHAPE SITE [N...]``, run by benchmarks/suite.py in a fresh process
    with the built extensions in SITE; prints one JSON line.

    - ``create-time SHAPE SITE NUMBER``: µs per create (median and minimum);
    - ``memory SHAPE SITE``: bytes per instance (tracemalloc, 5 alive);
    - ``create-callgrind SHAPE SITE N1 N2``: see ``callgrind_cycles``.
    """
    import json
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("create-time", "memory", "create-callgrind"))
    p.add_argument("shape", choices=SHAPES)
    p.add_argument("site")
    p.add_argument("n", type=int, nargs="*")
    p.add_argument("--types", type=int, default=N_TYPES, choices=TYPE_COUNTS)
    args = p.parse_args(argv)
    create = factory(args.shape, args.site, args.types)
    module = create()
    # the right shape, and (up to 10 types) no fallback bindings: 100 types x 10 methods
    # are more than one definition may hold in trampolines (docs/design.md, Limits)
    check(module, args.shape, args.types, fast=args.types <= N_TYPES)
    del module
    gc.collect()
    if args.mode == "create-time":
        number = args.n[0]
        times = [create_time(create, 1) for _ in range(number)]
        result = {"us": statistics.median(times) * 1e6, "us_min": min(times) * 1e6}
    elif args.mode == "memory":
        result = {"bytes": instance_memory(create)}
    else:
        callgrind_cycles(create, *args.n)
        result = {}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
