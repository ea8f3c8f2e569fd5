"""Behaviour 5: bad definitions fail at definition time with a TypeError/ValueError that
names the culprit."""
import textwrap

import pytest

import hpystate


@pytest.fixture
def d():
    return hpystate.ModuleDef("bad.defs")


def test_unknown_slot_names():
    with pytest.raises(ValueError, match="unknown slot 'nb_addd'.*did you mean 'nb_add'"):
        hpystate.slot("nb_addd")
    with pytest.raises(ValueError, match="unknown slot '__plus__'"):
        class T:
            @hpystate.slot
            def __plus__(state, self, other):
                pass
    with pytest.raises(ValueError, match="'mp_ass_subscript' stands for several Python "
                                         "methods; decorate each of __setitem__, __delitem__"):
        hpystate.slot("mp_ass_subscript")
    with pytest.raises(TypeError, match="slot name must be a str"):
        hpystate.slot(3)


@pytest.mark.parametrize("src, match", [
    ("@hpystate.slot\ndef __add__(state, self): pass", r"slot __add__ T.__add__\(state, self\) has the wrong parameters: it must accept \(state, self, other\)"),
    ("@hpystate.slot\ndef __neg__(state, self, other): pass", "slot __neg__"),
    ("@hpystate.slot('nb_subtract')\ndef minus(state, self): pass", "slot __sub__ T.minus"),
    ("@hpystate.slot\ndef __init__(state): pass", "slot __init__"),
    ("@hpystate.method\ndef get(state): pass", r"method T.get\(state\) has the wrong parameters: it must accept \(state, self, ...\)"),
    ("@hpystate.getter\ndef size(state): pass", r"getter T.size\(state\)"),
    ("@hpystate.getter\ndef size(state, self, extra): pass", r"getter T.size\(state, self, extra\)"),
])
def test_wrong_number_of_parameters(src, match):
    body = "class T:\n" + textwrap.indent(src, "    ")
    with pytest.raises(TypeError, match=match):
        exec(body, {"hpystate": hpystate})


def test_setter_and_function_and_hook_arity(d):
    with pytest.raises(TypeError, match="setter"):
        class T:
            @hpystate.getter
            def size(state, self):
                pass

            @size.setter
            def size(state, self):
                pass
    with pytest.raises(TypeError, match=r"module function .*<locals>.f\(\) has the wrong parameters"):
        @d.function
        def f():
            pass
    with pytest.raises(TypeError, match=r"exec hook .*hook\(state\)"):
        @d.exec
        def hook(state):
            pass


def test_state_class_checks():
    with pytest.raises(TypeError, match="state must be a class.*int"):
        hpystate.ModuleDef("x", state=3)

    class NotState:
        pass
    with pytest.raises(TypeError, match="NotState must subclass hpystate.ModuleState"):
        hpystate.ModuleDef("x", state=NotState)

    class NeedsArgs(hpystate.ModuleState):
        def __init__(self, x):
            pass
    with pytest.raises(TypeError, match="NeedsArgs must be constructible without arguments"):
        hpystate.ModuleDef("x", state=NeedsArgs)


@pytest.mark.parametrize("name", ["", "1abc", "a..b", "a-b", None])
def test_bad_module_names(name):
    with pytest.raises((TypeError, ValueError)):
        hpystate.ModuleDef(name)


def test_duplicate_names(d):
    @d.function
    def thing(state):
        pass
    with pytest.raises(ValueError, match="duplicate name 'thing'"):
        d.exception("thing")
    with pytest.raises(ValueError, match="duplicate name 'thing'"):
        @d.type
        class thing:
            pass
    with pytest.raises(ValueError, match="duplicate name 'thing'"):
        d.function(lambda state: None, name="thing")


def test_non_callable_impls(d):
    with pytest.raises(TypeError, match="must be callable, not int"):
        d.function(3)
    with pytest.raises(TypeError, match="must be callable, not str"):
        hpystate.method("nope")
    with pytest.raises(TypeError, match="must be callable"):
        d.exec(None)


def test_member_decorators_outside_a_class_body():
    glb = {"hpystate": hpystate}
    for deco in ("method", "slot", "getter", "classmethod", "staticmethod"):
        with pytest.raises(TypeError, match=f"@hpystate.{deco} used outside a class body"):
            exec(f"@hpystate.{deco}\ndef __add__(state, self, other): pass", glb)

    def inside_function():
        @hpystate.method
        def m(state, self):
            pass
    with pytest.raises(TypeError, match="used outside a class body"):
        inside_function()


def test_members_of_an_unregistered_class_fail_clearly():
    class Forgot:
        @hpystate.method
        def get(state, self):
            pass
    with pytest.raises(TypeError, match="not registered: decorate class .*Forgot"):
        Forgot().get()


def test_defining_after_first_create_is_rejected(d):
    d.create()
    with pytest.raises(TypeError, match="cannot add function 'late'.*frozen"):
        d.function(lambda state: None, name="late")
    with pytest.raises(TypeError, match="cannot add exception 'LateError'.*frozen"):
        d.exception("LateError")
    with pytest.raises(TypeError, match="cannot add type 'Late'.*frozen"):
        @d.type
        class Late:
            pass
    with pytest.raises(TypeError, match="cannot add exec hook.*frozen"):
        d.exec(lambda state, module: None)


