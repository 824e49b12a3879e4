/* A FIX message's fields in C: `split` turns `tag=value<SOH>...` into a list of (int tag, bytes
 * value); `join` does the reverse for the plain case of codec.encode_fields; `values_ok` checks
 * the values of a message whose shape the dictionary has validated before (its _values_pass).
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

/* -- value formats of the data dictionary (dictionary.py's _FORMATS, the same rules) ---------- */
enum {
    F_NONE = 0, F_UINT, F_INT, F_DECIMAL, F_CHAR, F_BOOLEAN, F_TIMESTAMP, F_TIMEONLY, F_DATE,
    F_MONTHYEAR, F_LEN3, F_LEN2, F_LAST
};

#define DIG(c) ((c) >= '0' && (c) <= '9')

static int
digits(const char *p, Py_ssize_t n)  /* bytes.isdigit(): one or more ASCII digits */
{
    if (n <= 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!DIG(p[i]))
            return 0;
    return 1;
}

static int
month_ok(const char *p)  /* (0[1-9]|1[0-2]) */
{
    return (p[0] == '0' && p[1] >= '1' && p[1] <= '9') || (p[0] == '1' && p[1] >= '0' && p[1] <= '2');
}

static int
date_ok(const char *p)  /* \d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]) */
{
    return DIG(p[0]) && DIG(p[1]) && DIG(p[2]) && DIG(p[3]) && month_ok(p + 4) &&
           ((p[6] == '0' && p[7] >= '1' && p[7] <= '9') || ((p[6] == '1' || p[6] == '2') && DIG(p[7])) ||
            (p[6] == '3' && (p[7] == '0' || p[7] == '1')));
}

static int
time_ok(const char *p)  /* ([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60) */
{
    return (((p[0] == '0' || p[0] == '1') && DIG(p[1])) || (p[0] == '2' && p[1] >= '0' && p[1] <= '3')) &&
           p[2] == ':' && p[3] >= '0' && p[3] <= '5' && DIG(p[4]) && p[5] == ':' &&
           ((p[6] >= '0' && p[6] <= '5' && DIG(p[7])) || (p[6] == '6' && p[7] == '0'));
}

static int
fraction_ok(const char *p, Py_ssize_t n, int any_precision)  /* (\.\d{3}|\.\d{6}|\.\d{9})? */
{
    if (n == 0)
        return 1;
    Py_ssize_t d = n - 1;
    return p[0] == '.' && (d == 3 || (any_precision && (d == 6 || d == 9))) && digits(p + 1, d);
}

static int
decimal_ok(const char *p, Py_ssize_t n)  /* -?digits[.digits] or -?.digits or -?digits. */
{
    if (n > 0 && p[0] == '-') {
        p++;
        n--;
    }
    if (n <= 0)
        return 0;
    const char *dot = memchr(p, '.', (size_t)n);
    if (dot == NULL)
        return digits(p, n);
    Py_ssize_t whole = dot - p, frac = n - whole - 1;
    if (frac == 0)
        return digits(p, whole);
    return digits(dot + 1, frac) && (whole == 0 || digits(p, whole));
}

static int
format_ok(int code, const char *p, Py_ssize_t n)
{
    switch (code) {
    case F_UINT: return digits(p, n);
    case F_INT: return digits(p, n) || (n > 1 && p[0] == '-' && digits(p + 1, n - 1));
    case F_DECIMAL: return decimal_ok(p, n);
    case F_CHAR: return n == 1;
    case F_BOOLEAN: return n == 1 && (p[0] == 'Y' || p[0] == 'N');
    case F_TIMESTAMP:
        return n >= 17 && date_ok(p) && p[8] == '-' && time_ok(p + 9) && fraction_ok(p + 17, n - 17, 1);
    case F_TIMEONLY: return n >= 8 && time_ok(p) && fraction_ok(p + 8, n - 8, 0);
    case F_DATE: return n == 8 && date_ok(p);
    case F_MONTHYEAR:
        return (n == 6 || n == 8) && DIG(p[0]) && DIG(p[1]) && DIG(p[2]) && DIG(p[3]) && month_ok(p + 4) &&
               (n == 6 || (DIG(p[6]) && DIG(p[7])) || (p[6] == 'w' && p[7] >= '1' && p[7] <= '5'));
    case F_LEN3: return n == 3;
    case F_LEN2: return n == 2;
    default: return 1;
    }
}

