/* Reference extensions for the benchmark suite (benchmarks/suite.py), hand-written C.
 *
 * Compiled twice:
 *   -DREF_STATIC   -> module ref_static: state in C static globals (not isolated: the floor)
 *   (default)      -> module ref_state:  per-module state reached the way CPython recommends:
 *                     PyModule_GetState(self) in module functions, METH_METHOD
 *                     defining_class + PyType_GetModuleState in methods,
 *                     PyType_GetModuleByDef(Py_TYPE(self), &def) in slots and getters
 *                     (on 3.10 its private predecessor _PyType_GetModuleByDef).
 *
 * The interface every approach in the suite implements:
 *   get() -> value                 set(v) -> None (sets value)
 *   own_type() -> this instance's Box type (kept in the state)
 *   type_of() -> the same, as hpystate's type_of(Box, st) reaches it (for C: the same field)
 *   Box(): get() take(x) take2(x, y) -> value;  box + 1, 1 + box, box == 1, next(box),
 *          box.value -> value;  len(box), hash(box) -> n
 *   Map(): len(map) -> n, through mp_length only
 * Every implementation reads the state on every call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject *value;
    Py_ssize_t n;
    PyObject *box_type;     /* this instance's Box: own_type() returns it */
} refstate;

#ifdef REF_STATIC
#define MODNAME "ref_static"
static refstate g_state;
#define FUNC_STATE(module) (&g_state)
#define METH_STATE(cls) (&g_state)
#define SLOT_STATE(self) (&g_state)
#else
#define MODNAME "ref_state"
static struct PyModuleDef refmodule;
#define FUNC_STATE(module) ((refstate *)PyModule_GetState(module))
#define METH_STATE(cls) ((refstate *)PyType_GetModuleState(cls))
static inline refstate *
slot_state(PyObject *self)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *mod = PyType_GetModuleByDef(Py_TYPE(self), &refmodule);
#else   /* 3.10: the same function, still private (what the stdlib used in 3.10) */
    PyObject *mod = _PyType_GetModuleByDef(Py_TYPE(self), &refmodule);
#endif
    return mod ? (refstate *)PyModule_GetState(mod) : NULL;
}
#define SLOT_STATE(self) slot_state(self)
#endif

/* module functions */

static PyObject *
f_get(PyObject *module, PyObject *Py_UNUSED(unused))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

static PyObject *
f_own_type(PyObject *module, PyObject *Py_UNUSED(unused))
{
    return Py_NewRef(FUNC_STATE(module)->box_type);
}

static PyObject *
f_set(PyObject *module, PyObject *v)
{
    Py_SETREF(FUNC_STATE(module)->value, Py_NewRef(v));
    Py_RETURN_NONE;
}

/* methods */

#ifdef REF_STATIC
static PyObject *
m_get(PyObject *self, PyObject *Py_UNUSED(unused))
{
    return Py_NewRef(g_state.value);
}

static PyObject *
m_take(PyObject *self, PyObject *arg)
{
    return Py_NewRef(g_state.value);
}

static PyObject *
m_take2(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "take2() takes exactly two arguments");
        return NULL;
    }
    return Py_NewRef(g_state.value);
}
#define FLAGS_NOARGS METH_NOARGS
#define FLAGS_O METH_O
#define FLAGS_FASTCALL METH_FASTCALL
#else
static int
no_kwargs(const char *name, PyObject *kwnames)
{
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", name);
        return -1;
    }
    return 0;
}

