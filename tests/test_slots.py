"""Every slot family hpystate supports, each checked to receive the right state and to follow
Python's operator semantics."""
import operator

import pytest

import hpystate

BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "lshift", "rshift", "and",
          "xor", "or", "matmul"]


class NumState(hpystate.ModuleState):
    def __init__(self):
        self.truth = False
        self.number = 0


NO = object()        # operand for which every binary impl returns NotImplemented


def build_number_def():
    """A type with forward, reflected and in-place impls of every binary operator (generated
    source, so each impl is a genuine class-body function), plus unary ops and conversions."""
    src = ["class Num:", "    __slots__ = ('v',)"]
    for op in BINARY + ["divmod"]:
        names = [f"__{op}__", f"__r{op}__"] + ([f"__i{op}__"] if op != "divmod" else [])
        for dunder in names:
            src.append(f"    @hpystate.slot\n    def {dunder}(state, self, other):\n"
                       f"        return NotImplemented if other is NO else (state, {dunder!r}, other)")
    src.append("""
    @hpystate.slot
    def __pow__(state, self, other, mod=None):
        return (state, '__pow__', other, mod)
    @hpystate.slot
    def __rpow__(state, self, other, mod=None):
        return (state, '__rpow__', other, mod)
    @hpystate.slot
    def __ipow__(state, self, other):
        return (state, '__ipow__', other)
    @hpystate.slot
    def __neg__(state, self): return (state, 'neg')
    @hpystate.slot
    def __pos__(state, self): return (state, 'pos')
    @hpystate.slot
    def __abs__(state, self): return (state, 'abs')
    @hpystate.slot
    def __invert__(state, self): return (state, 'invert')
    @hpystate.slot
    def __bool__(state, self): return state.truth
    @hpystate.slot
    def __int__(state, self): return state.number
    @hpystate.slot
    def __float__(state, self): return float(state.number) + 0.5
    @hpystate.slot
    def __index__(state, self): return state.number
""")
    glb = {"hpystate": hpystate, "NO": NO}
    exec("\n".join(src), glb)
    mod = hpystate.ModuleDef("slots.num", state=NumState)
    mod.type(glb["Num"])
    return mod


@pytest.fixture
def num():
    m = build_number_def().create()
    return m, hpystate.state_of(m)


@pytest.mark.parametrize("op", BINARY)
def test_binary_forward_reflected_inplace(num, op):
    m, s = num
    x = m.Num()
    fn = getattr(operator, op + "_" if op in ("and", "or") else op)
    ifn = getattr(operator, "i" + op)
    assert fn(x, 1) == (s, f"__{op}__", 1)
    assert fn(1, x) == (s, f"__r{op}__", 1)
    assert ifn(x, 1) == (s, f"__i{op}__", 1)
    with pytest.raises(TypeError):
        fn(x, NO)                       # NotImplemented both ways -> TypeError
    with pytest.raises(TypeError):
        fn(NO, x)


def test_divmod_and_pow(num):
    m, s = num
    x = m.Num()
    assert divmod(x, 3) == (s, "__divmod__", 3)
    assert divmod(3, x) == (s, "__rdivmod__", 3)
    assert x ** 2 == (s, "__pow__", 2, None)
    assert pow(x, 2, 5) == (s, "__pow__", 2, 5)
    assert 2 ** x == (s, "__rpow__", 2, None)
    y = x
    y **= 3
    assert y == (s, "__ipow__", 3)


def test_unary_and_conversions(num):
    m, s = num
    x = m.Num()
    assert -x == (s, "neg")
    assert +x == (s, "pos")
    assert abs(x) == (s, "abs")
    assert ~x == (s, "invert")
    s.truth = True
    assert bool(x) is True
    s.truth = False
    assert not x
    s.number = 7
    assert int(x) == 7
    assert float(x) == 7.5
    assert operator.index(x) == 7
    assert [10, 11, 12, 13, 14, 15, 16, 17][x] == 17


