/*
 * Hot loops of receiving a push, in C. Each has a Python twin that stays the reference and
 * the fallback (when no compiler built this), and the tests run both on the same inputs.
 *
 * read_entry(buf, offset, limit): one pack entry's header and inflated data, as
 * repos/store/indexer.py:read_entry_py.
 *
 * changed_paths(entries_of, old, new): the file paths two trees disagree on, descending only into
 * differing subtrees, as repos/store/trees.py:changed_paths_py (entries_of(oid) -> parsed tree).
 *
 * check_tree(raw) in C: the per-entry work on every tree of every push, which in Python costs
 * more than inflating the pack (0.7 s of a 62k-object push; 0.17 s here). Same contract, same
 * refusals and messages, same precedence as repos/store/trees.py:check_tree_py, which stays the
 * reference and the fallback; tests/repos/store/test_native.py runs both on the same trees,
 * valid and hostile.
 *
 * -> (dict name -> (mode, oid), [oid of every entry but gitlinks]); raises ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

static const char MALFORMED[] =
    "malformed tree (bad mode, empty name, '.', '..', '/' in a name, or truncated)";

/* The modes git writes, as text, and their values. */
static const struct { const char *text; Py_ssize_t len; long value; } MODES[] = {
    {"40000", 5, 040000}, {"100644", 6, 0100644}, {"100755", 6, 0100755},
    {"120000", 6, 0120000}, {"160000", 6, 0160000}, {"100664", 6, 0100664},
};
#define N_MODES (sizeof(MODES) / sizeof(MODES[0]))
#define GITLINK 0160000
#define TREE 040000

/* Byte i of a tree entry's sort key (its name, with '/' after a tree's name); -1 past the end. */
static int key_at(const unsigned char *name, Py_ssize_t len, int tree, Py_ssize_t i)
{
    if (i < len)
        return name[i];
    if (i == len && tree)
        return '/';
    return -1;
}

/* Compare two entries' sort keys as Python compares bytes (a shorter prefix sorts first). */
static int compare_keys(const unsigned char *a, Py_ssize_t alen, int a_tree,
                        const unsigned char *b, Py_ssize_t blen, int b_tree)
{
    Py_ssize_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, (size_t)n);
    if (c)
        return c;
    for (Py_ssize_t i = n;; i++) {
        int x = key_at(a, alen, a_tree, i), y = key_at(b, blen, b_tree, i);
        if (x != y)
            return x < y ? -1 : 1;
        if (x == -1)
            return 0;
    }
}

