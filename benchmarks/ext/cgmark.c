/* Callgrind client requests for the benchmark suite: measured sections within one process.
 *   zero()       CALLGRIND_ZERO_STATS: reset the cost counters
 *   dump(label)  CALLGRIND_DUMP_STATS_AT: write the counts since the last zero/dump to a
 *                numbered file whose "desc:" line names ``label``, and reset them
 * Outside valgrind both are no-ops (a few instructions). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

static PyObject *
cg_zero(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(unused))
{
    CALLGRIND_ZERO_STATS;
    Py_RETURN_NONE;
}

static PyObject *
cg_dump(PyObject *Py_UNUSED(module), PyObject *label)
{
    const char *s = PyUnicode_AsUTF8(label);
    if (s == NULL) {
        return NULL;
    }
    CALLGRIND_DUMP_STATS_AT(s);
    Py_RETURN_NONE;
}

static PyMethodDef cg_methods[] = {
    {"zero", cg_zero, METH_NOARGS, "Reset callgrind's counters."},
    {"dump", cg_dump, METH_O, "Dump callgrind's counters under a label and reset them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cgmodule = {
    PyModuleDef_HEAD_INIT, .m_name = "cgmark", .m_methods = cg_methods,
};

PyMODINIT_FUNC PyInit_cgmark(void) { return PyModuleDef_Init(&cgmodule); }
