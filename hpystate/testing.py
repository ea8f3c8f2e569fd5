"""Isolation checks for modules built with hpystate, to call from your own test suite.

    from hpystate import testing

    def test_reimport_isolated():
        m1, m2 = testing.check_reimport("mypkg.counter")

    def test_subinterpreter():
        assert testing.run_in_subinterpreter('''
            import mypkg.counter as m
            result = m.incr(5)
        ''') == 5

    def test_true_defining_class():
        testing.check_multiple_inheritance(mypkg.counter_def.create, "Box",
                                           call=lambda Box, obj: Box.owner(obj))

    def test_no_leaks():
        testing.check_no_leaks(mypkg.counter_def.create, cycles=500)

Each check raises ``AssertionError`` with a message saying what leaked or what was shared,
and returns what it measured. See docs/subinterpreters.md.
"""
from __future__ import annotations

import ast
import gc
import importlib
import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import tracemalloc
import types
import weakref
from typing import Any, Callable, Mapping

from hpystate._core import state_of

__all__ = ["FREE_THREADED", "OWN_GIL", "SubinterpreterError", "check_multiple_inheritance", "check_no_leaks",
           "check_reimport", "run_in_subinterpreter"]

#: True where isolated subinterpreters with their own GIL exist (CPython 3.12+).
OWN_GIL: bool = sys.version_info >= (3, 12)

#: True on a free-threaded CPython build (``python3.14t``; the GIL may still be enabled).
FREE_THREADED: bool = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


class SubinterpreterError(Exception):
    """The snippet given to ``run_in_subinterpreter`` failed (its traceback is the message),
    or the process running the subinterpreter crashed or timed out."""


def _state_or_none(module: types.ModuleType) -> object:
    try:
        return state_of(module)
    except TypeError:
        return None


def check_reimport(name: str) -> tuple[types.ModuleType, types.ModuleType]:
    """Import module ``name`` twice as two instances (removing it from ``sys.modules``
    before each import, and restoring what was there afterwards), and check that nothing is
    shared: distinct module objects, distinct state objects, and distinct objects for every
    class and exception the modules expose. Returns ``(first, second)``."""
    saved = sys.modules.pop(name, None)
    try:
        first = importlib.import_module(name)
        del sys.modules[name]
        second = importlib.import_module(name)
    finally:
        if saved is not None:
            sys.modules[name] = saved
        else:
            sys.modules.pop(name, None)
    assert first is not second, f"re-importing {name} returned the same module object"
    s1, s2 = _state_or_none(first), _state_or_none(second)
    assert s1 is not None and s2 is not None, f"{name} is not an hpystate module"
    assert s1 is not s2, f"the two instances of {name} share their state object"
    for attr, value in vars(first).items():
        if isinstance(value, type) and getattr(second, attr, None) is value:
            raise AssertionError(f"the two instances of {name} share the class {attr}")
    return first, second


def check_multiple_inheritance(factory: Callable[[], types.ModuleType], type_name: str,
                               call: Callable[[type, Any], object],
                               expect: Callable[[types.ModuleType], object] = state_of,
                               ) -> tuple[types.ModuleType, types.ModuleType, object]:
    """The case CPython's ``PyType_GetModuleByDef`` gets wrong. With two instances
    ``m1, m2 = factory(), factory()`` and ``class Both(m1.T, m2.T)`` (``T`` being
    ``type_name``), code of each side must see its own module's state:
    ``call(m.T, both)`` (which should call some member of ``T`` that reveals its state)
    must equal ``expect(m)`` for both modules; ``expect`` defaults to the module's state
    object. Python-level bindings on ``m2.T`` are also checked directly. Returns
    ``(m1, m2, both)``."""
    m1, m2 = factory(), factory()
    T1, T2 = getattr(m1, type_name), getattr(m2, type_name)
    assert T1 is not T2, f"both instances share the class {type_name}"
    both = type("Both", (T1, T2), {})()
    for m, T in ((m1, T1), (m2, T2)):
        seen, wanted = call(T, both), expect(m)
        assert seen == wanted, (f"{type_name} of module instance {'m1' if m is m1 else 'm2'} "
                                f"saw {seen!r} instead of {wanted!r}")
    s2 = state_of(m2)
    for name, member in vars(T2).items():
        bound = getattr(member, "__hpystate_state__", s2)
        assert bound is s2, f"{type_name}.{name} of m2 carries another instance's state"
    return m1, m2, both


