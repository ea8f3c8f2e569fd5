"""The approaches the suite compares, the contexts it measures, and the correctness check.

Every approach is a module with the same interface (benchmarks/ext/ref_ext.c describes it):
``get()``/``set(v)``/``own_type()`` module functions; a ``Box`` type with methods ``get()``, ``take(x)``,
``take2(x, y)``, the slots ``nb_add`` (both orders), ``tp_richcompare``, ``sq_length``,
``tp_hash``, ``tp_iternext`` and a ``value`` getter; a ``Map`` type with ``mp_length``.
Each implementation reads its state (``value``, or ``n`` for lengths and hashes).

This module is imported both by the driver (benchmarks/suite.py) and by the programs it
runs under callgrind, with the built extensions on ``sys.path``.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from itertools import repeat

# key -> (column label, module name, how instances are made, what it is)
APPROACHES = {
    "static": ("C static", "ref_static", "file",
               "hand-written C, state in C static globals: not isolated (the floor)"),
    "cpython": ("C CPython", "ref_state", "file",
                "hand-written C, CPython's recommended route: PyModule_GetState(self), "
                "METH_METHOD defining_class + PyType_GetModuleState, "
                "PyType_GetModuleByDef in slots and getters (3.10: _PyType_GetModuleByDef)"),
    "cython": ("Cython", "cy_globals", "file",
               "plain Cython module, state in cdef module globals: not isolated"),
    "cython-iso": ("Cython isolated", "cy_isolated", "file",
                   "Cython's own isolation mode (module state, as hpystate.build.cythonize "
                   "compiles), state in Python-level module globals: one instance per "
                   "interpreter"),
    "hps-c": ("hps cimport", "hps_c", "hpystate",
              "hpystate cimport API: cdef impls, per-binding C trampolines"),
    "hps-stub": ("hps stubs", "hps_c", "hpystate-stubs",
                 "the same hps cimport module with the static trampoline tables exhausted "
                 "(256 per kind, docs/design.md): every binding a runtime stub"),
    "hps-fb": ("hps fallback", "hps_c", "hpystate-fallback",
               "the same hps cimport module with no trampoline entry at all (platforms "
               "without runtime stubs, past the static tables): every binding a fallback "
               "descriptor"),
    "hps-cydef": ("hps Cy def", "hps_cydef_iso", "hpystate",
                  "hpystate decorator API, Cython def impls, compiled as shipped "
                  "(hpystate.build.cythonize: Cython's module state, for subinterpreters)"),
    "hps-cydef-plain": ("hps Cy def plain", "hps_cydef", "hpystate",
                        "the same, compiled by plain cythonize (no module state: one "
                        "interpreter only)"),
    "hps-py": ("hps Python", "hps_py", "hpystate",
               "hpystate decorator API, Python impls"),
    "python": ("Python", "plain_py", "file",
               "plain Python module, state in module globals (per instance by nature)"),
    "hpy": ("HPy 0.9", "hpy_bench", "file",
            "HPy 0.9 (CPython ABI), state in an HPyGlobal: not isolated"),
}

TYPE_CONTEXTS = {
    "method()": "{o}.get()",
    "method(x)": "{o}.take(1)",
    "method(x, y)": "{o}.take2(1, 2)",
    "nb_add": "{o} + 1",
    "nb_add reflected": "1 + {o}",
    "tp_richcompare": "{o} == 1",
    "sq_length": "len({o})",
    "mp_length": "len({mp})",
    "tp_iternext": "next({o})",
    "tp_hash": "hash({o})",
    "getter": "{o}.value",
}
DEPTHS = (0, 1, 10)


def _contexts():
    # "own type": a module function returning this instance's Box from a field of its state,
    # as CPython's C keeps it (xxlimited.c's state->Xxo_Type); "type_of()": the same through
    # hpystate's checked handle lookup, type_of(Box, st) (only the C-level approaches have it:
    # for C it is the same field read)
    contexts = {"function()": "f()", "own type": "t()", "type_of()": "u()"}
    for depth in DEPTHS:
        for name, stmt in TYPE_CONTEXTS.items():
            label = name if depth == 0 else f"{name} depth {depth}"
            contexts[label] = stmt.format(o=f"o{depth}", mp=f"mp{depth}")
    return contexts


CONTEXTS = _contexts()          # row label -> statement
NAMES = ("f", "t", "u") + tuple(f"{p}{d}" for d in DEPTHS for p in ("o", "mp"))


def module_file(name, site):
    """The built (or copied) file of module ``name`` in ``site``."""
    for suffix in importlib.machinery.all_suffixes():
        path = os.path.join(site, name + suffix)
        if os.path.exists(path):
            return path
    raise ImportError(f"{name} was not built (no file in {site})")


def new_instance(key, site):
    """A new module instance of approach ``key``, created the way its kind allows: a fresh
    load of the extension or source file, or ``ModuleDef.create()`` for hpystate."""
    name, how = APPROACHES[key][1], APPROACHES[key][2]
    if how == "hpystate":
        return importlib.import_module(name).defn.create()
    if how in ("hpystate-stubs", "hpystate-fallback"):     # as if every trampoline were
        import hpystate._core                               # taken (and every stub)
        old = hpystate._core._trampoline_limit(0)
        old_stubs = hpystate._core._stub_limit(0 if how == "hpystate-fallback" else None)
        try:
            return importlib.import_module(name).defn.create()
        finally:
            hpystate._core._trampoline_limit(old)
            hpystate._core._stub_limit(old_stubs)
    spec = importlib.util.spec_from_file_location(name, module_file(name, site))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def subclass_chain(base, depth):
    cls = base
    for i in range(depth):
        cls = type(f"{base.__name__}Sub{i + 1}", (cls,), {"__slots__": ()})
    return cls


def namespace(module):
    """The objects the statements in CONTEXTS use, for one module instance."""
    ns = {"f": module.get}
    for name, func in (("t", "own_type"), ("u", "type_of")):
        if hasattr(module, func):       # else the cell is n/a
            ns[name] = getattr(module, func)
    for depth in DEPTHS:
        ns[f"o{depth}"] = subclass_chain(module.Box, depth)()
        ns[f"mp{depth}"] = subclass_chain(module.Map, depth)()
    return ns


def check(stmt, ns):
    """None if ``stmt`` runs, else a short reason (the cell is reported n/a)."""
    try:
        eval(stmt, dict(ns)) if stmt != "pass" else None
    except NameError:                   # namespace() found no such function in the module
        return "not offered by this approach"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def make_loop(stmt, ns):
    """``loop(n)`` running ``stmt`` n times with every name a fast local; the loop itself
    allocates nothing per iteration (``range`` would allocate an int)."""
    args = ", ".join(f"{n}=__ns.get({n!r})" for n in NAMES)
    src = f"def loop(n, {args}):\n    for _ in repeat(None, n):\n        {stmt}\n"
    g = {"repeat": repeat, "__ns": ns}
    exec(src, g)
    return g["loop"]


def prepared_loops(ns, warmup=200):
    """For "loop" (the empty statement) and every context: ({context: warmed-up loop},
    {context: why it cannot run}). Warm-up lets 3.11+ specialise before measuring."""
    loops, unavailable = {}, {}
    for ctx, stmt in [("loop", "pass"), *CONTEXTS.items()]:
        reason = check(stmt, ns)
        if reason:
            unavailable[ctx] = reason
        else:
            loops[ctx] = make_loop(stmt, ns)
            loops[ctx](warmup)
    return loops, unavailable


# -- correctness: multiple inheritance across two module instances ------------------------

CORRECTNESS = {
    # context -> how m's own implementation is reached for an instance of Both
    "function": lambda m, both: m.get(),
    "method": lambda m, both: m.Box.get(both),
    "slot": lambda m, both: m.Box.__add__(both, 1),
    "getter": lambda m, both: m.Box.value.__get__(both),
}


def correctness(key, site):
    """Which module's state each context saw, with two instances m1, m2 holding the states
    "m1" and "m2" and ``class Both(m1.Box, m2.Box)``: m2's implementation must see "m2".
    Returns context -> "right" | "wrong: ..." | an explanation."""
    try:
        m1 = new_instance(key, site)
        m2 = new_instance(key, site)
    except ImportError:                 # Cython's module-state mode refuses a re-import
        return {ctx: "n/a: one instance" for ctx in CORRECTNESS}
    m1.set("m1")
    m2.set("m2")
    if m1 is m2 or m1.Box is m2.Box:
        return {ctx: "WRONG: one instance" for ctx in CORRECTNESS}
    try:
        Both = type("Both", (m1.Box, m2.Box), {"__slots__": ()})
        both = Both()
    except Exception as exc:
        return {ctx: f"no MI: {type(exc).__name__}" for ctx in CORRECTNESS}
    out = {}
    for ctx, call in CORRECTNESS.items():
        try:
            seen = (call(m1, both), call(m2, both))
        except Exception as exc:
            out[ctx] = f"n/a: {type(exc).__name__}"
            continue
        out[ctx] = "right" if seen == ("m1", "m2") else f"WRONG: saw {seen[0]}/{seen[1]}"
    return out


# -- the program run under callgrind ------------------------------------------------------

def callgrind_program(key, site, n1, n2):
    """Run every context of approach ``key`` twice (n1 and n2 iterations) between
    callgrind client requests; return {context: reason} for contexts that cannot run."""
    import cgmark
    loops, unavailable = prepared_loops(namespace(new_instance(key, site)))
    for ctx, loop in loops.items():
        cgmark.zero()
        loop(n1)
        cgmark.dump(f"{ctx}|{n1}")
        loop(n2)
        cgmark.dump(f"{ctx}|{n2}")
    return unavailable


if __name__ == "__main__":          # python approaches.py KEY SITE N1 N2 (under callgrind)
    import json
    print(json.dumps(callgrind_program(sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                       int(sys.argv[4]))))
