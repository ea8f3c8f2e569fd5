/* hpystate's trampoline entries: who gets which, and what serves those past the static
 * tables. Private: declared in _slot_table.pxd (generated), used by _cbindings.pxi.
 *
 * Entry i of a kind, for i < HPS_PER_KIND, is served by the static trampoline
 * hps_t_<kind>_<i> (_trampolines.h). Past them (a definition holding half a table, or the
 * table full), entries come in chunks made at run time: each entry of a chunk gets a stub
 * of four instructions in an executable page, which passes the entry's address as
 * argument 6 and jumps to the kind's one function hps_d_<kind>. A binding costs within a
 * few instructions the same wherever it lands (0-6 more measured, docs/benchmarks.md). A chunk's page is written once, before it is made executable (never writable and
 * executable at once), and is never freed: entries are reused, as static ones are, so the
 * memory is bounded by the most entries ever live. Stubs exist for x86-64 System V (Linux);
 * elsewhere, or if the system refuses executable memory, entries past the static tables do
 * not exist and hpystate installs the fallback descriptors (docs/design.md, Limits). */
#ifndef HPYSTATE_ENTRIES_H
#define HPYSTATE_ENTRIES_H

#include <Python.h>
#include <limits.h>
#include <string.h>
#include "_capi.h"           /* hps_lock */
#include "_trampolines.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#define HPS_HAVE_STUBS 1
#else
#define HPS_HAVE_STUBS 0
#endif

#define HPS_CHUNK 256               /* entries per chunk */
#define HPS_MAX_CHUNKS 4096         /* per kind: 1,048,576 entries past the static ones */
#define HPS_STUB_SIZE 32

typedef struct {
    hps_entry entries[HPS_CHUNK];
    PyMethodDef *defs;              /* method and function kinds: the stubs' PyMethodDefs */
    unsigned char *code;            /* HPS_CHUNK stubs of HPS_STUB_SIZE bytes, read+execute */
} hps_chunk;

/* All guarded by hps_lock, except that an entry's chunk is read without it: a chunk
   pointer is written once, before any of its entries is handed out, and never changes. */
static hps_chunk **hps_chunks[HPS_NKINDS];      /* HPS_MAX_CHUNKS slots, made at first use */
static int hps_n_chunks[HPS_NKINDS];
static int *hps_free[HPS_NKINDS];               /* indices of the chunks' free entries */
static int hps_n_free[HPS_NKINDS];
static int hps_n_dyn[HPS_NKINDS];               /* chunk entries in use, by kind */
static int hps_stub_limit = HPS_HAVE_STUBS ? INT_MAX : 0;  /* usable chunk entries per kind
                                                              (tests lower it) */

static inline hps_chunk *hps_chunk_of(int kind, int i) {
    return hps_chunks[kind][(i - HPS_PER_KIND) / HPS_CHUNK];
}

static inline hps_entry *hps_entry_at(int kind, int i) {
    if (i < HPS_PER_KIND) {
        return &hps_entries[kind][i];
    }
    return &hps_chunk_of(kind, i)->entries[(i - HPS_PER_KIND) % HPS_CHUNK];
}

/* The C function that serves entry i: what a slot or a PyMethodDef points at. */
static inline void *hps_function_at(int kind, int i) {
    if (i < HPS_PER_KIND) {
        return hps_trampolines[kind][i];
    }
    return hps_chunk_of(kind, i)->code + ((i - HPS_PER_KIND) % HPS_CHUNK) * HPS_STUB_SIZE;
}

/* Method and function kinds: the PyMethodDef of entry i (static data, or a chunk's: never freed, as a
   bound method points into it and holds neither the type nor the module). */
static inline PyMethodDef *hps_method_def_at(int kind, int i) {
    if (i < HPS_PER_KIND) {
        return &hps_method_defs[kind][i];
    }
    return &hps_chunk_of(kind, i)->defs[(i - HPS_PER_KIND) % HPS_CHUNK];
}

