"""The README's main job (benchmarks/run.py) reads as promised: progress while it works, the
headline first, a legend naming every column, tables that fit 100 columns, a chart where
asked. Run in smoke mode (tiny counts, wall-clock), without installing HPy (no network)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from approaches import APPROACHES  # noqa: E402


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    chart = tmp_path_factory.mktemp("chart") / "chart.png"
    env = {**os.environ, "HPYSTATE_BENCH_NO_INSTALL": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                           "--plot", str(chart)], capture_output=True, text=True, env=env,
                          cwd=tmp_path_factory.mktemp("cwd"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, chart


def test_progress_lines_come_before_the_results(main_job):
    out, _ = main_job
    steps = [re.search(rf"^  {re.escape(s)}.* \.\.\. \d+ s$", out, re.M)
             for s in (f"building the {len(APPROACHES)} approaches", "wall-clock,",
                       "correctness: class Both", "module creation and memory")]
    assert all(steps), out[:2000]
    starts = [m.start() for m in steps]
    assert starts == sorted(starts) and starts[-1] < out.index("Headline (")


def test_the_headline_comes_first_and_names_every_approach(main_job):
    out, _ = main_job
    head = out.index("Headline (")
    correctness = out.index("class Both(m1.Box, m2.Box): does")
    assert head < correctness < out.index("Columns:") < out.index("Per call,")
    block = out[head:out.index("\n\n", head)]
    for key, (label, *_) in APPROACHES.items():
        if key != "static":
            assert re.search(rf"^  {re.escape(label)} ", block, re.M), (label, block)
    for label in ("hps cimport", "hps fallback", "hps Cy def", "hps Cy def plain",
                  "hps Python"):
        assert re.search(rf"^  {re.escape(label)} .*right state everywhere$", block, re.M)


def test_the_legend_explains_every_column_of_the_tables(main_job):
    out, _ = main_job
    legend = out[out.index("Columns:"):out.index("\n\n", out.index("Columns:"))]
    named = set(re.findall(r"^  (\S.{0,20}?) {2,}", legend, re.M))
    assert named == {label for label, *_ in APPROACHES.values()}, legend
    # both per-call tables, with the unit in the title and every column in the legend
    tables = re.findall(r"^Per call, (.*) \((ns|instructions): C static", out, re.M)
    assert [t[0] for t in tables] == ["C-level implementations",
                                      "def implementations, Cython or Python"], tables


def test_every_line_fits_100_columns(main_job):
    out, _ = main_job
    wide = [line for line in out.splitlines() if len(line) > 100]
    assert not wide, wide


def test_the_chart_is_written_and_named(main_job):
    out, chart = main_job
    if importlib.util.find_spec("matplotlib") is None:
        assert 'chart: not drawn, matplotlib is not installed (pip install ".[chart]"' in out
        return
    assert f"chart: {chart}" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_creation_is_measured_at_1_10_and_100_types(main_job):
    out, _ = main_job
    start = out.index("creation by number of types")
    block = out[start:].split("\n\n")[0].splitlines()
    assert re.search(r"1 type\s+10 types\s+100 types", block[1]), block
    rows = {line.split("  ")[0]: line for line in block[3:]}
    assert set(rows) == {"hpystate cimport", "hpystate Python"}, block
    for line in rows.values():
        assert len(re.findall(r"\d+\.\d\dx", line)) == 6, line     # time/instr., memory
