"""hpystate.testing: the isolation checks pass on correct modules and fail, with a message
naming the problem, on broken ones."""
import sys

import pytest

from hpystate import testing

from conftest import make_def


def test_check_reimport(registered):
    registered("kit_good", make_def("kit_good"))
    first, second = testing.check_reimport("kit_good")
    assert first.Box is not second.Box and "kit_good" not in sys.modules


def test_check_reimport_finds_a_shared_class(registered):
    class Shared:
        pass

    d = make_def("kit_shared")
    d.exec(lambda state, module: setattr(module, "Shared", Shared))
    registered("kit_shared", d)
    with pytest.raises(AssertionError, match="share the class Shared"):
        testing.check_reimport("kit_shared")


def test_check_reimport_needs_an_hpystate_module():
    with pytest.raises(AssertionError, match="not an hpystate module"):
        testing.check_reimport("colorsys")


def test_check_multiple_inheritance():
    d = make_def("kit.mi")
    m1, m2, both = testing.check_multiple_inheritance(
        d.create, "Box", call=lambda Box, obj: Box.whoami(obj))
    assert isinstance(both, m1.Box) and isinstance(both, m2.Box)
    with pytest.raises(AssertionError, match="saw .* instead of"):
        testing.check_multiple_inheritance(d.create, "Box",
                                           call=lambda Box, obj: Box.whoami(obj),
                                           expect=lambda module: None)


def test_check_no_leaks():
    d = make_def("kit.leaks")
    result = testing.check_no_leaks(d.create, cycles=200,
                                    exercise=lambda m: (m.incr(), m.Box(1) + 1))
    assert result["cycles"] == 200 and result["growth"] < 64 * 1024
    kept = []

    def leaky():
        module = d.create()
        kept.append(module)
        return module
    with pytest.raises(AssertionError, match="state objects were never freed"):
        testing.check_no_leaks(leaky, cycles=40)


def test_run_in_subinterpreter_reports_failures():
    isolated = testing.OWN_GIL
    with pytest.raises(testing.SubinterpreterError, match="ZeroDivisionError"):
        testing.run_in_subinterpreter("1 / 0", isolated=isolated)
    with pytest.raises(testing.SubinterpreterError, match="did not finish in 1"):
        testing.run_in_subinterpreter("import time; time.sleep(60)", isolated=isolated,
                                      timeout=1)
    with pytest.raises(testing.SubinterpreterError, match="process running the "
                                                          "subinterpreter failed"):
        testing.run_in_subinterpreter("import os; os.abort()", isolated=isolated)
    assert testing.run_in_subinterpreter("result = {'a': (1, 2.5, None)}",
                                         isolated=isolated) == {"a": (1, 2.5, None)}
