"""Property-based definitions (hypothesis): random module names, state classes, functions,
types with methods, getters and slots of random names and arities, duplicates. Every
invalid definition must be rejected with TypeError/ValueError when it is defined; every
valid one must create instances whose members all work and see their own state; calls
with the wrong number of arguments raise the usual TypeError."""
import keyword

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import hpystate

# slot name -> (dunder it installs, parameter count incl. state and self, or None: variadic,
# how to exercise it on an instance, what that returns)
SLOTS = {
    "__len__": ("__len__", 2, lambda o: len(o), 0),
    "sq_length": ("__len__", 2, lambda o: len(o), 0),
    "__add__": ("__add__", 3, lambda o: o + 1, "add"),
    "nb_add": ("__add__", 3, lambda o: o + 1, "add"),
    "__eq__": ("__eq__", 3, lambda o: o == 1, "eq"),
    "__hash__": ("__hash__", 2, lambda o: hash(o), 0),
    "__repr__": ("__repr__", 2, lambda o: repr(o), "r"),
    "__neg__": ("__neg__", 2, lambda o: -o, "neg"),
    "__getitem__": ("__getitem__", 3, lambda o: o[0], "item"),
    "__contains__": ("__contains__", 3, lambda o: 1 in o, True),
    "__bool__": ("__bool__", 2, lambda o: bool(o), True),
    "__call__": ("__call__", None, lambda o: o(), "call"),
    "__del__": ("__del__", 2, lambda o: o.__del__(), "del"),
    "tp_finalize": ("__del__", 2, lambda o: o.__del__(), "del"),
}
RETURNS = {"__len__": "0", "__hash__": "0", "__repr__": "'r'", "__bool__": "True",
           "__contains__": "True", "__add__": "'add'", "__eq__": "'eq'", "__neg__": "'neg'",
           "__getitem__": "'item'", "__call__": "'call'", "__del__": "'del'"}
BAD_SLOTS = ["__nope__", "nb_nope", "tp_dealloc", "sq_item"]

# Mostly valid choices, so that valid definitions are common; the invalid ones are mixed in.
VALID_NAMES = ["a", "b", "f", "g", "h", "Box", "Other", "value", "get", "class", "_private",
               "x1", "count", "Point", "incr", "reset"]
names = st.sampled_from(VALID_NAMES * 4 + ["", "1a", "a-b", "a b", "a.b"])
module_names = st.sampled_from(["fz", "fz.mod", "fz.sub.mod", "_fz"] * 5
                               + ["", "fz..mod", "1fz", "fz-mod", "fz.1"])
states = st.sampled_from(["ok", "default"] * 8 + ["not_a_class", "not_module_state",
                                                  "needs_args"])
functions = st.lists(st.tuples(names, st.sampled_from([1, 2, 3] * 5 + [0])), max_size=3,
                     unique_by=lambda f: f[0] if f[0] != "a" else object())


@st.composite
def slot_member(draw):
    name = draw(st.sampled_from(sorted(SLOTS) * 5 + BAD_SLOTS))
    arity = SLOTS[name][1] if name in SLOTS else 2
    if arity is None:                        # variadic: any count >= 2 (and 1: wrong)
        arity = draw(st.sampled_from([2, 3, 4] * 3 + [1]))
    elif draw(st.sampled_from([False] * 8 + [True])):
        arity = draw(st.sampled_from([1, 2, 3, 4]))           # likely wrong
    return ("slot", name, arity)


members = st.lists(st.one_of(
    st.tuples(st.just("method"), st.sampled_from([2, 3, 4] * 5 + [1])),
    st.tuples(st.just("getter"), st.sampled_from([2] * 8 + [3])),
    slot_member(),
), max_size=4)
types = st.lists(st.tuples(names, members), max_size=2)


