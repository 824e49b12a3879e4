/* A FIX message's fields in C: `split` turns `tag=value<SOH>...` into a list of (int tag, bytes
 * value); `join` does the reverse for the plain case of codec.encode_fields.
 *
 * The plain case only (every tag 1 to 9 decimal digits, every field with its '=', the message
 * ending in SOH); anything else returns None and codec.parse's Python path decides, with its own
 * error messages (a negative or zero tag, a field that is not tag=value, a missing SOH). On the
 * served path the Python split was about a tenth of the server's CPU per order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define SMALL_TAGS 10000
static PyObject *tag_ints[SMALL_TAGS];  /* 0..9999 made once: tags repeat in every message */

PyDoc_STRVAR(split_doc,
"split(raw) -> list[tuple[int, bytes]] | None\n"
"--\n\n"
"The (tag, value) pairs of `raw`, or None when it is not the plain case.");

static PyObject *
split(PyObject *module, PyObject *raw)
{
    if (!PyBytes_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "raw must be bytes");
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    if (n == 0 || p[n - 1] != '\x01')
        Py_RETURN_NONE;
    PyObject *fields = PyList_New(0);
    if (fields == NULL)
        return NULL;
    const char *end = p + n;
    while (p < end) {
        long tag = 0;
        int digits = 0;
        while (p < end && *p >= '0' && *p <= '9' && digits < 10) {
            tag = tag * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 9 || tag == 0 || p >= end || *p != '=')
            goto plain_no_more;
        p++;
        const char *v = memchr(p, '\x01', (size_t)(end - p));  /* found: raw ends with SOH */
        PyObject *t;
        if (tag < SMALL_TAGS) {
            t = tag_ints[tag];
            Py_INCREF(t);
        } else if ((t = PyLong_FromLong(tag)) == NULL) {
            goto fail;
        }
        PyObject *val = PyBytes_FromStringAndSize(p, v - p);
        if (val == NULL) {
            Py_DECREF(t);
            goto fail;
        }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(t);
            Py_DECREF(val);
            goto fail;
        }
        PyTuple_SET_ITEM(pair, 0, t);
        PyTuple_SET_ITEM(pair, 1, val);
        /* An int and a bytes can never be part of a cycle: untracked, the pair costs the cycle
         * collector nothing. Tracked, every young collection on the served path walked each
         * field of every message in flight (7 of every 10 objects it visited). */
        PyObject_GC_UnTrack(pair);
        int rc = PyList_Append(fields, pair);
        Py_DECREF(pair);
        if (rc < 0)
            goto fail;
        p = v + 1;
    }
    return fields;

plain_no_more:
    Py_DECREF(fields);
    Py_RETURN_NONE;
fail:
    Py_DECREF(fields);
    return NULL;
}

/* Append text to a growing buffer. */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int
put(Buf *b, const char *s, Py_ssize_t n)
{
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = PyMem_Realloc(b->p, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* An exact int as decimal text; 1 when it is not one that fits a long long. */
static int
put_int(Buf *b, PyObject *o)
{
    if (!PyLong_CheckExact(o))
        return 1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow)
        return 1;
    char text[24];
    int n = snprintf(text, sizeof text, "%lld", v);
    return put(b, text, n);
}

PyDoc_STRVAR(join_doc,
"join(fields) -> bytes | None\n"
"--\n\n"
"`tag=value<SOH>` for each (int, bytes | str | int) of the list `fields`, or None when a field\n"
"is anything else (another type, text beyond Latin-1, a value holding SOH).");

static PyObject *
join(PyObject *module, PyObject *fields)
{
    if (!PyList_CheckExact(fields))
        Py_RETURN_NONE;
    Buf b = {NULL, 0, 0};
    Py_ssize_t n = PyList_GET_SIZE(fields);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyList_GET_ITEM(fields, i);
        if (!PyTuple_CheckExact(f) || PyTuple_GET_SIZE(f) != 2)
            goto other;
        PyObject *t = PyTuple_GET_ITEM(f, 0), *v = PyTuple_GET_ITEM(f, 1);
        int rc = put_int(&b, t);
        if (rc < 0)
            goto fail;
        if (rc > 0 || put(&b, "=", 1) < 0)
            goto other_or_fail;
        const char *s;
        Py_ssize_t len;
        if (PyBytes_CheckExact(v)) {
            s = PyBytes_AS_STRING(v);
            len = PyBytes_GET_SIZE(v);
        } else if (PyUnicode_CheckExact(v) && PyUnicode_KIND(v) == PyUnicode_1BYTE_KIND) {
            s = (const char *)PyUnicode_1BYTE_DATA(v);  /* Latin-1: its bytes are the text's */
            len = PyUnicode_GET_LENGTH(v);
        } else {
            rc = put_int(&b, v);
            if (rc < 0)
                goto fail;
            if (rc > 0)
                goto other;
            if (put(&b, "\x01", 1) < 0)
                goto fail;
            continue;
        }
        if (memchr(s, '\x01', (size_t)len) != NULL)
            goto other;
        if (put(&b, s, len) < 0 || put(&b, "\x01", 1) < 0)
            goto fail;
    }
    PyObject *out = PyBytes_FromStringAndSize(b.p ? b.p : "", b.len);
    PyMem_Free(b.p);
    return out;

other_or_fail:
    if (PyErr_Occurred())
        goto fail;
other:
    PyMem_Free(b.p);
    Py_RETURN_NONE;
fail:
    PyMem_Free(b.p);
    return NULL;
}

static PyMethodDef methods[] = {
    {"split", split, METH_O, split_doc},
    {"join", join, METH_O, join_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fields", "A FIX message's fields in C (see codec.parse).", -1, methods,
};

PyMODINIT_FUNC
PyInit__fields(void)
{
    for (long i = 0; i < SMALL_TAGS; i++) {
        if ((tag_ints[i] = PyLong_FromLong(i)) == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
