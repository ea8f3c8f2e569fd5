"""Run hpystate's tests (or a subset) under ``valgrind --tool=memcheck`` and report memory
errors: invalid reads/writes, use of freed memory, conditional jumps on uninitialised values.
Errors whose stack has a frame in hpystate's extension (``_core``) or in a module the tests
build count as hpystate's; the rest (CPython's own, known noise) is listed but tolerated.

    python tools/memcheck.py                          # the whole test suite (tens of minutes)
    python tools/memcheck.py tests/test_lifetime.py   # a subset (what CI runs)

CPython runs with PYTHONMALLOC=malloc so memcheck sees every object allocation. Exits 1 if
hpystate has errors. Run it with hpystate installed (the tests import the installed build).
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OURS = re.compile(r"_core\.c|hpystate|hps_cext|counter_ext|_counter\.c|doc_example")


def parse(log):
    """[(kind, stack text)] of every error record in a memcheck log."""
    errors, current = [], None
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if re.match(r"(Invalid (read|write|free)|Conditional jump|Use of uninitialised|"
                     r"Syscall param|Mismatched free|Source and destination overlap)", body):
            current = [body]
            errors.append(current)
        elif current is not None:
            if body.strip():
                current.append(body)
            else:
                current = None
    return [(e[0], "\n".join(e[1:])) for e in errors]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    tests = argv or ["tests"]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "memcheck.log")
        cmd = ["valgrind", "--tool=memcheck", f"--log-file={log}", "--num-callers=30",
               "--error-limit=no", os.path.realpath(sys.executable), "-m", "pytest", "-q",
               "-p", "no:cacheprovider", "-x", *[os.path.join(ROOT, t) for t in tests]]
        # valgrind runs the interpreter binary itself (not a venv launcher): give it this
        # environment's import path.
        path = [p for p in sys.path[1:] if p and os.path.isdir(p)]
        env = {**os.environ, "PYTHONMALLOC": "malloc", "PYTHONPATH": os.pathsep.join(path)}
        print("running:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, env=env, cwd=tmp)
        with open(log) as f:
            text = f.read()
    errors = parse(text)
    ours = [(k, s) for k, s in errors if OURS.search(s)]
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    print(f"memcheck: tests exit status {proc.returncode}; {len(errors)} error records "
          f"({summary.group(1) if summary else '?'} errors in valgrind's summary), "
          f"{len(ours)} in hpystate's code")
    for kind, stack in ours[:10]:
        print(f"--- {kind}\n{stack}\n")
    if errors and not ours:
        kinds = sorted({k for k, _ in errors})
        print("not hpystate's (CPython or the loader):", "; ".join(kinds))
    return 1 if ours or proc.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
