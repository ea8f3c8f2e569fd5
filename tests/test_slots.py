"""Every slot family hpystate supports, each checked to receive the right state and to follow
Python's operator semantics."""
import operator
import sys

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


class LogState(hpystate.ModuleState):
    def __init__(self):
        self.log = []


def build_container_def():
    mod = hpystate.ModuleDef("slots.box", state=LogState)

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


@pytest.mark.parametrize("spelling", ["__richcmp__", "tp_richcompare"])
def test_richcmp_with_op(spelling):
    """One implementation with the comparison op, Cython's ``__richcmp__(self, other, op)``
    (ops 0..5 are Py_LT ... Py_GE); under either name, each instance gets its own state."""
    d = hpystate.ModuleDef("richcmp_mod", state=NumState)
    names = ["lt", "le", "eq", "ne", "gt", "ge"]

    def compare(state, self, other, op):
        if not isinstance(other, type(self)):
            return NotImplemented
        return (state, names[op], self.v, other.v)

    @d.type
    class Ord:
        __slots__ = ("v",)

        @hpystate.slot
        def __init__(state, self, v):
            self.v = v

        if spelling == "__richcmp__":
            @hpystate.slot
            def __richcmp__(state, self, other, op):
                return compare(state, self, other, op)
        else:
            @hpystate.slot("tp_richcompare")
            def richcmp(state, self, other, op):
                return compare(state, self, other, op)

    m1, m2 = d.create(), d.create()
    s1, s2 = hpystate.state_of(m1), hpystate.state_of(m2)
    a, b = m1.Ord(1), m1.Ord(2)
    assert (a < b) == (s1, "lt", 1, 2) and (a <= b) == (s1, "le", 1, 2)
    assert (a == b) == (s1, "eq", 1, 2) and (a != b) == (s1, "ne", 1, 2)
    assert (a > b) == (s1, "gt", 1, 2) and (a >= b) == (s1, "ge", 1, 2)
    assert (m2.Ord(3) < m2.Ord(4)) == (s2, "lt", 3, 4)
    assert (a == 1) is False            # NotImplemented both ways: identity
    with pytest.raises(TypeError):
        a < 1
    assert m1.Ord.__hash__ is None      # __eq__ without __hash__, as in a class statement


def test_richcmp_errors():
    d = hpystate.ModuleDef("richcmp_bad")
    with pytest.raises(TypeError, match=r"slot __richcmp__.*\(state, self, other, op\)"):
        @d.type
        class A:
            @hpystate.slot
            def __richcmp__(state, self, other):
                return True
    with pytest.raises(ValueError, match="two implementations of slot '__eq__' "
                                         r"\(slot '__richcmp__' and slot '__eq__'\)"):
        @d.type
        class B:
            @hpystate.slot
            def __richcmp__(state, self, other, op):
                return True

            @hpystate.slot
            def __eq__(state, self, other):
                return True


def test_eq_without_hash_is_unhashable_like_a_class_statement(bag):
    m, s = bag
    assert m.EqOnly.__hash__ is None
    with pytest.raises(TypeError, match="unhashable"):
        hash(m.EqOnly())


