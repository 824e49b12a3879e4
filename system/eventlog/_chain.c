/* The log's append loop in C: number, encode and hash-chain a batch of NewEvents.
 *
 * The same function as system/eventlog/batch.py's `_chain_py` (its reference, which the tests
 * hold it to byte for byte): one pass over the batch that gives each entry its seq and stream
 * version, encodes its canonical body with the log's msgspec encoder, and chains
 * sha256(prev_hash || body). In Python that loop's bookkeeping (attribute loads, a 10-item
 * list, a hashlib object per entry) cost about as much as the encoding and the hash themselves;
 * here it is a few C calls. The encoding stays msgspec's, so the bytes cannot differ.
 *
 * SHA-256 is OpenSSL's (libcrypto, the library Python's hashlib uses), one reused context.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <openssl/evp.h>

static PyObject *s_record, *s_stream, *s_name, *s_version, *s_valid_time, *s_correlation_id,
    *s_causation_id, *s_encode_into, *zero;

/* Each body is encoded into this buffer at offset 0 and copied out before any Python code can
 * run (so another thread's chain cannot overwrite it first): it keeps its capacity, where
 * encoding each body into a new bytes or onto the end of a growing buffer made msgspec resize
 * its output several times a body (a tenth of the command path). */
static PyObject *scratch;

static EVP_MD *sha256_md;   /* fetched once: EVP_sha256() would look the provider up per use */
static EVP_MD_CTX *md_ctx;  /* reused: the GIL is held throughout, so one is enough */

/* NewEvent's fields read at their slots' offsets (msgspec keeps a Struct's fields as members),
 * learnt from the first NewEvent type seen: a generic attribute load was the largest share of
 * the loop left after the encoding. Any other type goes through getattr. */
enum { F_RECORD, F_STREAM, F_VALID_TIME, F_CORRELATION, F_CAUSATION, N_FIELDS };
static PyTypeObject *ne_type;
static Py_ssize_t ne_offset[N_FIELDS];
static PyObject **ne_names[N_FIELDS] = {&s_record, &s_stream, &s_valid_time, &s_correlation_id,
                                        &s_causation_id};

static int
learn_new_event(PyTypeObject *tp)
{
    Py_ssize_t off[N_FIELDS];
    for (int k = 0; k < N_FIELDS; k++) {
        PyObject *d = _PyType_Lookup(tp, *ne_names[k]);
        if (d == NULL || Py_TYPE(d) != &PyMemberDescr_Type)
            return 0;
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX && m->type != T_OBJECT)
            return 0;
        off[k] = m->offset;
    }
    memcpy(ne_offset, off, sizeof off);
    Py_INCREF(tp);
    Py_XSETREF(ne_type, tp);
    return 1;
}

/* Field k of a NewEvent: a new reference, or NULL with an error set. */
static PyObject *
field(PyObject *ne, int k)
{
    if (Py_TYPE(ne) == ne_type) {
        PyObject *v = *(PyObject **)((char *)ne + ne_offset[k]);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
    }
    return PyObject_GetAttr(ne, *ne_names[k]);
}

/* The record's type name and schema version, read as Python reads them (rec.name, rec.version)
 * every time: a class may change them (a test of schema versions does), so no copy is kept per
 * type. New references. */
static int
consts(PyObject *rec, PyObject **name, PyObject **version)
{
    if ((*name = PyObject_GetAttr(rec, s_name)) == NULL)
        return -1;
    if ((*version = PyObject_GetAttr(rec, s_version)) == NULL) {
        Py_CLEAR(*name);
        return -1;
    }
    return 0;
}

static int
digest(const unsigned char *prev, const char *body, Py_ssize_t len, unsigned char *out)
{
    unsigned int n = 0;
    if (!EVP_DigestInit_ex(md_ctx, sha256_md, NULL) || !EVP_DigestUpdate(md_ctx, prev, 32)
        || !EVP_DigestUpdate(md_ctx, body, (size_t)len) || !EVP_DigestFinal_ex(md_ctx, out, &n)
        || n != 32) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        return -1;
    }
    return 0;
}