static PyObject *check_tree(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *raw = view.buf, *end = raw + view.len, *p = raw;
    PyObject *mapping = PyDict_New(), *children = PyList_New(0), *result = NULL;
    Py_ssize_t count = 0;
    const unsigned char *prev_name = NULL;
    Py_ssize_t prev_len = 0;
    int prev_tree = 0, unsorted = 0, dotgit = 0;
    if (!mapping || !children)
        goto done;

    while (p < end) {
        /* mode, one of MODES, then a space */
        const unsigned char *space = memchr(p, ' ', (size_t)(end - p));
        if (!space)
            goto malformed;
        long mode = -1;
        for (size_t i = 0; i < N_MODES; i++) {
            if (space - p == MODES[i].len && !memcmp(p, MODES[i].text, (size_t)MODES[i].len)) {
                mode = MODES[i].value;
                break;
            }
        }
        if (mode < 0)
            goto malformed;
        /* name: one or more bytes, no '/', not "." or "..", ended by NUL; then 20 bytes */
        const unsigned char *name = space + 1;
        const unsigned char *nul = memchr(name, 0, (size_t)(end - name));
        if (!nul || nul == name || end - (nul + 1) < 20)
            goto malformed;
        Py_ssize_t name_len = nul - name;
        if (memchr(name, '/', (size_t)name_len))
            goto malformed;
        if ((name_len == 1 && name[0] == '.') || (name_len == 2 && name[0] == '.' && name[1] == '.'))
            goto malformed;
        const unsigned char *oid = nul + 1;
        int is_tree = mode == TREE;

        if (prev_name && compare_keys(prev_name, prev_len, prev_tree, name, name_len, is_tree) > 0)
            unsorted = 1;
        if (name_len == 4 && name[0] == '.' && (name[1] | 0x20) == 'g' && (name[2] | 0x20) == 'i'
            && (name[3] | 0x20) == 't')
            dotgit = 1;
        prev_name = name;
        prev_len = name_len;
        prev_tree = is_tree;

        PyObject *key = PyBytes_FromStringAndSize((const char *)name, name_len);
        PyObject *oid_obj = PyBytes_FromStringAndSize((const char *)oid, 20);
        PyObject *value = (key && oid_obj) ? Py_BuildValue("(lO)", mode, oid_obj) : NULL;
        int failed = !value || PyDict_SetItem(mapping, key, value) < 0
                     || (mode != GITLINK && PyList_Append(children, oid_obj) < 0);
        Py_XDECREF(key);
        Py_XDECREF(oid_obj);
        Py_XDECREF(value);
        if (failed)
            goto done;
        count++;
        p = oid + 20;
    }
    if (PyDict_GET_SIZE(mapping) != count) {
        PyErr_SetString(PyExc_ValueError, "duplicate tree entries");
        goto done;
    }
    if (unsorted) {
        PyErr_SetString(PyExc_ValueError, "tree entries not sorted");
        goto done;
    }
    if (dotgit) {
        PyErr_SetString(PyExc_ValueError, "bad entry name ('.git')");
        goto done;
    }
    result = PyTuple_Pack(2, mapping, children);
    goto done;

malformed:
    PyErr_SetString(PyExc_ValueError, MALFORMED);
done:
    Py_XDECREF(mapping);
    Py_XDECREF(children);
    PyBuffer_Release(&view);
    return result;
}

/* -> (type, size, base, data, end): base is the OFS distance (int), the REF base oid (bytes) or
 * None; data the inflated bytes; end the offset just past the entry. Raises ValueError. */
static PyObject *read_entry(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer view;
    Py_ssize_t offset, limit;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &offset, &limit))
        return NULL;
    PyObject *result = NULL, *base = NULL, *data = NULL;
    const unsigned char *buf = view.buf;
    if (limit > view.len)
        limit = view.len;
    if (offset < 0 || offset >= limit) {
        PyErr_SetString(PyExc_ValueError, "truncated entry header");
        goto done;
    }
    Py_ssize_t p = offset;
    unsigned char byte = buf[p++];
    int type = (byte >> 4) & 7;
    unsigned long long size = byte & 0x0f;
    int shift = 4;
    while (byte & 0x80) {
        if (p >= limit || shift > 56) {
            PyErr_SetString(PyExc_ValueError, "truncated entry header");
            goto done;
        }
        byte = buf[p++];
        size |= (unsigned long long)(byte & 0x7f) << shift;
        shift += 7;
    }
    if (type == 6) {
        if (p >= limit) {
            PyErr_SetString(PyExc_ValueError, "truncated entry header");
            goto done;
        }
        byte = buf[p++];
        unsigned long long distance = byte & 0x7f;
        while (byte & 0x80) {
            if (p >= limit || distance > (ULLONG_MAX >> 8)) {
                PyErr_SetString(PyExc_ValueError, "truncated entry header");
                goto done;
            }
            byte = buf[p++];
            distance = ((distance + 1) << 7) | (byte & 0x7f);
        }
        base = PyLong_FromUnsignedLongLong(distance);
    } else if (type == 7) {
        if (limit - p < 20) {
            PyErr_SetString(PyExc_ValueError, "truncated entry header");
            goto done;
        }
        base = PyBytes_FromStringAndSize((const char *)buf + p, 20);
        p += 20;
    } else if (type >= 1 && type <= 4) {
        base = Py_NewRef(Py_None);
    } else {
        PyErr_Format(PyExc_ValueError, "bad entry type %d", type);
        goto done;
    }
    if (!base)
        goto done;
    if (size > (unsigned long long)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_ValueError, "entry size out of range");
        goto done;
    }
    data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (!data)
        goto done;

    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        PyErr_SetString(PyExc_MemoryError, "zlib could not start");
        goto done;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t in_pos = p, out_pos = 0;
    int status = Z_OK;
    while (status == Z_OK) {
        Py_ssize_t in_left = limit - in_pos, out_left = (Py_ssize_t)size - out_pos;
        z.next_in = (Bytef *)(buf + in_pos);
        z.avail_in = (uInt)(in_left > UINT_MAX ? UINT_MAX : in_left);
        z.next_out = out + out_pos;
        /* one spare byte of room would be needed to see data beyond `size`: zlib reports that as
           Z_BUF_ERROR with no room left, which is treated below as a size mismatch */
        z.avail_out = (uInt)(out_left > UINT_MAX ? UINT_MAX : out_left);
        uInt given_in = z.avail_in, given_out = z.avail_out;
        status = inflate(&z, Z_NO_FLUSH);
        in_pos += given_in - z.avail_in;
        out_pos += given_out - z.avail_out;
        if (status == Z_BUF_ERROR && (given_in - z.avail_in || given_out - z.avail_out))
            status = Z_OK; /* progress was made; zlib wants another round */
    }
    inflateEnd(&z);
    if (status != Z_STREAM_END) {
        if (status == Z_BUF_ERROR && out_pos == (Py_ssize_t)size && in_pos < limit)
            PyErr_Format(PyExc_ValueError, "entry at %zd inflates to more than its header says", offset);
        else if (status == Z_BUF_ERROR)
            PyErr_SetString(PyExc_ValueError, "truncated pack");
        else
            PyErr_Format(PyExc_ValueError, "corrupt compressed data at %zd", p);
        goto done;
    }
    if (out_pos != (Py_ssize_t)size) {
        PyErr_Format(PyExc_ValueError, "entry at %zd inflates to %zd bytes, header says %llu", p, out_pos, size);
        goto done;
    }
    result = Py_BuildValue("(iKOOn)", type, size, base, data, in_pos);

