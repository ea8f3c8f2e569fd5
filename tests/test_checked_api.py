"""The checked cimport API (hpystate/checked.pxi): Cython refuses a wrong implementation at
compile time, and the signatures docs/cimport.md documents are exactly what it accepts.

Each case is compiled by Cython only (no C compiler), against the installed hpystate."""
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import hpystate

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "cimport.md"

PRELUDE = """\
# cython: language_level=3
import hpystate
from cpython.object cimport PyObject
from hpystate.state cimport ModuleState

cdef class St(ModuleState):
    cdef public long count

cdef class Other(ModuleState):
    cdef public double weight

ctypedef St State
include "hpystate/checked.pxi"

defn = hpystate.ModuleDef("checked_case", state=St)

@defn.type
class Box:
    __slots__ = ()

cdef object meth_o(St st, object self, object arg):
    return arg

cdef object unary(St st, object self):
    return self

cdef int returns_int(St st, object a, object b) except -1:
    return 0

cdef object for_other(Other st, object a, object b):
    return a

cdef int inquiry_implicit(St st, object self):
    return 0

cdef int inquiry_noexcept(St st, object self) noexcept:
    return 0

cdef object binary(St st, object a, object b):
    return a
"""


def cython_compile(tmp_path, name, source):
    path = tmp_path / f"{name}.pyx"
    path.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "cython", "-I", hpystate.cython_include(), path.name],
        cwd=tmp_path, capture_output=True, text=True)


# The mistakes of issue 14's table, and their neighbours: each line is a compile error.
MISTAKES = {
    "a METH_O implementation registered as METH_NOARGS": (
        'add_method_noargs(Box, "m", meth_o)',
        "Cannot assign type 'object (St, object, object)' to 'meth_noargs_impl'"),
    "an int-returning function as nb_add": (
        "set_nb_add(Box, returns_int)",
        "Cannot assign type 'int (St, object, object) except -1' to 'binary_impl'"),
    "a unary function as nb_subtract": (
        "set_nb_subtract(Box, unary)",
        "Cannot assign type 'object (St, object)' to 'binary_impl'"),
    "an implementation typed for another state class": (
        "set_nb_add(Box, for_other)",
        "Cannot assign type 'object (Other, object, object)' to 'binary_impl'"),
    "an int slot without except -1": (
        "set_nb_bool(Box, inquiry_implicit)",
        "Exception values are incompatible"),
    "an int slot declared noexcept": (
        "set_nb_bool(Box, inquiry_noexcept)",
        "Exception values are incompatible"),
    "an unknown slot": (
        "set_nb_plus(Box, binary)",
        "undeclared name not builtin: set_nb_plus"),
    "a getter with a setter's signature": (
        'add_getset(Box, "x", returns_int)',
        "to 'getter_impl'"),
}


def test_the_correct_prelude_compiles(tmp_path):
    proc = cython_compile(tmp_path, "ok", PRELUDE + "set_nb_add(Box, binary)\n"
                                                    'add_method_o(Box, "m", meth_o)\n')
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_wrong_implementation_is_a_compile_error(tmp_path, mistake):
    line, message = MISTAKES[mistake]
    proc = cython_compile(tmp_path, "bad", PRELUDE + line + "\n")
    assert proc.returncode != 0, f"{mistake}: compiled"
    assert message in proc.stderr, (mistake, proc.stderr[-2000:])


def documented_signatures():
    """(registration call template, documented signature) for every row of the signature
    table of docs/cimport.md."""
    text = DOC.read_text()
    table = text[text.index("| convention / slot | implementation |"):]
    table = table[:table.index("\n\n")]
    rows = []
    conventions = {"`METH_NOARGS`": "noargs", "`METH_O`": "o", "`METH_FASTCALL`": "fastcall",
                   "`METH_FASTCALL \\| METH_KEYWORDS`": "fastcall_kw"}
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            continue
        names, impl = line[2:].split(" | ", 1)
        sig = re.match(r"`([^`]*)`", impl).group(1)
        if names in conventions:
            conv = conventions[names]
            rows.append((f'add_function_{conv}(defn, "{{f}}", {{f}})', sig.replace("[, object self]", "")))
            rows.append((f'add_method_{conv}(Box, "{{f}}", {{f}})', sig.replace("[, object self]", ", object self")))
        elif names.startswith("getter"):
            get, set_ = re.findall(r"`([^`]*)`", impl)[:2]
            rows.append(('add_getset(Box, "{f}", {f}, {f}_set)', get, set_))
        else:
            for name in re.findall(r"`(\w+)`", names):
                rows.append((f"set_{name}(Box, {{f}})", sig))
    return rows


