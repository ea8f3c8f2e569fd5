"""The main job: build and run the example module, then print the benchmark tables:
Python-level implementations (bench_dispatch.py) and C-level ones (bench_cimport.py).

    python benchmarks/run.py            # example + callgrind tables (several minutes)
    python benchmarks/run.py --quick    # CI smoke mode: example + tiny wall-clock runs

Needs hpystate installed with Cython and setuptools (``pip install ".[test]"``): the
example is compiled against the installed hpystate.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "counter_ext"
sys.path.insert(0, str(HERE))

import bench_cimport  # noqa: E402
import bench_dispatch  # noqa: E402


def run_example():
    print("== examples/counter_ext: built against the installed hpystate")
    with tempfile.TemporaryDirectory() as site:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-deps", "--no-index", "--target", site, str(EXAMPLE)], check=True)
        env = {**os.environ, "PYTHONPATH": site}
        subprocess.run([sys.executable, str(EXAMPLE / "demo.py")], check=True, env=env,
                       cwd=site)
    print()


def main(argv):
    quick = ["--quick"] if "--quick" in argv else []
    run_example()
    print("== Python-level implementations: hpystate vs calling the impl by hand")
    bench_dispatch.main(quick)
    print()
    print("== C-level implementations: static global vs CPython's module-state route vs "
          "hpystate's cimport API")
    bench_cimport.main(quick)


if __name__ == "__main__":
    main(sys.argv[1:])
