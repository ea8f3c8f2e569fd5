"""The main job: build and run the example module, then run the benchmark suite
(benchmarks/suite.py) on this interpreter and print its tables.

    python benchmarks/run.py                 # example + full suite (a few minutes)
    python benchmarks/run.py --quick         # CI smoke: tiny counts, no valgrind
    python benchmarks/run.py --json FILE     # also write the suite's results as JSON
    python benchmarks/run.py --plot FILE     # also draw them (pip install ".[chart]")
    python benchmarks/run.py --wall          # also the wall-clock tables (noisy)
    python benchmarks/run.py --check BASELINE.json
        # the regression gate (benchmarks/gate.py): callgrind only, floor and hpystate
    python benchmarks/run.py --all-pythons [--out DIR]
        # every installed CPython 3.10-3.15: a venv each (DIR/venvs), `pip install
        # ".[bench]"`, the suite, DIR/<version>.json; then DIR/chart.png (matplotlib)

Needs hpystate installed with the build tools (``pip install ".[bench]"``): the example and
the suite's extensions are compiled against the installed hpystate.
"""
import argparse
import glob
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "counter_ext"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")


def run_example():
    print("== examples/counter_ext: built against the installed hpystate")
    with tempfile.TemporaryDirectory() as site:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-deps", "--no-index", "--target", site, str(EXAMPLE)], check=True)
        env = {**os.environ, "PYTHONPATH": site}
        subprocess.run([sys.executable, str(EXAMPLE / "demo.py")], check=True, env=env,
                       cwd=site)
    print()


def find_pythons():
    """{version: interpreter} for the supported versions installed here."""
    found = {}
    for v in SUPPORTED:
        candidates = sorted(glob.glob(f"/root/.pyenv/versions/{v}.*/bin/python"))
        candidates += [shutil.which(f"python{v}")] if shutil.which(f"python{v}") else []
        if candidates:
            found[v] = candidates[0]
    return found


def all_pythons(out):
    out = pathlib.Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for v, python in find_pythons().items():
        print(f"=== CPython {v} ({python})", flush=True)
        venv = out / "venvs" / v
        if not (venv / "bin" / "python").exists():
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                        "--disable-pip-version-check", f"{ROOT}[bench]"], check=True)
        target = out / f"{v}.json"
        subprocess.run([str(venv / "bin" / "python"), str(HERE / "suite.py"), "--json",
                        str(target)], check=True, cwd=str(out))
        written.append(str(target))
    missing = [v for v in SUPPORTED if v not in find_pythons()]
    if missing:
        print(f"not installed here: CPython {', '.join(missing)}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"matplotlib is not installed: no chart (pip install \"{ROOT}[chart]\", then "
              f"python {HERE / 'chart.py'} {out}/3.*.json -o {out}/chart.png)")
        return
    subprocess.run([sys.executable, str(HERE / "chart.py"), *written, "-o",
                    str(out / "chart.png")], check=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI smoke mode")
    p.add_argument("--json", metavar="FILE", help="write the suite's results as JSON")
    p.add_argument("--wall-clock", "--wall", action="store_true",
                   help="also print the wall-clock tables (noisy)")
    p.add_argument("--plot", metavar="FILE",
                   help="also draw the results as a PNG chart (pip install \".[chart]\")")
    p.add_argument("--check", metavar="BASELINE",
                   help="the regression gate against a suite result (benchmarks/gate.py)")
    p.add_argument("--all-pythons", action="store_true",
                   help="run the suite on every installed supported CPython")
    p.add_argument("--out", default=str(HERE / "results"),
                   help="folder for --all-pythons (default: benchmarks/results)")
    args = p.parse_args(argv)
    if args.all_pythons:
        all_pythons(args.out)
        return
    sys.path.insert(0, str(HERE))
    if args.check:
        import gate
        sys.exit(gate.main(args.check, os.cpu_count() or 1))
    run_example()
    import suite
    suite.main((["--quick"] if args.quick else []) +
               (["--json", args.json] if args.json else []) +
               (["--wall-clock"] if args.wall_clock else []) +
               (["--plot", args.plot] if args.plot else []))


if __name__ == "__main__":
    main()