def test_every_documented_signature_is_what_the_checked_api_accepts(tmp_path):
    """Declare each implementation exactly as docs/cimport.md documents it (``St st``
    first) and register it: the documentation and checked.pxi cannot drift apart."""
    rows = documented_signatures()
    assert len(rows) > 40
    body = []
    for i, (call, sig, *setter) in enumerate(rows):
        f = f"impl{i}"
        decl = sig.replace(" f(", f" {f}(", 1).replace("*f(", f"*{f}(", 1)
        ret = "return 0" if decl.split()[0] in ("int", "Py_hash_t", "Py_ssize_t") else \
            "return NULL" if decl.startswith("PyObject") else \
            "return" if decl.startswith("void") else "return None"
        body.append(f"cdef {decl}:\n    {ret}\n")
        if setter:
            set_decl = setter[0].replace(" set(", f" {f}_set(", 1)
            body.append(f"cdef {set_decl}:\n    return 0\n")
        body.append(call.format(f=f) + "\n")
    proc = cython_compile(tmp_path, "documented", PRELUDE + "\n".join(body))
    assert proc.returncode == 0, proc.stderr[-3000:]
    slots = {line.split("(")[0][len("set_"):] for line, *_ in rows if line.startswith("set_")}
    generated = re.findall(r"^cdef inline int set_(\w+)\(", (
        pathlib.Path(hpystate.cython_include()) / "hpystate" / "checked.pxi").read_text(), re.M)
    assert slots == set(generated)


def test_the_unchecked_escape_hatch_still_compiles_with_casts(tmp_path):
    source = PRELUDE + textwrap.dedent("""
        from hpystate.state cimport add_slot_unchecked, add_method_unchecked, METH_O
        add_slot_unchecked(Box, "nb_add", <void *>binary)
        add_method_unchecked(Box, "m", <void *>meth_o, METH_O)
    """)
    proc = cython_compile(tmp_path, "unchecked", source)
    assert proc.returncode == 0, proc.stderr


def test_type_of_is_c_level(tmp_path):
    """The handle path makes no Python call: the C that Cython generates for type_of (and
    for a cdef function using it with a typed handle) calls nothing but the slow path."""
    source = PRELUDE + textwrap.dedent("""
        from hpystate.state cimport TypeDef, type_of
        cdef object own_box(St st, TypeDef box):
            return type_of(box, st)
        own_box(None, None)
    """)
    proc = cython_compile(tmp_path, "handles", source)
    assert proc.returncode == 0, proc.stderr
    c = (tmp_path / "handles.c").read_text()

    def body(name):
        start = re.search(rf"^static[^;\n]*\b{name}\(.*\{{$", c, re.M)
        assert start, name
        return c[start.end():c.index("\n}\n", start.end())]

    for name in ("__pyx_f_8hpystate_5_core__handle_of", "__pyx_f_8hpystate_5state_type_of",
                 "__pyx_f_7handles_own_box"):
        calls = set(re.findall(r"\b((?:__Pyx_|Py)\w+)\(", body(name)))
        # what may appear: refcounting, tracebacks, Cython's own bookkeeping, the two list
        # macros; nothing that calls into Python or looks a name up
        python = {f for f in calls if re.search(r"Call|GetAttr|Global|Import|Lookup|Dict", f)}
        assert not python, (name, python)
        assert calls <= ALLOWED, (name, calls - ALLOWED)


ALLOWED = {"Py_INCREF", "Py_DECREF", "Py_XDECREF", "Py_XINCREF", "__Pyx_INCREF", "__Pyx_DECREF",
           "__Pyx_XDECREF", "__Pyx_XINCREF", "__Pyx_GOTREF", "__Pyx_GIVEREF", "__Pyx_XGIVEREF",
           "__Pyx_XGOTREF", "__Pyx_RefNannySetupContext", "__Pyx_RefNannyFinishContext",
           "__Pyx_AddTraceback", "PyList_GET_SIZE", "PyList_GET_ITEM", "__PYX_ERR",
           "__Pyx_RefNannyDeclarations", "__Pyx_TraceCall", "__Pyx_TraceReturn",
           "__Pyx_RefNannyFinishContextNogil"}