#if HPS_HAVE_STUBS
/* endbr64; movabs r9, entry; movabs r11, target; jmp r11 (then int3 padding). endbr64
   makes the stub a valid indirect-branch target under CET; it is a no-op elsewhere. */
static void hps_write_stub(unsigned char *p, void *entry, void *target) {
    static const unsigned char head[] = {0xF3, 0x0F, 0x1E, 0xFA, 0x49, 0xB9};
    memset(p, 0xCC, HPS_STUB_SIZE);
    memcpy(p, head, sizeof(head));
    memcpy(p + 6, &entry, 8);
    p[14] = 0x49;
    p[15] = 0xBB;
    memcpy(p + 16, &target, 8);
    p[24] = 0x41;
    p[25] = 0xFF;
    p[26] = 0xE3;
}

/* A new chunk of ``kind`` with its stubs, its free entries pushed (lowest index on top);
   -1 if the system gives no memory or no executable page. Lock held. */
static int hps_add_chunk(int kind) {
    int n = hps_n_chunks[kind];
    if (n == HPS_MAX_CHUNKS) {
        return -1;
    }
    if (hps_chunks[kind] == NULL) {
        hps_chunks[kind] = (hps_chunk **)PyMem_RawCalloc(HPS_MAX_CHUNKS, sizeof(hps_chunk *));
        if (hps_chunks[kind] == NULL) {
            return -1;
        }
    }
    int *free_list = (int *)PyMem_RawRealloc(hps_free[kind],
                                             (size_t)(n + 1) * HPS_CHUNK * sizeof(int));
    if (free_list == NULL) {
        return -1;
    }
    hps_free[kind] = free_list;
    hps_chunk *c = (hps_chunk *)PyMem_RawCalloc(1, sizeof(hps_chunk));
    if (c == NULL) {
        return -1;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = ((size_t)HPS_CHUNK * HPS_STUB_SIZE + page - 1) / page * page;
    void *code = MAP_FAILED;
    if (kind < HPS_N_DEF_KINDS) {
        c->defs = (PyMethodDef *)PyMem_RawCalloc(HPS_CHUNK, sizeof(PyMethodDef));
        if (c->defs == NULL) {
            goto fail;
        }
    }
    code = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        goto fail;
    }
    c->code = (unsigned char *)code;
    for (int j = 0; j < HPS_CHUNK; j++) {
        unsigned char *stub = c->code + j * HPS_STUB_SIZE;
        hps_write_stub(stub, &c->entries[j], hps_dyn_targets[kind]);
        if (c->defs != NULL) {
            c->defs[j].ml_name = "<unused>";
            c->defs[j].ml_meth = (PyCFunction)(void (*)(void))stub;
            c->defs[j].ml_flags = hps_meth_flags[kind];
            c->defs[j].ml_doc = NULL;
        }
    }
    if (mprotect(code, size, PROT_READ | PROT_EXEC) != 0) {
        goto fail;
    }
    hps_chunks[kind][n] = c;
    hps_n_chunks[kind] = n + 1;
    for (int j = HPS_CHUNK - 1; j >= 0; j--) {
        hps_free[kind][hps_n_free[kind]++] = HPS_PER_KIND + n * HPS_CHUNK + j;
    }
    return 0;
fail:
    if (code != MAP_FAILED) {
        munmap(code, size);
    }
    PyMem_RawFree(c->defs);
    PyMem_RawFree(c);
    return -1;
}
#else
static int hps_add_chunk(int kind) {
    (void)kind;
    return -1;
}
#endif

/* Entry i of ``kind`` for ``impl`` and ``state`` (a new reference), or -1: no static entry
   (the table full, or the definition whose per-kind counts ``held`` points at holding half
   of it, so that no definition leaves another without) and no chunk entry (no stubs here,
   or no memory). */