PyDoc_STRVAR(format_ok_doc,
"format_ok(code, value) -> bool\n"
"--\n\n"
"Whether `value` (bytes) has the format numbered `code` (see dictionary.py's FORMAT_CODES).");

static PyObject *
py_format_ok(PyObject *module, PyObject *args)
{
    int code;
    const char *p;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "iy#", &code, &p, &n))
        return NULL;
    if (code < 0 || code >= F_LAST) {
        PyErr_Format(PyExc_ValueError, "no format numbered %d", code);
        return NULL;
    }
    return PyBool_FromLong(format_ok(code, p, n));
}

/* Step j of `steps`, a tuple of `size` items whose first is a field index below n: 1 and the
 * step and index when it is one, 0 when it is not, -1 with an exception set. */
static int
read_step(PyObject *steps, Py_ssize_t j, Py_ssize_t size, Py_ssize_t n, PyObject **step, Py_ssize_t *i)
{
    *step = PyTuple_GET_ITEM(steps, j);
    if (!PyTuple_CheckExact(*step) || PyTuple_GET_SIZE(*step) != size)
        return 0;
    *i = PyLong_AsSsize_t(PyTuple_GET_ITEM(*step, 0));
    if (*i == -1 && PyErr_Occurred())
        return -1;
    return *i >= 0 && *i < n;
}

PyDoc_STRVAR(values_ok_doc,
"values_ok(fields, plan, counts) -> bool | None\n"
"--\n\n"
"Whether every value of a message of a known shape is good (dictionary.py's _values_pass):\n"
"no empty value; for each (index, format code, allowed values or None) of the tuple `plan`, the\n"
"format and the enumeration hold; for each (index, bytes) of the tuple `counts`, the value is\n"
"that NumInGroup. None when `fields` is not a list of (int, bytes) pairs covering the plan.");

static PyObject *
values_ok(PyObject *module, PyObject *args)
{
    PyObject *fields, *plan, *counts;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyList_Type, &fields, &PyTuple_Type, &plan, &PyTuple_Type, &counts))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(fields);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyList_GET_ITEM(fields, i);
        if (!PyTuple_CheckExact(f) || PyTuple_GET_SIZE(f) != 2 || !PyBytes_CheckExact(PyTuple_GET_ITEM(f, 1)))
            Py_RETURN_NONE;
        if (PyBytes_GET_SIZE(PyTuple_GET_ITEM(f, 1)) == 0)
            Py_RETURN_FALSE;
    }
    PyObject *step;
    Py_ssize_t i;
    int rc;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(plan); j++) {
        if ((rc = read_step(plan, j, 3, n, &step, &i)) <= 0)
            goto unreadable;
        long code = PyLong_AsLong(PyTuple_GET_ITEM(step, 1));
        if (code == -1 && PyErr_Occurred())
            return NULL;
        if (code < 0 || code >= F_LAST)
            Py_RETURN_NONE;
        PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, i), 1);
        if (!format_ok((int)code, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v)))
            Py_RETURN_FALSE;
        PyObject *allowed = PyTuple_GET_ITEM(step, 2);
        if (allowed != Py_None) {
            if (!PyAnySet_Check(allowed))
                Py_RETURN_NONE;
            int in = PySet_Contains(allowed, v);
            if (in < 0)
                return NULL;
            if (!in)
                Py_RETURN_FALSE;
        }
    }
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(counts); j++) {
        if ((rc = read_step(counts, j, 2, n, &step, &i)) <= 0)
            goto unreadable;
        PyObject *want = PyTuple_GET_ITEM(step, 1);
        if (!PyBytes_CheckExact(want))
            Py_RETURN_NONE;
        PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, i), 1);
        if (PyBytes_GET_SIZE(v) != PyBytes_GET_SIZE(want) ||
            memcmp(PyBytes_AS_STRING(v), PyBytes_AS_STRING(want), (size_t)PyBytes_GET_SIZE(v)) != 0)
            Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;

unreadable:  /* rc 0: not a step this function reads (Python decides); -1: an error is set */
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"split", split, METH_O, split_doc},
    {"join", join, METH_O, join_doc},
    {"format_ok", py_format_ok, METH_VARARGS, format_ok_doc},
    {"values_ok", values_ok, METH_VARARGS, values_ok_doc},
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
