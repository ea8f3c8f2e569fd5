/* Reference extensions for benchmarks/bench_cimport.py, hand-written C.
 *
 * Compiled twice:
 *   -DREF_STATIC   -> module ref_static: state in C static globals (not isolated: the floor)
 *   (default)      -> module ref_state:  per-module state reached the way CPython recommends:
 *                     PyModule_GetState(self) in module functions, METH_METHOD
 *                     defining_class + PyType_GetModuleState in methods,
 *                     PyType_GetModuleByDef(Py_TYPE(self), &def) in slots (3.11+).
 * Every implementation returns (a new reference to) the state's ``value`` object, or its
 * ``n`` for sq_length, so each call really reads the state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject *value;
    Py_ssize_t n;
} refstate;

#ifdef REF_STATIC
#define MODNAME "ref_static"
static refstate g_state;
#define FUNC_STATE(self) (&g_state)
#define METH_STATE(cls) (&g_state)
#define SLOT_STATE(self) (&g_state)
#else
#define MODNAME "ref_state"
static struct PyModuleDef refmodule;
#define FUNC_STATE(self) ((refstate *)PyModule_GetState(self))
#define METH_STATE(cls) ((refstate *)PyType_GetModuleState(cls))
static inline refstate *
slot_state(PyObject *self)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *mod = PyType_GetModuleByDef(Py_TYPE(self), &refmodule);
    return mod ? (refstate *)PyModule_GetState(mod) : NULL;
#else
    (void)self;
    PyErr_SetString(PyExc_NotImplementedError, "PyType_GetModuleByDef needs 3.11");
    return NULL;
#endif
}
#define SLOT_STATE(self) slot_state(self)
#endif

static PyObject *
f_get(PyObject *module, PyObject *Py_UNUSED(unused))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

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
#define METHOD_FLAGS_NOARGS METH_NOARGS
#define METHOD_FLAGS_O METH_O
#else
static PyObject *
m_get(PyObject *self, PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
      PyObject *kwnames)
{
    if (nargs || (kwnames && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "get() takes no arguments");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_take(PyObject *self, PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
       PyObject *kwnames)
{
    if (nargs != 1 || (kwnames && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "take() takes one argument");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}
#define METHOD_FLAGS_NOARGS (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)
#define METHOD_FLAGS_O (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)
#endif

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

static int
box_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
box_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef box_methods[] = {
    {"get", (PyCFunction)(void (*)(void))m_get, METHOD_FLAGS_NOARGS, NULL},
    {"take", (PyCFunction)(void (*)(void))m_take, METHOD_FLAGS_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot box_slots[] = {
    {Py_tp_methods, box_methods},
    {Py_nb_add, s_add},
    {Py_tp_richcompare, s_richcompare},
    {Py_sq_length, s_length},
    {Py_tp_traverse, box_traverse},
    {Py_tp_dealloc, box_dealloc},
    {0, NULL},
};

static PyType_Spec box_spec = {
    .name = MODNAME ".Box",
    .basicsize = sizeof(PyObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = box_slots,
};

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
    st->value = Py_NewRef(Py_None);
    st->n = 7;
    PyObject *box = PyType_FromModuleAndSpec(module, &box_spec, NULL);
    if (box == NULL) {
        return -1;
    }
    return PyModule_Add(module, "Box", box) < 0 ? -1 : 0;
}

static PyMethodDef ref_functions[] = {
    {"get", f_get, METH_NOARGS, NULL},
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
    return 0;
}

static int
ref_clear(PyObject *m)
{
    Py_CLEAR(((refstate *)PyModule_GetState(m))->value);
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