done:
    Py_XDECREF(base);
    Py_XDECREF(data);
    PyBuffer_Release(&view);
    return result;
}

/* One side of a differing entry: whether it is a tree, and its oid (borrowed), or neither. */
static int entry_side(PyObject *entry, int *is_tree, PyObject **oid)
{
    *is_tree = 0;
    *oid = NULL;
    if (!entry)
        return 0;
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
        PyErr_SetString(PyExc_TypeError, "tree entries must be (mode, oid) tuples");
        return -1;
    }
    long mode = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
    if (mode == -1 && PyErr_Occurred())
        return -1;
    *is_tree = (mode & 0170000) == TREE;
    *oid = PyTuple_GET_ITEM(entry, 1);
    return 0;
}

/* Handle one name whose entries differ: a file path is reported, a subtree is queued. */
static int differing(PyObject *name, PyObject *before, PyObject *after, PyObject *prefix,
                     PyObject *paths, PyObject *pending)
{
    int a_tree, b_tree;
    PyObject *a_oid, *b_oid;
    if (entry_side(before, &a_tree, &a_oid) < 0 || entry_side(after, &b_tree, &b_oid) < 0)
        return -1;
    Py_ssize_t plen = PyBytes_GET_SIZE(prefix), nlen = PyBytes_GET_SIZE(name);
    if (a_tree || b_tree) {
        PyObject *sub = PyBytes_FromStringAndSize(NULL, plen + nlen + 1);
        if (!sub)
            return -1;
        char *buf = PyBytes_AS_STRING(sub);
        memcpy(buf, PyBytes_AS_STRING(prefix), (size_t)plen);
        memcpy(buf + plen, PyBytes_AS_STRING(name), (size_t)nlen);
        buf[plen + nlen] = '/';
        PyObject *item = PyTuple_Pack(3, a_tree ? a_oid : Py_None, b_tree ? b_oid : Py_None, sub);
        Py_DECREF(sub);
        if (!item || PyList_Append(pending, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
    }
    if ((before && !a_tree) || (after && !b_tree)) {
        PyObject *path = PyBytes_FromStringAndSize(NULL, plen + nlen);
        if (!path)
            return -1;
        memcpy(PyBytes_AS_STRING(path), PyBytes_AS_STRING(prefix), (size_t)plen);
        memcpy(PyBytes_AS_STRING(path) + plen, PyBytes_AS_STRING(name), (size_t)nlen);
        int failed = PyList_Append(paths, path) < 0;
        Py_DECREF(path);
        if (failed)
            return -1;
    }
    return 0;
}

static PyObject *entries_or_empty(PyObject *entries_of, PyObject *oid)
{
    if (oid == Py_None)
        return PyDict_New();
    PyObject *entries = PyObject_CallOneArg(entries_of, oid);
    if (entries && !PyDict_Check(entries)) {
        Py_DECREF(entries);
        PyErr_SetString(PyExc_TypeError, "entries_of must return a dict");
        return NULL;
    }
    return entries;
}

/* changed_paths(entries_of, old, new) -> [path]: as repos/store/trees.py:changed_paths_py. */
static PyObject *changed_paths(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *entries_of, *old, *new;
    if (!PyArg_ParseTuple(args, "OOO", &entries_of, &old, &new))
        return NULL;
    PyObject *paths = PyList_New(0), *pending = PyList_New(0), *empty = PyBytes_FromStringAndSize("", 0);
    PyObject *start = (paths && pending && empty) ? PyTuple_Pack(3, old, new, empty) : NULL;
    Py_XDECREF(empty);
    if (!start || PyList_Append(pending, start) < 0)
        goto fail;
    Py_CLEAR(start);
    while (PyList_GET_SIZE(pending)) {
        Py_ssize_t last = PyList_GET_SIZE(pending) - 1;
        PyObject *item = PyList_GET_ITEM(pending, last);
        Py_INCREF(item);
        if (PyList_SetSlice(pending, last, last + 1, NULL) < 0) {
            Py_DECREF(item);
            goto fail;
        }
        PyObject *o = PyTuple_GET_ITEM(item, 0), *n = PyTuple_GET_ITEM(item, 1);
        PyObject *prefix = PyTuple_GET_ITEM(item, 2);
        int same = PyObject_RichCompareBool(o, n, Py_EQ);
        if (same != 0) {
            Py_DECREF(item);
            if (same < 0)
                goto fail;
            continue;
        }
        PyObject *oe = entries_or_empty(entries_of, o);
        PyObject *ne = oe ? entries_or_empty(entries_of, n) : NULL;
        int ok = ne != NULL;
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (ok && PyDict_Next(ne, &pos, &key, &value)) {
            PyObject *before = PyDict_GetItemWithError(oe, key);
            if (!before && PyErr_Occurred()) {
                ok = 0;
                break;
            }
            int eq = before ? PyObject_RichCompareBool(value, before, Py_EQ) : 0;
            if (eq < 0 || (!eq && differing(key, before, value, prefix, paths, pending) < 0))
                ok = 0;
        }
        pos = 0;
        while (ok && PyDict_Next(oe, &pos, &key, &value)) {
            int kept = PyDict_Contains(ne, key);
            if (kept < 0 || (!kept && differing(key, value, NULL, prefix, paths, pending) < 0))
                ok = 0;
        }
        Py_XDECREF(oe);
        Py_XDECREF(ne);
        Py_DECREF(item);
        if (!ok)
            goto fail;
    }
    Py_DECREF(pending);
    return paths;
fail:
    Py_XDECREF(start);
    Py_XDECREF(paths);
    Py_XDECREF(pending);
    return NULL;
}

static PyMethodDef methods[] = {
    {"changed_paths", changed_paths, METH_VARARGS, "changed_paths(entries_of, old, new) -> [path]"},
    {"read_entry", read_entry, METH_VARARGS, "read_entry(buf, offset, limit) -> (type, size, base, data, end)"},
    {"check_tree", check_tree, METH_O, "check_tree(raw) -> (mapping, children); see trees.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
