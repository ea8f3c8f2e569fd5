"""Build the HPy 0.9 reference extension (benchmarks/ext/hpy_ext.c -> module ``hpy_bench``).

Built for the CPython ABI (``--hpy-abi=cpython``) with the ``hpy`` package's setuptools
integration (installed by ``available()`` where HPy compiles), in a subprocess running ``sys.executable``, then smoke-tested in another
one: HPy 0.9 builds on 3.13 but instantiating any HPy type there segfaults (HPy marks its
types with tp_flags bit 2, which 3.13 took for Py_TPFLAGS_INLINE_VALUES). Failures raise
``RuntimeError`` with a short one-line reason, fit for a table cell.
"""
import importlib
import importlib.metadata
import os
import platform
import re
import signal
import subprocess
import sys
import sysconfig
import textwrap

#: What the suite installs (into its own environment) where HPy compiles.
REQUIREMENT = "hpy==0.9.0"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ext", "hpy_ext.c")


def available():
    """None if ``hpy.devel`` is importable, else the reason why not."""
    try:
        import hpy.devel  # noqa: F401
        return None
    except ImportError:
        pass
    # Not a dependency of the bench extra: no packaging marker can exclude free-threaded
    # builds, where (as on 3.15) HPy 0.9's own C code does not compile.
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "HPy 0.9 does not compile on free-threaded builds"
    if sys.version_info >= (3, 15):
        return "HPy 0.9 does not compile on 3.15"
    if os.environ.get("HPYSTATE_BENCH_NO_INSTALL"):     # the tests: no network
        return f"{REQUIREMENT} not installed (HPYSTATE_BENCH_NO_INSTALL is set)"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", REQUIREMENT],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return f"pip install {REQUIREMENT} failed: {_first_error(proc.stderr + proc.stdout)}"
    importlib.invalidate_caches()
    return None


def _first_error(output):
    for line in output.splitlines():
        if re.search(r"\berror\b", line, re.IGNORECASE):
            # drop the directory of "path/file.c:12:3: error: ..." to keep it short
            line = re.sub(r"^\S*/", "", line.strip())
            return line[:160]
    return "unknown error"


def build(target):
    """Compile hpy_ext.c into an importable ``hpy_bench`` module in directory ``target``."""
    reason = available()
    if reason:
        raise RuntimeError(reason)
    script = textwrap.dedent(f"""
        from setuptools import setup, Extension
        setup(name="hpy_bench", script_args=["--hpy-abi=cpython", "build_ext", "--inplace",
                                             "-q", "--build-temp", "build"],
              hpy_ext_modules=[Extension("hpy_bench", [{SOURCE!r}])])
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=target, capture_output=True,
                          text=True)
    where = f"hpy {importlib.metadata.version('hpy')} on {platform.python_version()}"
    if proc.returncode != 0:
        raise RuntimeError(f"{where} does not build: {_first_error(proc.stderr + proc.stdout)}")
    smoke = subprocess.run([sys.executable, "-c", "import hpy_bench as m; m.Box(); m.Map()"],
                           cwd=target, capture_output=True, text=True)
    if smoke.returncode < 0:
        raise RuntimeError(f"{where}: Box() crashes ({signal.Signals(-smoke.returncode).name})")
    if smoke.returncode != 0:
        raise RuntimeError(f"{where}: Box() fails: {(smoke.stderr.splitlines() or ['?'])[-1]}")