/* Look `key` up in `table` (a dict); if absent, call `assign(key)`. New reference. */
static PyObject *
lookup_or_assign(PyObject *table, PyObject *assign, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(table, key);
    if (v != NULL) {
        Py_INCREF(v);
        return v;
    }
    if (PyErr_Occurred())
        return NULL;
    return PyObject_CallOneArg(assign, key);
}

PyDoc_STRVAR(chain_doc,
"chain(batch, head_seq, head_hash, version_of, recorded_time, encoder, logged_type, ids, base)\n"
"--\n\n"
"Number, encode and chain `batch` after the head. Returns (logged, items, versions, hashes,\n"
"block): the entries built by `logged_type`; the items (each body, or with `ids` SQLite's flat\n"
"parameters, or with an int `base` the bytes of an int64 array of each body's end, base + its\n"
"offset in `block`, the bodies joined); each touched stream's new version; the entries' hashes\n"
"joined (32 bytes each); `block` (None when base is None).");

static PyObject *
chain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_Format(PyExc_TypeError, "chain() takes 9 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *batch = args[0], *version_of = args[3], *recorded = args[4], *logged_type = args[6];
    PyObject *ids = args[7];
    /* base: None, or join the bodies and give their ends as offsets from base. */
    int join = args[8] != Py_None;
    long long base = join ? PyLong_AsLongLong(args[8]) : 0;
    if (base == -1 && PyErr_Occurred())
        return NULL;
    long long seq = PyLong_AsLongLong(args[1]);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    if (!PyLong_Check(recorded)) {
        PyErr_SetString(PyExc_TypeError, "recorded_time must be an int");
        return NULL;
    }
    if (!PyBytes_Check(args[2]) || PyBytes_GET_SIZE(args[2]) != 32) {
        PyErr_SetString(PyExc_ValueError, "head_hash must be 32 bytes");
        return NULL;
    }
    PyObject *sids = NULL, *tids = NULL, *sid_of = NULL, *tid_of = NULL;
    if (ids != Py_None) {
        if (join || !PyTuple_Check(ids) || PyTuple_GET_SIZE(ids) != 4
            || !PyDict_Check(PyTuple_GET_ITEM(ids, 0)) || !PyDict_Check(PyTuple_GET_ITEM(ids, 1))) {
            PyErr_SetString(PyExc_TypeError, "ids must be (dict, dict, callable, callable), with base None");
            return NULL;
        }
        sids = PyTuple_GET_ITEM(ids, 0);
        tids = PyTuple_GET_ITEM(ids, 1);
        sid_of = PyTuple_GET_ITEM(ids, 2);
        tid_of = PyTuple_GET_ITEM(ids, 3);
    }

    PyObject *fast = PySequence_Fast(batch, "batch must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **nes = PySequence_Fast_ITEMS(fast);
    if (n > 0 && Py_TYPE(nes[0]) != ne_type)
        learn_new_event(Py_TYPE(nes[0]));

    PyObject *encode_into = PyObject_GetAttr(args[5], s_encode_into);
    PyObject *logged = PyList_New(n);
    /* join: no list of items; the ends' bytes take its place at the end. */
    PyObject *items = join ? NULL : PyList_New(ids == Py_None ? n : 8 * n);
    PyObject *versions = PyDict_New();
    PyObject *hashes = PyBytes_FromStringAndSize(NULL, 32 * n);
    PyObject *buf = scratch;
    Py_INCREF(buf);
    /* join: the bodies side by side (one block), and their ends as int64s (an array's bytes). */
    char *acc = NULL;
    Py_ssize_t acc_len = 0, acc_cap = 0;
    long long *ends = NULL;
    /* One envelope list, its items replaced entry by entry. */
    PyObject *env = PyList_New(10);
    PyObject *prev = args[2];
    Py_INCREF(prev);
    if (join && (ends = PyMem_Malloc(sizeof(long long) * (n ? n : 1))) == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (encode_into == NULL || logged == NULL || (!join && items == NULL) || versions == NULL
        || hashes == NULL || env == NULL)
        goto fail;
    for (int k = 0; k < 10; k++) {
        Py_INCREF(Py_None);
        PyList_SET_ITEM(env, k, Py_None);
    }
    unsigned char *hout = (unsigned char *)PyBytes_AS_STRING(hashes);

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *ne = nes[i];
        PyObject *rec = NULL, *stream = NULL, *v = NULL, *name = NULL, *schema = NULL, *vt = NULL,
                 *corr = NULL, *caus = NULL, *seqo = NULL, *h = NULL, *entry = NULL, *r = NULL;
        seq += 1;
        if ((rec = field(ne, F_RECORD)) == NULL || (stream = field(ne, F_STREAM)) == NULL)
            goto fail_entry;
        if (stream == Py_None) {
            Py_DECREF(stream);
            if ((stream = PyObject_CallMethodNoArgs(rec, s_stream)) == NULL)
                goto fail_entry;
        }
        {
            /* This batch's version of the stream, or the store's, plus one. */
            PyObject *had = PyDict_GetItemWithError(versions, stream);
            long long ver;
            if (had != NULL) {
                ver = PyLong_AsLongLong(had);
            } else {
                if (PyErr_Occurred())
                    goto fail_entry;
                PyObject *stored = PyObject_CallOneArg(version_of, stream);
                if (stored == NULL)
                    goto fail_entry;
                ver = PyLong_AsLongLong(stored);
                Py_DECREF(stored);
            }
            if (ver == -1 && PyErr_Occurred())
                goto fail_entry;
            if ((v = PyLong_FromLongLong(ver + 1)) == NULL || PyDict_SetItem(versions, stream, v) < 0)
                goto fail_entry;
        }
        if (consts(rec, &name, &schema) < 0 || (vt = field(ne, F_VALID_TIME)) == NULL
            || (corr = field(ne, F_CORRELATION)) == NULL || (caus = field(ne, F_CAUSATION)) == NULL
            || (seqo = PyLong_FromLongLong(seq)) == NULL)
            goto fail_entry;
        /* The canonical body: see codec.py and docs/eventlog.md. One encoder call over a list. */
        {
            PyObject *fs[10] = {seqo, stream, v, name, schema, vt, recorded, corr, caus, rec};
            for (int k = 0; k < 10; k++) {
                Py_INCREF(fs[k]);
                PyList_SetItem(env, k, fs[k]);  /* steals; drops the previous entry's item */
            }
            PyObject *cargs[3] = {env, buf, zero};
            r = PyObject_Vectorcall(encode_into, cargs, 3, NULL);
        }
        if (r == NULL)
            goto fail_entry;
        Py_CLEAR(r);
        const char *body = PyByteArray_AS_STRING(buf);
        Py_ssize_t len = PyByteArray_GET_SIZE(buf);
        if (digest((const unsigned char *)PyBytes_AS_STRING(prev), body, len, hout + 32 * i) < 0)
            goto fail_entry;
        if ((h = PyBytes_FromStringAndSize((const char *)hout + 32 * i, 32)) == NULL)
            goto fail_entry;
        if (join) {
            if (acc_len + len > acc_cap) {
                Py_ssize_t cap = acc_cap ? 2 * acc_cap : 512;
                while (cap < acc_len + len)
                    cap *= 2;
                char *grown = PyMem_Realloc(acc, (size_t)cap);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto fail_entry;
                }
                acc = grown;
                acc_cap = cap;
            }
            memcpy(acc + acc_len, body, (size_t)len);
            acc_len += len;
            ends[i] = base + acc_len;
        } else if (ids == Py_None) {
            PyObject *b = PyBytes_FromStringAndSize(body, len);
            if (b == NULL)
                goto fail_entry;
            PyList_SET_ITEM(items, i, b);
        } else {
            /* SQLite's row: seq, stream id, version, type id, valid_time, recorded_time, body,
             * hash; blobs as bytearray, which Python 3.11's sqlite3 binds without its adapter
             * lookups (batch.py says more). */
            PyObject *bb = PyByteArray_FromStringAndSize(body, len);  /* before any callback */
            PyObject *hb = PyByteArray_FromStringAndSize((const char *)hout + 32 * i, 32);
            PyObject *sid = NULL, *tid = NULL;
            if (bb == NULL || hb == NULL || (sid = lookup_or_assign(sids, sid_of, stream)) == NULL
                || (tid = lookup_or_assign(tids, tid_of, name)) == NULL) {
                Py_XDECREF(bb);
                Py_XDECREF(hb);
                Py_XDECREF(sid);
                goto fail_entry;
            }
            PyObject *row[8] = {seqo, sid, v, tid, vt, recorded, bb, hb};
            for (int k = 0; k < 8; k++) {
                if (k != 1 && k != 3 && k != 6 && k != 7)
                    Py_INCREF(row[k]);  /* sid, tid and the blobs are new references already */
                PyList_SET_ITEM(items, 8 * i + k, row[k]);
            }
        }
        {
            PyObject *fs[12] = {seqo, stream, v, name, schema, vt, recorded, corr, caus, rec, prev, h};
            entry = PyObject_Vectorcall(logged_type, fs, 12, NULL);
        }
        if (entry == NULL)
            goto fail_entry;
        PyList_SET_ITEM(logged, i, entry);
        Py_SETREF(prev, h);
        Py_DECREF(rec); Py_DECREF(stream); Py_DECREF(v); Py_DECREF(name); Py_DECREF(schema);
        Py_DECREF(vt); Py_DECREF(corr); Py_DECREF(caus); Py_DECREF(seqo);
        continue;
    fail_entry:
        Py_XDECREF(rec); Py_XDECREF(stream); Py_XDECREF(v); Py_XDECREF(name); Py_XDECREF(schema);
        Py_XDECREF(vt); Py_XDECREF(corr); Py_XDECREF(caus); Py_XDECREF(seqo); Py_XDECREF(h);
        goto fail;
    }
    PyObject *block = Py_None;
    if (join) {
        block = PyBytes_FromStringAndSize(acc, acc_len);
        PyObject *e = PyBytes_FromStringAndSize((const char *)ends, (Py_ssize_t)sizeof(long long) * n);
        if (block == NULL || e == NULL) {
            Py_XDECREF(block);
            Py_XDECREF(e);
            goto fail;
        }
        items = e;
        PyMem_Free(acc);
        PyMem_Free(ends);
    } else {
        Py_INCREF(block);
    }
    Py_DECREF(fast);
    Py_DECREF(prev);
    Py_DECREF(encode_into);
    Py_DECREF(buf);
    Py_DECREF(env);
    return Py_BuildValue("(NNNNN)", logged, items, versions, hashes, block);

fail:
    /* Lists made with PyList_New(n) may hold NULLs past the failure: list_dealloc skips them. */
    Py_DECREF(fast);
    Py_XDECREF(prev);
    Py_XDECREF(encode_into);
    Py_XDECREF(logged);
    Py_XDECREF(items);
    Py_XDECREF(versions);
    Py_XDECREF(hashes);
    Py_XDECREF(buf);
    Py_XDECREF(env);
    PyMem_Free(acc);
    PyMem_Free(ends);
    return NULL;
}

static PyMethodDef methods[] = {
    {"chain", (PyCFunction)(void (*)(void))chain, METH_FASTCALL, chain_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chain", "The log's append loop in C (see batch.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__chain(void)
{
    if ((s_record = PyUnicode_InternFromString("record")) == NULL
        || (s_stream = PyUnicode_InternFromString("stream")) == NULL
        || (s_name = PyUnicode_InternFromString("name")) == NULL
        || (s_version = PyUnicode_InternFromString("version")) == NULL
        || (s_valid_time = PyUnicode_InternFromString("valid_time")) == NULL
        || (s_correlation_id = PyUnicode_InternFromString("correlation_id")) == NULL
        || (s_causation_id = PyUnicode_InternFromString("causation_id")) == NULL
        || (s_encode_into = PyUnicode_InternFromString("encode_into")) == NULL
        || (zero = PyLong_FromLong(0)) == NULL
        || (scratch = PyByteArray_FromStringAndSize(NULL, 0)) == NULL)
        return NULL;
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_ctx = EVP_MD_CTX_new();
    if (sha256_md == NULL || md_ctx == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
        return NULL;
    }
    return PyModule_Create(&module);
}