static PyObject *
m_get(PyObject *self, PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
      PyObject *kwnames)
{
    if (nargs || no_kwargs("get", kwnames)) {
        if (nargs) PyErr_SetString(PyExc_TypeError, "get() takes no arguments");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_take(PyObject *self, PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
       PyObject *kwnames)
{
    if (nargs != 1 || no_kwargs("take", kwnames)) {
        if (nargs != 1) PyErr_SetString(PyExc_TypeError, "take() takes one argument");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_take2(PyObject *self, PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames)
{
    if (nargs != 2 || no_kwargs("take2", kwnames)) {
        if (nargs != 2) PyErr_SetString(PyExc_TypeError, "take2() takes two arguments");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}
#define FLAGS_NOARGS (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)
#define FLAGS_O (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)
#define FLAGS_FASTCALL (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)
#endif

/* slots and getters: no defining class is passed to them */

static PyObject *
s_add(PyObject *a, PyObject *b)
{
    refstate *st = SLOT_STATE(PyLong_CheckExact(a) ? b : a);
    return st ? Py_NewRef(st->value) : NULL;
}

static PyObject *
s_richcompare(PyObject *a, PyObject *b, int op)
{
    refstate *st = SLOT_STATE(a);
    return st ? Py_NewRef(st->value) : NULL;
}

static Py_ssize_t
s_length(PyObject *a)
{
    refstate *st = SLOT_STATE(a);
    return st ? st->n : -1;
}

static Py_hash_t
s_hash(PyObject *a)
{
    refstate *st = SLOT_STATE(a);
    return st ? (Py_hash_t)st->n : -1;
}

static PyObject *
s_iternext(PyObject *a)
{
    refstate *st = SLOT_STATE(a);
    return st ? Py_NewRef(st->value) : NULL;
}

static PyObject *
g_value(PyObject *self, void *Py_UNUSED(closure))
{
    refstate *st = SLOT_STATE(self);
    return st ? Py_NewRef(st->value) : NULL;
}

/* types */

static int
obj_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
obj_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef box_methods[] = {
    {"get", (PyCFunction)(void (*)(void))m_get, FLAGS_NOARGS, NULL},
    {"take", (PyCFunction)(void (*)(void))m_take, FLAGS_O, NULL},
    {"take2", (PyCFunction)(void (*)(void))m_take2, FLAGS_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef box_getset[] = {
    {"value", g_value, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot box_slots[] = {
    {Py_tp_methods, box_methods},
    {Py_tp_getset, box_getset},
    {Py_nb_add, s_add},
    {Py_tp_richcompare, s_richcompare},
    {Py_sq_length, s_length},
    {Py_tp_hash, s_hash},
    {Py_tp_iternext, s_iternext},
    {Py_tp_traverse, obj_traverse},
    {Py_tp_dealloc, obj_dealloc},
    {0, NULL},
};

static PyType_Slot map_slots[] = {
    {Py_mp_length, s_length},
    {Py_tp_traverse, obj_traverse},
    {Py_tp_dealloc, obj_dealloc},
    {0, NULL},
};

#define TYPE_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | \
                    Py_TPFLAGS_IMMUTABLETYPE)

static PyType_Spec box_spec = {
    .name = MODNAME ".Box", .basicsize = sizeof(PyObject), .flags = TYPE_FLAGS,
    .slots = box_slots,
};

static PyType_Spec map_spec = {
    .name = MODNAME ".Map", .basicsize = sizeof(PyObject), .flags = TYPE_FLAGS,
    .slots = map_slots,
};

/* module */

#if PY_VERSION_HEX < 0x030D0000
static int
PyModule_Add(PyObject *mod, const char *name, PyObject *value)
{
    int r = PyModule_AddObjectRef(mod, name, value);
    Py_XDECREF(value);
    return r;
}
#endif

static int
ref_exec(PyObject *module)
{
    refstate *st = FUNC_STATE(module);
    Py_XSETREF(st->value, Py_NewRef(Py_None));
    st->n = 7;
    PyObject *box = PyType_FromModuleAndSpec(module, &box_spec, NULL);
    if (box == NULL) {
        return -1;
    }
    Py_XSETREF(st->box_type, Py_NewRef(box));
    if (PyModule_Add(module, "Box", box) < 0) {
        return -1;
    }
    return PyModule_Add(module, "Map", PyType_FromModuleAndSpec(module, &map_spec, NULL));
}

static PyMethodDef ref_functions[] = {
    {"get", f_get, METH_NOARGS, NULL},
    {"set", f_set, METH_O, NULL},
    {"own_type", f_own_type, METH_NOARGS, NULL},
    {"type_of", f_own_type, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot ref_slots[] = {
    {Py_mod_exec, ref_exec},
    {0, NULL},
};

#ifndef REF_STATIC
static int
ref_traverse(PyObject *m, visitproc visit, void *arg)
{
    Py_VISIT(((refstate *)PyModule_GetState(m))->value);
    Py_VISIT(((refstate *)PyModule_GetState(m))->box_type);
    return 0;
}

static int
ref_clear(PyObject *m)
{
    Py_CLEAR(((refstate *)PyModule_GetState(m))->value);
    Py_CLEAR(((refstate *)PyModule_GetState(m))->box_type);
    return 0;
}
#endif

static struct PyModuleDef refmodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = MODNAME,
    .m_methods = ref_functions,
    .m_slots = ref_slots,
#ifndef REF_STATIC
    .m_size = sizeof(refstate),
    .m_traverse = ref_traverse,
    .m_clear = ref_clear,
#endif
};

#ifdef REF_STATIC
PyMODINIT_FUNC PyInit_ref_static(void) { return PyModuleDef_Init(&refmodule); }
#else
PyMODINIT_FUNC PyInit_ref_state(void) { return PyModuleDef_Init(&refmodule); }
#endif
