/* Reference extension for benchmarks/big.py, hand-written C: a "big" module definition
 * (10 types x 10 methods, 50 module functions) with per-module state, the way CPython
 * recommends (PEP 489 multi-phase init, PEP 573 defining_class, PEP 630 heap types).
 *
 * - module state: a struct with one object, ``value`` (a fresh object() per instance),
 *   traversed and cleared;
 * - f0..f49: module functions in m_methods reading PyModule_GetState(self)->value; the
 *   calling conventions cycle METH_NOARGS, METH_O, METH_FASTCALL,
 *   METH_FASTCALL | METH_KEYWORDS (f(k) uses convention k % 4);
 * - T0..T9 (N_TYPES of them): heap types made in the exec slot with
 *   PyType_FromModuleAndSpec, each with
 *   methods m0..m9 (METH_METHOD | METH_FASTCALL | METH_KEYWORDS, state through
 *   defining_class + PyType_GetModuleState). Method mj of Ti accepts the arguments of
 *   convention j % 4 for j < 8; m8/m9 those of conventions 0/1 on even types and 2/3 on
 *   odd types (the same shape as hpystate's benchmarks/ext/hps_big_c.pyx, which spreads
 *   its methods evenly over the trampoline kinds this way).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject *value;
} bigstate;

#define FUNC_STATE(module) ((bigstate *)PyModule_GetState(module))
#define METH_STATE(cls) ((bigstate *)PyType_GetModuleState(cls))

/* -- module functions --------------------------------------------------------------------- */

static PyObject *
f_noargs(PyObject *module, PyObject *Py_UNUSED(unused))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

static PyObject *
f_o(PyObject *module, PyObject *Py_UNUSED(arg))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

static PyObject *
f_fast(PyObject *module, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

static PyObject *
f_fastkw(PyObject *module, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs),
         PyObject *Py_UNUSED(kwnames))
{
    return Py_NewRef(FUNC_STATE(module)->value);
}

#define F_NOARGS(n) {"f" #n, f_noargs, METH_NOARGS, NULL}
#define F_O(n) {"f" #n, f_o, METH_O, NULL}
#define F_FAST(n) {"f" #n, (PyCFunction)(void (*)(void))f_fast, METH_FASTCALL, NULL}
#define F_FASTKW(n) \
    {"f" #n, (PyCFunction)(void (*)(void))f_fastkw, METH_FASTCALL | METH_KEYWORDS, NULL}
#define F_FOUR(a, b, c, d) F_NOARGS(a), F_O(b), F_FAST(c), F_FASTKW(d)

static PyMethodDef big_functions[] = {
    F_FOUR(0, 1, 2, 3),     F_FOUR(4, 5, 6, 7),     F_FOUR(8, 9, 10, 11),
    F_FOUR(12, 13, 14, 15), F_FOUR(16, 17, 18, 19), F_FOUR(20, 21, 22, 23),
    F_FOUR(24, 25, 26, 27), F_FOUR(28, 29, 30, 31), F_FOUR(32, 33, 34, 35),
    F_FOUR(36, 37, 38, 39), F_FOUR(40, 41, 42, 43), F_FOUR(44, 45, 46, 47),
    F_NOARGS(48),           F_O(49),
    {NULL, NULL, 0, NULL},
};

/* -- methods: METH_METHOD | METH_FASTCALL | METH_KEYWORDS (PEP 573) ---------------------- */

static int
no_keywords(PyObject *kwnames)
{
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_SetString(PyExc_TypeError, "this method takes no keyword arguments");
        return -1;
    }
    return 0;
}

static PyObject *
m_noargs(PyObject *Py_UNUSED(self), PyTypeObject *cls, PyObject *const *Py_UNUSED(args),
         Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_keywords(kwnames) < 0) {
        return NULL;
    }
    if (nargs != 0) {
        PyErr_SetString(PyExc_TypeError, "this method takes no arguments");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_o(PyObject *Py_UNUSED(self), PyTypeObject *cls, PyObject *const *Py_UNUSED(args),
    Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_keywords(kwnames) < 0) {
        return NULL;
    }
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "this method takes exactly one argument");
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_fast(PyObject *Py_UNUSED(self), PyTypeObject *cls, PyObject *const *Py_UNUSED(args),
       Py_ssize_t Py_UNUSED(nargs), PyObject *kwnames)
{
    if (no_keywords(kwnames) < 0) {
        return NULL;
    }
    return Py_NewRef(METH_STATE(cls)->value);
}