static int hps_entry_take(int kind, void *impl, PyObject *state, int *held) {
    int found = -1;
    hps_lock();
    if (hps_n_used[kind] < hps_limit && held[kind] < hps_limit / 2 + hps_limit % 2) {
        for (int j = 0; j < hps_limit; j++) {
            int i = (hps_hint[kind] + j) % hps_limit;
            if (!hps_used[kind][i]) {
                hps_used[kind][i] = 1;
                hps_n_used[kind] += 1;
                held[kind] += 1;
                hps_hint[kind] = i + 1;
                found = i;
                break;
            }
        }
    }
    if (found < 0 && hps_n_dyn[kind] < hps_stub_limit
            && (hps_n_free[kind] > 0 || hps_add_chunk(kind) == 0)) {
        found = hps_free[kind][--hps_n_free[kind]];
        hps_n_dyn[kind] += 1;
    }
    hps_unlock();
    if (found >= 0) {
        hps_entry *e = hps_entry_at(kind, found);
        e->state = Py_NewRef(state);
        e->impl = impl;
        e->fn = hps_function_at(kind, found);
        e->off = 0;
        e->def = kind < HPS_N_DEF_KINDS ? hps_method_def_at(kind, found) : NULL;
    }
    return found;
}

/* Give entry i back; drops its state. A stale bound method over it is refused from now on
   (its type is cleared first), and a reused entry serves only its new type's instances. */
static void hps_entry_give(int kind, int i, int *held) {
    hps_entry *e = hps_entry_at(kind, i);
    PyObject *state = e->state;
    e->type = NULL;
    e->sub_tag = 0;
    e->sub = NULL;
    e->state = NULL;
    e->impl = NULL;
    if (e->def != NULL) {               /* its name and doc were the binding's */
        e->def->ml_name = "<unused>";
        e->def->ml_doc = NULL;
    }
    hps_lock();
    if (i < HPS_PER_KIND) {
        hps_used[kind][i] = 0;
        hps_n_used[kind] -= 1;
        held[kind] -= 1;
    }
    else {
        hps_free[kind][hps_n_free[kind]++] = i;
        hps_n_dyn[kind] -= 1;
    }
    hps_unlock();
    Py_XDECREF(state);
}

/* Entries in use of ``kind``: static, and in chunks. */
static int hps_entries_in_use(int kind, int dynamic) {
    hps_lock();
    int n = dynamic ? hps_n_dyn[kind] : hps_n_used[kind];
    hps_unlock();
    return n;
}

static int hps_chunks_made(int kind) {
    hps_lock();
    int n = hps_n_chunks[kind];
    hps_unlock();
    return n;
}

/* Whether ``fn`` serves an entry of ``kind`` (a static trampoline or a chunk's stub): tells
   a trampoline in a slot from any other C function. */
static int hps_is_entry_fn(int kind, void *fn) {
    for (int i = 0; i < HPS_PER_KIND; i++) {
        if (hps_trampolines[kind][i] == fn) {
            return 1;
        }
    }
    int n = hps_chunks_made(kind);
    for (int c = 0; c < n; c++) {       /* a chunk pointer never changes once written */
        unsigned char *code = hps_chunks[kind][c]->code;
        if ((unsigned char *)fn >= code && (unsigned char *)fn < code + HPS_CHUNK * HPS_STUB_SIZE) {
            return 1;
        }
    }
    return 0;
}

/* The heap memory of the chunks made so far (their stubs' pages are mmap'd, not counted):
   kept for reuse, it grows with the peak number of live bindings, not with their turnover. */
static size_t hps_chunk_bytes(void) {
    size_t total = 0;
    hps_lock();
    for (int kind = 0; kind < HPS_NKINDS; kind++) {
        size_t n = (size_t)hps_n_chunks[kind];
        if (hps_chunks[kind] != NULL) {
            total += HPS_MAX_CHUNKS * sizeof(hps_chunk *);
        }
        total += n * (HPS_CHUNK * sizeof(int) + sizeof(hps_chunk)
                      + (kind < HPS_N_DEF_KINDS ? HPS_CHUNK * sizeof(PyMethodDef) : 0));
    }
    hps_unlock();
    return total;
}

#endif /* HPYSTATE_ENTRIES_H */