def expected_error(spec):
    """The kind of error this definition has, or None if it is valid (an oracle written
    from the rules, not from hpystate's code)."""
    modname, state, funcs, tps = spec
    if not modname or not all(p.isidentifier() for p in modname.split(".")):
        return ValueError
    if state in ("not_a_class", "not_module_state", "needs_args"):
        return TypeError
    seen = set()
    for name, nparams in funcs:
        if not name.isidentifier():
            return ValueError
        if nparams < 1:
            return TypeError
        if name in seen:
            return ValueError
        seen.add(name)
    for name, body in tps:
        if not name.isidentifier():
            return ValueError
        dunders = set()
        for m in body:
            if m[0] == "method" and m[1] < 2:
                return TypeError
            if m[0] == "getter" and m[1] != 2:
                return TypeError
            if m[0] == "slot":
                if m[1] not in SLOTS:
                    return ValueError
                dunder, arity = SLOTS[m[1]][:2]
                if (arity is None and m[2] < 2) or (arity is not None and m[2] != arity):
                    return TypeError
                if dunder in dunders:
                    return ValueError
                dunders.add(dunder)
        if name in seen:
            return ValueError
        seen.add(name)
    return None


def source(spec):
    """The Python source of the definition: class bodies as written by a user."""
    modname, state, funcs, tps = spec
    lines = ["import hpystate", "",
             "class OkState(hpystate.ModuleState):", "    def __init__(self):",
             "        self.n = 0", "",
             "class NeedsArgs(hpystate.ModuleState):", "    def __init__(self, x):",
             "        pass", ""]
    state_expr = {"default": "None", "ok": "OkState", "not_a_class": "42",
                  "not_module_state": "object", "needs_args": "NeedsArgs"}[state]
    lines.append(f"mod = hpystate.ModuleDef({modname!r}, state={state_expr})")
    for i, (name, nparams) in enumerate(funcs):
        params = ", ".join(f"p{k}" for k in range(nparams)).replace("p0", "state", 1)
        lines += [f"def fn{i}({params}):", "    return state",
                  f"mod.function(fn{i}, name={name!r})"]
    for t, (name, body) in enumerate(tps):
        cls = name if name.isidentifier() and not keyword.iskeyword(name) else f"T{t}"
        lines += [f"@mod.type(name={name!r})", f"class {cls}:", "    __slots__ = ()"]
        for j, m in enumerate(body):
            if m[0] in ("method", "getter"):
                params = ", ".join(["state", "self", "a", "b"][:m[1]]) if m[1] <= 4 else ""
                deco = "hpystate.method" if m[0] == "method" else "hpystate.getter"
                lines += [f"    @{deco}", f"    def m{j}({params}):", "        return state"]
            else:
                nparams = m[2]
                dunder = SLOTS.get(m[1], (m[1],))[0]
                params = ["state", "self", "a", "b"][:nparams]
                if SLOTS.get(m[1], (None, 0))[1] is None and nparams >= 2:
                    params = ["state", "self", "*args"]
                ret = RETURNS.get(dunder, "None")
                lines += [f"    @hpystate.slot({m[1]!r})", f"    def s{j}({', '.join(params)}):",
                          f"        return {ret}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(module_names, states, functions, types))
def test_random_definitions(spec):
    expected = expected_error(spec)
    event("invalid" if expected else "valid")
    ns = {}
    code = compile(source(spec), "<fuzz>", "exec")
    if expected is not None:
        # Several faults may apply; hpystate reports the first it meets, as one of these.
        with pytest.raises((TypeError, ValueError)):
            exec(code, ns)
        return
    exec(code, ns)
    mod = ns["mod"]
    m1, m2 = mod.create(), mod.create()
    for m in (m1, m2):
        s = hpystate.state_of(m)
        for i, (name, nparams) in enumerate(spec[2]):
            f = getattr(m, name)
            assert f(*range(nparams - 1)) is s
            with pytest.raises(TypeError):
                f(*range(nparams + 5))                  # too many arguments
        for name, body in spec[3]:
            T = getattr(m, name)
            obj = T()
            for j, member in enumerate(body):
                if member[0] == "method":
                    assert getattr(obj, f"m{j}")(*range(member[1] - 2)) is s
                    with pytest.raises(TypeError):
                        getattr(obj, f"m{j}")(*range(member[1] + 3))
                elif member[0] == "getter":
                    assert getattr(obj, f"m{j}") is s
                else:
                    dunder, _, exercise, result = SLOTS[member[1]]
                    assert exercise(obj) == result