def test_type_body_checks(d):
    with pytest.raises(TypeError, match="__add__ must be decorated with @hpystate.slot"):
        @d.type
        class A:
            def __add__(self, other):
                pass
    with pytest.raises(TypeError, match="'plain' is a plain function; decorate it"):
        @d.type
        class B:
            def plain(self):
                pass
    with pytest.raises(TypeError, match="zero-argument super"):
        @d.type
        class C:
            @hpystate.method
            def m(state, self):
                return super().m()
    with pytest.raises(ValueError, match="two implementations of slot '__sub__'"):
        @d.type
        class D:
            @hpystate.slot
            def __sub__(state, self, o):
                pass

            @hpystate.slot("nb_subtract")
            def minus(state, self, o):
                pass
    with pytest.raises(ValueError, match="duplicate member name '__add__': Python-level slot "
                                         "'__add__' and Python-level member '__add__'"):
        @d.type
        class F:                        # a method and a slot both setting __add__
            @hpystate.method
            def __add__(state, self, o):
                pass

            @hpystate.slot("nb_add")
            def plus(state, self, o):
                pass
    with pytest.raises(ValueError, match="duplicate __slots__ entry 'x'"):
        @d.type
        class E:
            __slots__ = ("x", "x")
    with pytest.raises(TypeError, match="decorates a class"):
        d.type(lambda: None)


def test_bad_bases(d):
    other = hpystate.ModuleDef("other.def")

    @other.type
    class Foreign:
        pass
    with pytest.raises(ValueError, match="belongs to another ModuleDef"):
        @d.type(base=Foreign)
        class G:
            pass
    with pytest.raises(TypeError, match="base 'bool' does not allow subclassing"):
        @d.type(base=bool)
        class H:
            pass
    with pytest.raises(TypeError, match="nonempty __slots__ not supported for a subtype of 'int'"):
        @d.type(base=int)
        class I:
            __slots__ = ("x",)
    with pytest.raises(TypeError, match="base must be a type or a TypeDef, not 3"):
        @d.type(base=3)
        class K:
            pass
    with pytest.raises(TypeError, match="single base"):
        class M1:
            pass

        class M2:
            pass

        @d.type
        class J(M1, M2):
            pass
    with pytest.raises(TypeError, match="base must be an exception class"):
        d.exception("E", base=int)
    with pytest.raises(ValueError, match="belongs to another ModuleDef"):
        d.exception("E2", base=other.exception("OtherError"))


def test_register_checks():
    with pytest.raises(ValueError, match="dotted Python identifier"):
        hpystate.register("bad name", hpystate.ModuleDef("x"))
    with pytest.raises(TypeError, match="must be a ModuleDef or"):
        hpystate.register("pkg.mod", 3)
    with pytest.raises(ValueError, match="package.module:attribute"):
        hpystate.register("pkg.mod", "no_colon")


def test_state_forgotten_in_the_first_parameter(d):
    with pytest.raises(TypeError, match=r"slot __init__ \S*T\.__init__\(self, v=0\): the first "
                                        r"parameter is the module state, then self: write "
                                        r"\(state, self, \.\.\.\)"):
        @d.type
        class T:
            @hpystate.slot
            def __init__(self, v=0):
                pass
    with pytest.raises(TypeError, match=r"method \S*U\.m\(self, x\): the first parameter is the "
                                        r"module state"):
        @d.type
        class U:
            @hpystate.method
            def m(self, x):
                pass
    with pytest.raises(TypeError, match=r"classmethod \S*V\.make\(cls\): .* write \(state, cls, "):
        @d.type
        class V:
            @hpystate.classmethod
            def make(cls):
                pass


def test_a_state_class_method_may_call_its_state_self():
    # the self/cls rule is for members written as plain methods, not for a state class's
    # own methods used as module functions or exec hooks (there self *is* the state)
    class S(hpystate.ModuleState):
        def __init__(self):
            self.n = 0

        def incr(self, k=1):
            self.n += k
            return self.n

        def setup(self, module):
            self.n = 10

    d = hpystate.ModuleDef("selfstate", state=S)
    d.function(S.incr)
    d.exec(S.setup)
    m = d.create()
    assert m.incr(2) == 12


def test_handles_say_how_to_reach_the_instance_object(d):
    @d.type
    class Box:
        __slots__ = ()

    Err = d.exception("Err")
    with pytest.raises(TypeError, match=r"Box is the definition of a type of module 'bad.defs', "
                                        r"not the type itself: call this instance's, "
                                        r"Box\.of\(state\)\(\.\.\.\)"):
        Box(1)
    with pytest.raises(TypeError, match=r"Err is the definition of an exception of module "):
        Err("x")
    with pytest.raises(TypeError, match=r"isinstance\(\) needs this instance's type: "
                                        r"isinstance\(obj, Box\.of\(state\)\)"):
        isinstance(1, Box)
    with pytest.raises(TypeError, match=r"issubclass\(\) needs this instance's exception"):
        issubclass(ValueError, Err)
    m = d.create()
    assert isinstance(m.Box(), Box.of(m))           # the instance's type works as usual
