"""Shared measurement helpers: instructions per loop iteration under callgrind."""
import os
import re
import subprocess
import sys
import tempfile


def real_python():
    """The interpreter binary itself (valgrind must not measure a pyenv shim or a venv
    launcher); ``child_env`` gives it this environment's import path."""
    return os.path.realpath(sys.executable)


def child_env(extra_paths=()):
    paths = list(extra_paths) + [p for p in sys.path[1:] if p and os.path.isdir(p)]
    return {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join(paths)}


def callgrind_total(source, n, extra_paths=()):
    """Instructions executed by ``python -c source n`` under callgrind."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         real_python(), "-c", source, str(n)],
        capture_output=True, text=True, env=child_env(extra_paths),
        cwd=tempfile.gettempdir())   # never import hpystate from a source checkout
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind run failed:\n{proc.stderr[-3000:]}")
    match = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if not match:
        raise RuntimeError(f"no instruction count in callgrind output:\n{proc.stderr[-2000:]}")
    return int(match.group(1))


def per_iteration(source, n1, n2, extra_paths=()):
    """Instructions per loop iteration: two runs with different counts, so start-up
    cancels out."""
    return ((callgrind_total(source, n2, extra_paths) - callgrind_total(source, n1, extra_paths))
            / (n2 - n1))

# Loops in measured programs iterate over itertools.repeat(None, n): ``range`` allocates an
# int per iteration, and whether that hits pymalloc's slow path depends on the heap state
# each program's set-up leaves behind (seen: ~25 instructions per iteration of difference
# between two programs' empty loops). Iteration counts are 10,000 and 110,000: with a
# spread of only 20,000 iterations the estimates were seen to vary by ~15 instructions.