def check_no_leaks(factory: Callable[[], types.ModuleType], cycles: int = 1000,
                   max_growth: int = 64 * 1024,
                   exercise: Callable[[types.ModuleType], object] | None = None,
                   ) -> dict[str, int]:
    """``cycles`` create/destroy cycles of ``factory()`` (a module instance each, given to
    ``exercise(module)`` if set, then dropped and collected): every state object must be
    freed, and memory traced by tracemalloc over the second half of the cycles must grow by
    less than ``max_growth`` bytes. Returns ``{"cycles", "growth"}``."""
    def cycle() -> weakref.ref[object]:
        module = factory()
        ref: weakref.ref[object] = weakref.ref(state_of(module))
        if exercise is not None:
            exercise(module)
        del module
        gc.collect()
        return ref

    for _ in range(min(cycles, 20)):        # warm caches (interned strings, free lists)
        cycle()
    tracemalloc_was_on = tracemalloc.is_tracing()
    if not tracemalloc_was_on:
        tracemalloc.start()
    try:
        half = cycles // 2
        alive = [ref for ref in (cycle() for _ in range(half)) if ref() is not None]
        base = tracemalloc.get_traced_memory()[0]
        alive += [ref for ref in (cycle() for _ in range(cycles - half)) if ref() is not None]
        growth = tracemalloc.get_traced_memory()[0] - base
    finally:
        if not tracemalloc_was_on:
            tracemalloc.stop()
    assert not alive, f"{len(alive)} of {cycles} state objects were never freed"
    assert growth < max_growth, (f"memory grew by {growth} bytes over {cycles - half} "
                                 f"create/destroy cycles (bound {max_growth})")
    return {"cycles": cycles, "growth": growth}


_CHILD = '''
import os, sys
code, isolated, fd = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
before, after = sys.argv[4], sys.argv[5]
main_ns = {"__name__": "__main_interpreter__"}
exec(compile(before, "<before>", "exec"), main_ns)
wrapper = f"""
import os as _os, traceback as _tb
_ns = {{"__name__": "__subinterpreter__"}}
try:
    exec(compile({code!r}, "<subinterpreter>", "exec"), _ns)
    _out = repr(("ok", _ns.get("result")))
except BaseException:
    _out = repr(("error", _tb.format_exc()))
_os.write({fd}, _out.encode())
"""
if sys.version_info >= (3, 13):
    import _interpreters as interpreters
    interp = interpreters.create("isolated" if isolated else "legacy")
elif sys.version_info >= (3, 12):
    import _xxsubinterpreters as interpreters
    interp = interpreters.create(isolated=isolated)
else:
    import _xxsubinterpreters as interpreters
    interp = interpreters.create()
try:
    interpreters.run_string(interp, wrapper)
finally:
    interpreters.destroy(interp)
exec(compile(after, "<after>", "exec"), main_ns)
os.write(fd, ("\\n" + repr(main_ns.get("result"))).encode())
os.close(fd)
'''


def run_in_subinterpreter(source: str, *, isolated: bool | None = None, before: str = "",
                          after: str | None = None, timeout: float = 120.0,
                          env: Mapping[str, str] | None = None, cwd: str | None = None) -> Any:
    """Run ``source`` (dedented) in a new subinterpreter and return the value it assigns to
    ``result`` (a Python literal: numbers, strings, tuples, lists, dicts, None...).

    ``before`` runs in the main interpreter (of the child process, see below) before the
    subinterpreter is created, ``after`` once it is destroyed, in one namespace: e.g.
    import the module in the main interpreter first, then check that the subinterpreter did
    not disturb its state. With ``after``, the return value is ``(result, main_result)``,
    ``main_result`` being what ``before``/``after`` assigned to ``result``.

    ``isolated=True``: an own-GIL interpreter with CPython's isolated configuration, which
    refuses extension modules that do not declare own-GIL support (needs 3.12+, see
    ``OWN_GIL``); ``isolated=False``: a legacy shared-GIL interpreter; the default, None,
    is the strictest this Python has (``OWN_GIL``). The interpreter lives
    in a child process (the same interpreter binary and import path), so a crash or a hang
    surfaces as ``SubinterpreterError`` instead of taking the test run down; ``env`` is its
    environment (default: this process's) and ``cwd`` its working directory (default: the
    temporary directory, so that a source checkout in the current directory does not shadow
    installed packages). Raises ``SubinterpreterError`` with the
    snippet's traceback if it fails."""
    if isolated is None:
        isolated = OWN_GIL
    if isolated and not OWN_GIL:
        raise NotImplementedError("own-GIL (isolated) subinterpreters need Python 3.12+; "
                                  "pass isolated=False (or leave it out: the default is "
                                  "the strictest this Python has)")
    code = textwrap.dedent(source)
    read_fd, write_fd = os.pipe()
    try:
        child_env = dict(os.environ if env is None else env)
        child_env["PYTHONPATH"] = os.pathsep.join(
            [p for p in sys.path if p] + [child_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, code, "1" if isolated else "0",
                                 str(write_fd), textwrap.dedent(before),
                                 textwrap.dedent(after or "")], pass_fds=(write_fd,),
                                env=child_env, cwd=cwd or tempfile.gettempdir(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(write_fd)
        write_fd = -1
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise SubinterpreterError(f"the subinterpreter did not finish in {timeout} s")
        with os.fdopen(read_fd, "rb") as f:
            read_fd = -1
            payload = f.read().decode()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    sub, _, main = payload.partition("\n")
    if proc.returncode != 0 or not sub or not main:
        raise SubinterpreterError(f"the process running the subinterpreter failed (exit "
                                  f"status {proc.returncode}):\n{err.decode()[-3000:]}")
    status, value = ast.literal_eval(sub)
    if status != "ok":
        raise SubinterpreterError(value)
    return value if after is None else (value, ast.literal_eval(main))