def build_container_def():
    class St(hpystate.ModuleState):
        def __init__(self):
            self.log = []

    mod = hpystate.ModuleDef("slots.box", state=St)

    @mod.type
    class Bag:
        __slots__ = ("items",)

        @hpystate.slot
        def __new__(state, cls, *items):
            self = object.__new__(cls)
            self.items = list(items)
            state.log.append("new")
            return self

        @hpystate.slot
        def __init__(state, self, *items):
            state.log.append(("init", items))

        @hpystate.slot
        def __len__(state, self):
            return len(self.items)

        @hpystate.slot
        def __getitem__(state, self, i):
            return self.items[i]

        @hpystate.slot
        def __setitem__(state, self, i, value):
            state.log.append(("set", i))
            self.items[i] = value

        @hpystate.slot
        def __delitem__(state, self, i):
            state.log.append(("del", i))
            del self.items[i]

        @hpystate.slot
        def __contains__(state, self, x):
            state.log.append(("contains", x))
            return x in self.items

        @hpystate.slot
        def __iter__(state, self):
            return BagIter.of(state)(self)

        @hpystate.slot
        def __call__(state, self, *args, **kwargs):
            return (state, args, kwargs)

        @hpystate.slot
        def __repr__(state, self):
            return f"Bag{tuple(self.items)!r}"

        @hpystate.slot
        def __str__(state, self):
            return "a bag"

        @hpystate.slot
        def __hash__(state, self):
            return 1234

        @hpystate.slot
        def __eq__(state, self, other):
            return ("eq", state) if other == "probe" else NotImplemented

        @hpystate.slot
        def __lt__(state, self, other):
            return ("lt", state)

        @hpystate.slot
        def __le__(state, self, other):
            return ("le", state)

        @hpystate.slot
        def __gt__(state, self, other):
            return ("gt", state)

        @hpystate.slot
        def __ge__(state, self, other):
            return ("ge", state)

        @hpystate.slot
        def __ne__(state, self, other):
            return ("ne", state)

    @mod.type
    class BagIter:
        __slots__ = ("bag", "i")

        @hpystate.slot
        def __init__(state, self, bag):
            self.bag = bag
            self.i = 0

        @hpystate.slot
        def __iter__(state, self):
            return self

        @hpystate.slot
        def __next__(state, self):
            if self.i >= len(self.bag.items):
                raise StopIteration
            self.i += 1
            return (state, self.bag.items[self.i - 1])

    @mod.type
    class EqOnly:
        @hpystate.slot
        def __eq__(state, self, other):
            return True

    return mod


@pytest.fixture
def bag():
    mod = build_container_def()
    m = mod.create()
    return m, hpystate.state_of(m)


def test_new_init_and_sequence_protocol(bag):
    m, s = bag
    b = m.Bag(1, 2, 3)
    assert s.log == ["new", ("init", (1, 2, 3))]
    assert len(b) == 3
    assert b[1] == 2
    b[1] = 20
    del b[0]
    assert b.items == [20, 3]
    assert 3 in b and 99 not in b
    assert ("set", 1) in s.log and ("del", 0) in s.log and ("contains", 99) in s.log
    assert list(b) == [(s, 20), (s, 3)]


def test_call_repr_str_hash(bag):
    m, s = bag
    b = m.Bag()
    assert b(1, k=2) == (s, (1,), {"k": 2})
    assert repr(b) == "Bag()"
    assert str(b) == "a bag"
    assert hash(b) == 1234


def test_rich_comparison(bag):
    m, s = bag
    b = m.Bag()
    assert (b == "probe") == ("eq", s)
    assert (b != 1) == ("ne", s)
    assert (b < 1) == ("lt", s)
    assert (b <= 1) == ("le", s)
    assert (b > 1) == ("gt", s)
    assert (b >= 1) == ("ge", s)
    assert (1 < b) == ("gt", s)         # reflected comparison
    assert (b == 5) is False            # NotImplemented -> identity fallback


def test_eq_without_hash_is_unhashable_like_a_class_statement(bag):
    m, s = bag
    assert m.EqOnly.__hash__ is None
    with pytest.raises(TypeError, match="unhashable"):
        hash(m.EqOnly())