static PyObject *
m_fastkw(PyObject *Py_UNUSED(self), PyTypeObject *cls, PyObject *const *Py_UNUSED(args),
         Py_ssize_t Py_UNUSED(nargs), PyObject *Py_UNUSED(kwnames))
{
    return Py_NewRef(METH_STATE(cls)->value);
}

/* -- types T0..T9 ------------------------------------------------------------------------ */

static int
t_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
t_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

#define M(n, impl) \
    {"m" #n, (PyCFunction)(void (*)(void))impl, METH_METHOD | METH_FASTCALL | METH_KEYWORDS, \
     NULL}

/* Methods of the even and of the odd types: m8 and m9 take conventions 0/1 on even types,
 * 2/3 on odd ones. (Types may share a method table: CPython only reads it.) */
static PyMethodDef even_methods[] = {
    M(0, m_noargs), M(1, m_o), M(2, m_fast), M(3, m_fastkw),
    M(4, m_noargs), M(5, m_o), M(6, m_fast), M(7, m_fastkw),
    M(8, m_noargs), M(9, m_o),
    {NULL, NULL, 0, NULL},
};

static PyMethodDef odd_methods[] = {
    M(0, m_noargs), M(1, m_o), M(2, m_fast), M(3, m_fastkw),
    M(4, m_noargs), M(5, m_o), M(6, m_fast), M(7, m_fastkw),
    M(8, m_fast),   M(9, m_fastkw),
    {NULL, NULL, 0, NULL},
};

static PyType_Slot even_slots[] = {
    {Py_tp_methods, even_methods},
    {Py_tp_traverse, t_traverse},
    {Py_tp_dealloc, t_dealloc},
    {0, NULL},
};

static PyType_Slot odd_slots[] = {
    {Py_tp_methods, odd_methods},
    {Py_tp_traverse, t_traverse},
    {Py_tp_dealloc, t_dealloc},
    {0, NULL},
};

/* N_TYPES types T0..T<N_TYPES-1> (10 unless the build says otherwise: benchmarks/big.py
 * builds 1, 10 and 100), their specs filled once, at module initialisation: a C module
 * with that many types would keep as many static specs. */
#ifndef N_TYPES
#define N_TYPES 10
#endif
#ifndef MODNAME
#define MODNAME ref_big
#endif
#define STR_(x) #x
#define STR(x) STR_(x)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

static char type_names[N_TYPES][40];
static PyType_Spec type_specs[N_TYPES];

static void
fill_specs(void)
{
    for (int i = 0; i < N_TYPES; i++) {
        PyOS_snprintf(type_names[i], sizeof(type_names[i]), STR(MODNAME) ".T%d", i);
        type_specs[i].name = type_names[i];
        type_specs[i].basicsize = sizeof(PyObject);
        type_specs[i].flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
                              Py_TPFLAGS_IMMUTABLETYPE;
        type_specs[i].slots = i % 2 ? odd_slots : even_slots;
    }
}

/* -- the module --------------------------------------------------------------------------- */

static int
big_exec(PyObject *module)
{
    bigstate *st = FUNC_STATE(module);
    st->value = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (st->value == NULL) {
        return -1;
    }
    for (size_t i = 0; i < N_TYPES; i++) {
        PyObject *tp = PyType_FromModuleAndSpec(module, &type_specs[i], NULL);
        if (tp == NULL) {
            return -1;
        }
        /* PyModule_AddType: the attribute name is the part of the spec name after the dot */
        int r = PyModule_AddType(module, (PyTypeObject *)tp);
        Py_DECREF(tp);
        if (r < 0) {
            return -1;
        }
    }
    return 0;
}

static int
big_traverse(PyObject *module, visitproc visit, void *arg)
{
    bigstate *st = FUNC_STATE(module);
    Py_VISIT(st->value);
    return 0;
}

static int
big_clear(PyObject *module)
{
    bigstate *st = FUNC_STATE(module);
    Py_CLEAR(st->value);
    return 0;
}

static void
big_free(void *module)
{
    (void)big_clear((PyObject *)module);
}

static PyModuleDef_Slot big_slots[] = {
    {Py_mod_exec, big_exec},
    {0, NULL},
};

static struct PyModuleDef big_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = STR(MODNAME),
    .m_size = sizeof(bigstate),
    .m_methods = big_functions,
    .m_slots = big_slots,
    .m_traverse = big_traverse,
    .m_clear = big_clear,
    .m_free = big_free,
};

PyMODINIT_FUNC
CAT(PyInit_, MODNAME)(void)
{
    fill_specs();
    return PyModuleDef_Init(&big_module);
}