def build_protocols_def():
    """Attribute hooks, descriptors and the async protocol in the decorator API, each reading
    its instance's state."""
    mod = hpystate.ModuleDef("slots.protocols", state=LogState)

    @mod.type
    class Attrs:
        __slots__ = ("real",)

        @hpystate.slot
        def __getattribute__(state, self, name):
            if name == "virtual":
                return (state, "virtual")
            return object.__getattribute__(self, name)

        @hpystate.slot
        def __getattr__(state, self, name):
            return (state, "missing", name)

        @hpystate.slot
        def __setattr__(state, self, name, value):
            state.log.append(("set", name, value))
            object.__setattr__(self, name, value)

        @hpystate.slot
        def __delattr__(state, self, name):
            state.log.append(("del", name))
            object.__delattr__(self, name)

    @mod.type
    class Descr:
        __slots__ = ()

        @hpystate.slot
        def __get__(state, self, instance, owner=None):
            return (state, "get", instance)

        @hpystate.slot
        def __set__(state, self, instance, value):
            state.log.append(("set", value))

        @hpystate.slot
        def __delete__(state, self, instance):
            state.log.append(("delete",))

    @mod.type
    class Awaitable:
        __slots__ = ()

        @hpystate.slot
        def __await__(state, self):
            yield from ()
            return (state, "awaited")

    @mod.type
    class Countdown:
        __slots__ = ("n",)

        @hpystate.slot
        def __init__(state, self, n):
            self.n = n

        @hpystate.slot
        def __aiter__(state, self):
            return self

        @hpystate.slot
        def __anext__(state, self):
            async def step():
                if self.n == 0:
                    raise StopAsyncIteration
                self.n -= 1
                return (state, self.n)
            return step()

    return mod


@pytest.fixture
def protocols():
    d = build_protocols_def()
    m1, m2 = d.create(), d.create()
    return m1, m2, hpystate.state_of(m1), hpystate.state_of(m2)


def test_attribute_hooks(protocols):
    m1, m2, s1, s2 = protocols
    a = m1.Attrs()
    assert a.virtual == (s1, "virtual")
    assert a.nothing == (s1, "missing", "nothing")      # __getattr__ after AttributeError
    a.real = 3
    assert a.real == 3
    del a.real
    assert a.real == (s1, "missing", "real")
    assert s1.log == [("set", "real", 3), ("del", "real")] and s2.log == []
    assert m2.Attrs().virtual == (s2, "virtual")


def test_descriptor_slots(protocols):
    m1, m2, s1, s2 = protocols
    H = type("H", (), {"d": m2.Descr()})
    h = H()
    assert h.d == (s2, "get", h) and H.d == (s2, "get", None)
    h.d = 1
    del h.d
    assert s2.log == [("set", 1), ("delete",)] and s1.log == []


def test_async_slots_driven_by_asyncio(protocols):
    import asyncio
    m1, m2, s1, s2 = protocols

    async def main(m):
        return await m.Awaitable(), [x async for x in m.Countdown(3)]

    assert asyncio.run(main(m1)) == ((s1, "awaited"), [(s1, 2), (s1, 1), (s1, 0)])
    assert asyncio.run(main(m2)) == ((s2, "awaited"), [(s2, 2), (s2, 1), (s2, 0)])


def _buffer_def():
    d = hpystate.ModuleDef("slots.buffer", state=NumState)

    @d.type
    class Blob:
        __slots__ = ("data", "exports")

        @hpystate.slot
        def __init__(state, self, data):
            self.data, self.exports = bytearray(data), 0

        @hpystate.slot
        def __buffer__(state, self, flags):
            self.exports += 1
            state.number += 1
            return memoryview(self.data)

        @hpystate.slot
        def __release_buffer__(state, self, view):
            self.exports -= 1
            view.release()
    return d


def test_buffer_slots_in_python():
    """PEP 688's __buffer__/__release_buffer__ (class statements use them since 3.12; before,
    defining them is a definition-time error rather than a method nothing calls)."""
    if sys.version_info < (3, 12):
        with pytest.raises(TypeError, match=r"slot __buffer__ needs Python 3\.12 or newer"):
            _buffer_def()
        return
    m1, m2 = _buffer_def().create(), _buffer_def().create()
    b = m1.Blob(b"abc")
    with memoryview(b) as mv:
        assert bytes(mv) == b"abc" and b.exports == 1
        mv[0] = ord("x")                # writable: the bytearray's own buffer
    assert b.exports == 0 and b.data == bytearray(b"xbc")
    assert hpystate.state_of(m1).number == 1 and hpystate.state_of(m2).number == 0
