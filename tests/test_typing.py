"""The shipped typing stubs agree with the runtime (mypy's stubtest)."""
import os
import pathlib
import site
import subprocess
import sys

import hpystate

ALLOWLIST = pathlib.Path(__file__).resolve().parent.parent / "tools" / "stubtest-allowlist.txt"


def test_stubs_match_the_runtime(tmp_path):
    # An editable install's stubs are in the checkout, which mypy finds only on MYPYPATH
    # (and mypy refuses site-packages there, where an installed hpystate is found anyway).
    env = dict(os.environ)
    folder = os.path.dirname(os.path.dirname(os.path.abspath(hpystate.__file__)))
    if folder not in {os.path.abspath(p) for p in site.getsitepackages()}:
        env["MYPYPATH"] = folder
    config = tmp_path / "mypy.ini"          # none of the checkout's or the user's settings
    config.write_text("[mypy]\n")
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "hpystate", "--concise",
                           "--allowlist", str(ALLOWLIST), "--mypy-config-file", str(config)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
