/* HPy 0.9 reference extension for the benchmarks (module hpy_bench), built with
 * --hpy-abi=cpython by benchmarks/_hpy.py.
 *
 * HPy 0.9 has no module state (HPyModuleDef.size > 0 is rejected, GH-328); its stand-in
 * is HPyGlobal, a process-wide handle. So the "state" here is the HPyGlobal ``g_value``
 * (initially None) plus the C static ``g_n`` (7), both shared by every module instance. Every
 * implementation reads it on every call: ``value`` via HPyGlobal_Load (a new reference),
 * or ``n`` for len()/hash().
 *
 * Everything is an HPy definition (HPyDef_METH/SLOT/GET, dispatched through HPy's
 * generated CPython trampolines), except next(): HPy 0.9 has no HPy_tp_iternext slot, so
 * Box is declared with the legacy builtin shape and gets Py_tp_iternext as a legacy slot
 * whose function is HPy's own generated trampoline around an HPy-style implementation
 * (same dispatch as the HPy slots). That needs the cpython (or hybrid) ABI.
 */
#include "hpy.h"

static HPyGlobal g_value;
static HPy_ssize_t g_n;         /* set in exec, so the compiler cannot fold it to 7 */
static int g_initialized;

/* module functions */

HPyDef_METH(f_get, "get", HPyFunc_NOARGS)
static HPy
f_get_impl(HPyContext *ctx, HPy module)
{
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_METH(f_set, "set", HPyFunc_O)
static HPy
f_set_impl(HPyContext *ctx, HPy module, HPy v)
{
    HPyGlobal_Store(ctx, &g_value, v);
    return HPy_Dup(ctx, ctx->h_None);
}

/* Box */

HPyDef_METH(box_get, "get", HPyFunc_NOARGS)
static HPy
box_get_impl(HPyContext *ctx, HPy self)
{
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_METH(box_take, "take", HPyFunc_O)
static HPy
box_take_impl(HPyContext *ctx, HPy self, HPy x)
{
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_METH(box_take2, "take2", HPyFunc_VARARGS)
static HPy
box_take2_impl(HPyContext *ctx, HPy self, const HPy *args, size_t nargs)
{
    if (nargs != 2) {
        HPyErr_SetString(ctx, ctx->h_TypeError, "take2() takes exactly two arguments");
        return HPy_NULL;
    }
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_SLOT(box_add, HPy_nb_add)     /* one function for box + x and x + box */
static HPy
box_add_impl(HPyContext *ctx, HPy a, HPy b)
{
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_SLOT(box_richcompare, HPy_tp_richcompare)
static HPy
box_richcompare_impl(HPyContext *ctx, HPy self, HPy other, HPy_RichCmpOp op)
{
    return HPyGlobal_Load(ctx, g_value);
}

HPyDef_SLOT(box_length, HPy_sq_length)
static HPy_ssize_t
box_length_impl(HPyContext *ctx, HPy self)
{
    return g_n;
}

HPyDef_SLOT(box_hash, HPy_tp_hash)
static HPy_hash_t
box_hash_impl(HPyContext *ctx, HPy self)
{
    return g_n;
}

HPyDef_GET(box_value, "value")
static HPy
box_value_get(HPyContext *ctx, HPy self, void *closure)
{
    return HPyGlobal_Load(ctx, g_value);
}

/* next(): no HPy slot in 0.9; HPy-style impl + HPy's trampoline, installed as legacy slot */
HPyFunc_DECLARE(box_iternext_impl, HPyFunc_ITERNEXTFUNC);
HPyFunc_TRAMPOLINE(box_iternext_trampoline, box_iternext_impl, HPyFunc_ITERNEXTFUNC)
static HPy
box_iternext_impl(HPyContext *ctx, HPy self)
{
    return HPyGlobal_Load(ctx, g_value);
}

static PyType_Slot box_legacy_slots[] = {
    {Py_tp_iternext, (void *)box_iternext_trampoline},
    {0, NULL},
};

static HPyDef *box_defines[] = {
    &box_get, &box_take, &box_take2, &box_add, &box_richcompare, &box_length,
    &box_hash, &box_value, NULL,
};

static HPyType_Spec box_spec = {
    .name = "hpy_bench.Box",
    .flags = HPy_TPFLAGS_DEFAULT | HPy_TPFLAGS_BASETYPE,
    .builtin_shape = HPyType_BuiltinShape_Legacy,
    .legacy_slots = box_legacy_slots,
    .defines = box_defines,
};

/* Map */

HPyDef_SLOT(map_length, HPy_mp_length)
static HPy_ssize_t
map_length_impl(HPyContext *ctx, HPy self)
{
    return g_n;
}

static HPyDef *map_defines[] = {&map_length, NULL};

static HPyType_Spec map_spec = {
    .name = "hpy_bench.Map",
    .flags = HPy_TPFLAGS_DEFAULT | HPy_TPFLAGS_BASETYPE,
    .defines = map_defines,
};

/* module */

HPyDef_SLOT(mod_exec, HPy_mod_exec)
static int
mod_exec_impl(HPyContext *ctx, HPy module)
{
    if (!g_initialized) {       /* the state is process-wide: initialise it once */
        HPyGlobal_Store(ctx, &g_value, ctx->h_None);
        g_n = 7;
        g_initialized = 1;
    }
    if (!HPyHelpers_AddType(ctx, module, "Box", &box_spec, NULL) ||
        !HPyHelpers_AddType(ctx, module, "Map", &map_spec, NULL)) {
        return -1;
    }
    return 0;
}

static HPyDef *module_defines[] = {&f_get, &f_set, &mod_exec, NULL};
static HPyGlobal *module_globals[] = {&g_value, NULL};

static HPyModuleDef moduledef = {
    .defines = module_defines,
    .globals = module_globals,
};

HPy_MODINIT(hpy_bench, moduledef)
