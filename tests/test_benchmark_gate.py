"""The benchmark regression gate's rules (benchmarks/gate.py), on made-up cells: what it
fails on and what it lets through. (The measurement itself runs in CI: .ci/run.)"""
import copy
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
import approaches  # noqa: E402
import gate  # noqa: E402


def _run(floor=200.0, cimport=205.0, other=400.0):
    cells = {"static": {}, **{k: {} for k in gate.GATED}}
    for ctx in approaches.CONTEXTS:
        cells["static"][ctx] = floor
        cells["hps-c"][ctx] = cimport
        cells["hps-stub"][ctx] = cimport * 1.01
        cells["hps-fb"][ctx] = cimport * 2
        cells["hps-cydef"][ctx] = other
        cells["hps-cydef-plain"][ctx] = other * 0.8
        cells["hps-py"][ctx] = other * 2
    return cells


def test_a_run_like_its_baseline_passes():
    now = _run()
    assert gate.compare({"callgrind": copy.deepcopy(now)}, now) == []


def test_cimport_above_the_floor_rule_fails():
    now = _run()
    now["hps-c"]["nb_add"] = 212.0                  # 1.06x
    failures = gate.compare({"callgrind": _run()}, now, same_cython=False)
    assert len(failures) == 1 and "nb_add" in failures[0] and "1.060x" in failures[0]
    now["hps-c"]["nb_add"] = 210.9                  # 1.0545x prints as 1.05: the tables' rule
    assert gate.compare({"callgrind": _run()}, now, same_cython=False) == []


def test_a_cliff_past_the_static_tables_fails():
    now = _run()
    now["hps-stub"]["method(x)"] = 205.0 * 1.11             # 1.11x the trampoline path
    failures = gate.compare({"callgrind": _run()}, now, same_cython=False)
    assert len(failures) == 1 and "method(x)" in failures[0] and "1.110x" in failures[0]
    assert "hps stubs" in failures[0]
    assert gate.compare({"callgrind": _run()}, now, same_cython=False, stubs=False) == []
    now["hps-stub"]["method(x)"] = 205.0 * 1.10
    assert gate.compare({"callgrind": _run()}, now, same_cython=False) == []


def test_type_of_row_is_outside_the_floor_rule_only():
    now = _run()
    now["hps-c"]["type_of()"] = 330.0
    base = {"callgrind": copy.deepcopy(now)}
    assert gate.compare(base, now) == []
    now["hps-c"]["type_of()"] = 340.0               # +3% against the baseline
    failures = gate.compare(base, now)
    assert len(failures) == 1 and "type_of()" in failures[0] and "+3.0%" in failures[0]


@pytest.mark.parametrize("key", ["hps-cydef", "hps-cydef-plain", "hps-py"])
def test_decorator_type_of_has_the_layout_tolerance(key):
    """The decorator APIs' type_of() varies with the memory layout by a few percent: 10%
    is tolerated there, and only there."""
    now = _run()
    now[key]["type_of()"] = 1500.0
    base = {"callgrind": copy.deepcopy(now)}
    now[key]["type_of()"] = 1500.0 * 1.056
    assert gate.compare(base, now) == []
    now[key]["type_of()"] = 1500.0 * 1.12
    failures = gate.compare(base, now)
    assert len(failures) == 1 and "type_of()" in failures[0] and "more than 10%" in failures[0]
    now[key]["type_of()"] = 1500.0
    now[key]["function()"] = now[key]["function()"] * 1.05
    failures = gate.compare(base, now)
    assert len(failures) == 1 and "function()" in failures[0] and "more than 2%" in failures[0]


@pytest.mark.parametrize("key", gate.GATED)
def test_a_regression_over_two_percent_in_any_hpystate_column_fails(key):
    base = {"callgrind": _run()}
    now = _run()
    now[key]["getter depth 10"] *= 1.021
    failures = gate.compare(base, now)
    assert len(failures) == 1 and "getter depth 10" in failures[0]
    now[key]["getter depth 10"] = base["callgrind"][key]["getter depth 10"] * 1.019
    assert gate.compare(base, now) == []


def test_another_cython_checks_the_floor_rule_only():
    base = {"callgrind": _run(other=100.0)}
    assert gate.compare(base, _run(), same_cython=False) == []
    assert gate.compare(base, _run(), same_cython=True) != []


def test_a_cell_no_longer_measured_fails():
    now = _run()
    now["hps-py"]["method()"] = "n/a (failed: boom)"
    failures = gate.compare({"callgrind": _run()}, now)
    assert failures == [f"hps Python method(): measured before (800), not now "
                        f"(n/a (failed: boom))"]
