"""The main job: build and run the example module, then print the dispatch benchmark table.

    python benchmarks/run.py            # example + callgrind table (a few minutes)
    python benchmarks/run.py --quick    # CI smoke mode: example + tiny wall-clock run
    (other options are passed to bench_dispatch.py: --metric, --json, --jobs)

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
    run_example()
    print("== dispatch benchmark")
    bench_dispatch.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
