"""The README's tutorial runs as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_tutorial_runs():
    blocks = python_blocks()
    assert blocks, "README has no python examples"
    ns = {"__name__": "readme_tutorial"}
    exec(compile(blocks[0], str(README), "exec"), ns)
    m1 = ns["m1"]
    assert m1.VERSION == 1
    b = m1.Box(4)
    assert b.doubled == 8
    b.doubled = 20
    assert b.get() == 10 and (b - 3).get() == 7
    b.value = -1
    try:
        b.check()
    except ns["m2"].Error:
        raise AssertionError("m1's error caught as m2's")
    except m1.Error:
        pass
    else:
        raise AssertionError("no error raised")
