"""The shipped typing stubs agree with the runtime (mypy's stubtest)."""
import os
import pathlib
import subprocess
import sys

import hpystate

ALLOWLIST = pathlib.Path(__file__).resolve().parent.parent / "tools" / "stubtest-allowlist.txt"


def test_stubs_match_the_runtime(tmp_path):
    # MYPYPATH: the folder holding the hpystate package as imported, so an editable
    # install's stubs are found as well as an installed one's.
    env = {**os.environ, "MYPYPATH": os.path.dirname(os.path.dirname(hpystate.__file__))}
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "hpystate", "--concise",
                           "--allowlist", str(ALLOWLIST), "--mypy-config-file", os.devnull],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
