"""Run hpystate's tests (or a subset) under ``valgrind --tool=memcheck`` and report memory
errors (invalid reads/writes, use of freed memory, conditional jumps on uninitialised values)
and memory definitely lost at exit.

A record counts as hpystate's when its stack has a frame in hpystate's extension
(``_core.c``) or in an extension the tests build; the rest (CPython's own, known valgrind
noise such as the vectorised ``wmemcmp`` reading past a string) is listed but tolerated.
A leak whose allocation passed through hpystate's code is hpystate's unless it is a string
CPython interned on its behalf (e.g. the keys of Cython's ``__pyx_capi__`` dict: interned
strings are deliberately kept until the process ends; on 3.12 every interned string is
immortal, so no lost str object counts there) or tracemalloc's own record of an
allocation (it loses some when tracing stops; the tests trace memory).

    python tools/memcheck.py                          # the whole test suite (~6-10 minutes)
    python tools/memcheck.py tests/test_lifetime.py   # a subset (what CI runs)
    python tools/memcheck.py --log mc.log tests       # keep valgrind's whole log

CPython runs with PYTHONMALLOC=malloc so memcheck sees every object allocation. Exits 1 if
hpystate has errors or leaks, or if the tests fail. Run it with hpystate installed (the
tests import the installed build).
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# A frame in hpystate's extension or an extension the tests build: "(file.c:LINE)".
OURS = re.compile(r"\((_core|hps_cext|counter_ext|_counter|doc_example\w*|_stress_cext)\.c:\d+\)"
                  r"|\((_trampolines|hpystate)\.h:\d+\)|/hpystate/")
INTERNED = re.compile(r"PyUnicode_New.*\n(.*\n)*?.*(PyDict_SetItemString|PyUnicode_InternFrom|"
                      r"_PyPegen_new_identifier)")
# On 3.12 every interned string is immortal and never freed, whoever interned it (an
# attribute name, a parsed identifier): there, a lost str object is not evidence of a leak.
STR_OBJECT = re.compile(r"\A[^\n]*alloc[^\n]*\n[^\n]*\bPyUnicode_New\b")
# tracemalloc's own records of a traced allocation (3.10 loses some when tracing stops)
TRACEMALLOC = re.compile(r"\A[^\n]*alloc[^\n]*\n[^\n]*\b(raw_malloc|raw_realloc|traceback_new|"
                         r"tracemalloc_add_trace|_Py_hashtable_\w+)\b[^\n]*"
                         r"\((_?tracemalloc|hashtable)\.c:")
ERROR_START = re.compile(r"(Invalid (read|write|free)|Conditional jump|Use of uninitialised|"
                         r"Syscall param|Mismatched free|Source and destination overlap)")
LEAK_START = re.compile(r"[\d,]+ bytes in [\d,]+ blocks are definitely lost")


def records(log):
    """[(first line, stack text)] of every error and definite-leak record in a log."""
    out, current = [], None
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if ERROR_START.match(body) or LEAK_START.match(body):
            current = [body]
            out.append(current)
        elif current is not None:
            if body.strip():
                current.append(body)
            else:
                current = None
    return [(r[0], "\n".join(r[1:])) for r in out]


def classify(text, version=sys.version_info[:2]):
    """(errors, hpystate's errors, leaks, hpystate's leaks) of a memcheck log made by
    CPython ``version``."""
    recs = records(text)
    errors = [r for r in recs if not LEAK_START.match(r[0])]
    leaks = [r for r in recs if LEAK_START.match(r[0])]
    our_errors = [r for r in errors if OURS.search(r[1])]
    our_leaks = [r for r in leaks if OURS.search(r[1]) and not INTERNED.search(r[1])
                 and not TRACEMALLOC.search(r[1])
                 and not (version == (3, 12) and STR_OBJECT.search(r[1]))]
    return errors, our_errors, leaks, our_leaks


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    keep = None
    if "--log" in argv:
        i = argv.index("--log")
        keep = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    tests = argv or ["tests"]
    with tempfile.TemporaryDirectory() as tmp:
        log = keep or os.path.join(tmp, "memcheck.log")
        cmd = ["valgrind", "--tool=memcheck", f"--log-file={log}", "--num-callers=40",
               "--error-limit=no", "--leak-check=full", "--show-leak-kinds=definite",
               os.path.realpath(sys.executable), "-m", "pytest", "-q",
               "-p", "no:cacheprovider", "-x", *[os.path.join(ROOT, t) for t in tests]]
        # valgrind runs the interpreter binary itself (not a venv launcher): give it this
        # environment's import path.
        path = [p for p in sys.path[1:] if p and os.path.isdir(p)]
        env = {**os.environ, "PYTHONMALLOC": "malloc", "PYTHONPATH": os.pathsep.join(path)}
        print("running:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, env=env, cwd=tmp)
        with open(log) as f:
            text = f.read()
    errors, our_errors, leaks, our_leaks = classify(text)
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    print(f"memcheck: tests exit status {proc.returncode}; {len(errors)} error records "
          f"({summary.group(1) if summary else '?'} errors in valgrind's summary), "
          f"{len(our_errors)} in hpystate's code; {len(leaks)} definite-leak records "
          f"({lost.group(1) if lost else 0} bytes, mostly CPython's own at exit), "
          f"{len(our_leaks)} allocated through hpystate's code")
    for kind, stack in (our_errors + our_leaks)[:10]:
        print(f"--- {kind}\n{stack}\n")
    others = sorted({k for k, s in errors if not OURS.search(s)})
    if others:
        print("errors not in hpystate's code (CPython, libc or valgrind):", "; ".join(others))
    return 1 if our_errors or our_leaks or proc.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
