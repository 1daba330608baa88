/* Native hot loops of kafkaio: the record decoder and encoder of v2 batches, and the
 * producer's per-record bookkeeping around the encoder (append_tracked*, complete_entries);
 * the producer's send fast path and record futures are in _native_producer.c (included).
 *
 * Each function is a drop-in for Python code in kafkaio/records/v2.py or
 * kafkaio/producer/accumulator.py (the reference): same arguments, same results, same
 * exception classes and messages. The Python side picks this module up unless
 * KAFKAIO_NO_EXTENSIONS is set; tests/unit/records/test_records_native.py and the producer's
 * unit tests run both on the same inputs.
 *
 * Bounds: every read is checked against the buffer's length before it happens (an
 * IndexError, as the Python reference raises for data[pos] past the end), every slice
 * against the end of its record.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define MIN_RECORD_BYTES 7
#define N_ROW_ARGS 11

/* -- RowType: builds objects of a slotted class without running __init__ ------------------ */

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;
    /* Byte offset inside the instance of the slot receiving row argument i; -1 drops it. */
    Py_ssize_t offsets[N_ROW_ARGS];
    vectorcallfunc vectorcall;
    int untrack; /* leave built objects out of the cyclic GC (they hold only plain values) */
} RowTypeObject;

static PyObject *RowType_vectorcall(PyObject *, PyObject *const *, size_t, PyObject *);

static PyTypeObject RowType_Type;

static void
RowType_dealloc(RowTypeObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->cls);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
RowType_traverse(RowTypeObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    return 0;
}

static int
RowType_clear(RowTypeObject *self)
{
    Py_CLEAR(self->cls);
    return 0;
}

static PyObject *
RowType_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cls", "fields", "untrack", NULL};
    PyObject *cls, *fields;
    int untrack = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|$p:RowType", kwlist, &cls, &fields,
                                     &untrack))
        return NULL;
    if (!PyType_Check(cls)) {
        PyErr_Format(PyExc_TypeError, "RowType needs a class, got %R", cls);
        return NULL;
    }
    PyTypeObject *tp = (PyTypeObject *)cls;
    if (tp->tp_alloc == NULL || (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) == 0) {
        PyErr_Format(PyExc_TypeError, "RowType needs a class defined in Python, got %R", cls);
        return NULL;
    }
    PyObject *seq = PySequence_Fast(fields, "RowType fields must be a sequence");
    if (seq == NULL)
        return NULL;
    if (PySequence_Fast_GET_SIZE(seq) != N_ROW_ARGS) {
        PyErr_Format(PyExc_ValueError, "RowType needs %d field names (or None), got %zd",
                     N_ROW_ARGS, PySequence_Fast_GET_SIZE(seq));
        Py_DECREF(seq);
        return NULL;
    }
    RowTypeObject *self = (RowTypeObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < N_ROW_ARGS; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i);
        if (name == Py_None) {
            self->offsets[i] = -1;
            continue;
        }
        if (!PyUnicode_Check(name)) {
            PyErr_Format(PyExc_TypeError, "RowType field names must be str or None, got %R", name);
            goto fail;
        }
        PyObject *descr = PyObject_GetAttr(cls, name);
        if (descr == NULL)
            goto fail;
        /* Only a plain object slot of this class (or a base) may be written directly. */
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                 && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
                 && ((PyMemberDescrObject *)descr)->d_member->flags == 0
                 && PyType_IsSubtype(tp, ((PyDescrObject *)descr)->d_type);
        if (ok)
            self->offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "%R.%U is not a writable __slots__ attribute", cls, name);
            goto fail;
        }
    }
    Py_DECREF(seq);
    Py_INCREF(cls);
    self->cls = tp;
    self->vectorcall = RowType_vectorcall;
    self->untrack = untrack;
    return (PyObject *)self;
fail:
    Py_DECREF(seq);
    Py_DECREF(self);
    return NULL;
}

/* Steals nothing: every argument is borrowed and INCREF'd into its slot. */
static PyObject *
row_build(RowTypeObject *rt, PyObject *const *args)
{
    PyObject *obj = rt->cls->tp_alloc(rt->cls, 0);
    if (obj == NULL)
        return NULL;
    for (int i = 0; i < N_ROW_ARGS; i++) {
        Py_ssize_t off = rt->offsets[i];
        if (off >= 0) {
            PyObject **slot = (PyObject **)((char *)obj + off);
            PyObject *old = *slot;
            Py_INCREF(args[i]);
            *slot = args[i];
            Py_XDECREF(old);
        }
    }
    /* Millions of records per second otherwise make the collector's passes the consumer's
     * main cost; objects of plain values cannot be part of a cycle. */
    if (rt->untrack && PyObject_GC_IsTracked(obj))
        PyObject_GC_UnTrack(obj);
    return obj;
}

static PyObject *
RowType_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != N_ROW_ARGS || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_Format(PyExc_TypeError, "a row takes exactly %d positional arguments (%zd given)",
                     N_ROW_ARGS, nargs);
        return NULL;
    }
    return row_build((RowTypeObject *)self, args);
}

static PyObject *
RowType_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    return PyVectorcall_Call(self, args, kwds);
}

static PyObject *
RowType_get_cls(RowTypeObject *self, void *closure)
{
    return Py_NewRef((PyObject *)self->cls);
}

static PyGetSetDef RowType_getset[] = {
    {"cls", (getter)RowType_get_cls, NULL, "The class whose instances this builds.", NULL},
    {NULL},
};

/* -- varints ----------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len; /* reads past this raise IndexError, as data[pos] does in Python */
} Input;

static int
err_index(void)
{
    PyErr_SetString(PyExc_IndexError, "index out of range");
    return -1;
}

/* Unsigned LEB128 of at most max_bytes bytes; the value must fit 64 bits. */
static int
read_uvarint(const Input *in, Py_ssize_t *pos, int max_bytes, uint64_t *out)
{
    Py_ssize_t p = *pos;
    if (p >= in->len)
        return err_index();
    unsigned char b = in->buf[p];
    if (b < 0x80) {
        *out = b;
        *pos = p + 1;
        return 0;
    }
    uint64_t result = 0;
    int shift = 0;
    for (int i = 0;; i++) {
        if (i >= max_bytes) {
            PyErr_Format(PyExc_ValueError, "varint longer than %d bytes", max_bytes);
            return -1;
        }
        if (p >= in->len)
            return err_index();
        b = in->buf[p++];
        if (shift == 63 && (b & 0x7E)) {
            PyErr_SetString(PyExc_ValueError, "varint exceeds 64 bits");
            return -1;
        }
        result |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80)
            break;
        shift += 7;
    }
    *out = result;
    *pos = p;
    return 0;
}

static inline int64_t
unzigzag(uint64_t n)
{
    return (int64_t)(n >> 1) ^ -(int64_t)(n & 1);
}

/* base + delta as a Python int, without overflowing int64. */
static PyObject *
add_int64(int64_t base, int64_t delta)
{
    int64_t sum;
    if (!__builtin_add_overflow(base, delta, &sum))
        return PyLong_FromLongLong(sum);
    PyObject *a = PyLong_FromLongLong(base);
    PyObject *b = PyLong_FromLongLong(delta);
    PyObject *r = (a && b) ? PyNumber_Add(a, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    return r;
}

/* -- decode_rows ------------------------------------------------------------------------- */

/* Python floor division, for the count check message parity. */
static Py_ssize_t
floor_div(Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return q;
}

static PyObject *
decode_headers(const Input *in, Py_ssize_t *pos, Py_ssize_t rec_end, uint64_t n)
{
    int64_t hcount = unzigzag(n);
    if (hcount < 0 || hcount * 2 > rec_end - *pos) {
        PyErr_Format(PyExc_ValueError, "header count %lld does not fit in its record",
                     (long long)hcount);
        return NULL;
    }
    PyObject *headers = PyTuple_New((Py_ssize_t)hcount);
    if (headers == NULL)
        return NULL;
    for (Py_ssize_t h = 0; h < (Py_ssize_t)hcount; h++) {
        uint64_t raw;
        if (read_uvarint(in, pos, 5, &raw) < 0)
            goto fail;
        int64_t size = unzigzag(raw);
        if (size < 0 || *pos + size > rec_end) {
            PyErr_Format(PyExc_ValueError, "invalid header key length %lld", (long long)size);
            goto fail;
        }
        PyObject *hkey = PyUnicode_DecodeUTF8((const char *)in->buf + *pos, (Py_ssize_t)size,
                                              NULL);
        if (hkey == NULL)
            goto fail;
        *pos += (Py_ssize_t)size;
        if (read_uvarint(in, pos, 5, &raw) < 0) {
            Py_DECREF(hkey);
            goto fail;
        }
        size = unzigzag(raw);
        PyObject *hvalue;
        if (size < 0) {
            hvalue = Py_NewRef(Py_None);
        }
        else {
            if (*pos + size > rec_end) {
                Py_DECREF(hkey);
                PyErr_Format(PyExc_ValueError, "header value of %lld bytes exceeds its record",
                             (long long)size);
                goto fail;
            }
            hvalue = PyBytes_FromStringAndSize((const char *)in->buf + *pos, (Py_ssize_t)size);
            if (hvalue == NULL) {
                Py_DECREF(hkey);
                goto fail;
            }
            *pos += (Py_ssize_t)size;
        }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(hkey);
            Py_DECREF(hvalue);
            goto fail;
        }
        PyTuple_SET_ITEM(pair, 0, hkey);
        PyTuple_SET_ITEM(pair, 1, hvalue);
        PyObject_GC_UnTrack(pair); /* str and bytes only: as the collector would conclude */
        PyTuple_SET_ITEM(headers, h, pair);
    }
    PyObject_GC_UnTrack(headers);
    return headers;
fail:
    Py_DECREF(headers);
    return NULL;
}

/* A key or a value: NULL on error, None for a negative length. */
static PyObject *
read_blob(const Input *in, Py_ssize_t *pos, Py_ssize_t rec_end, const char *what,
          Py_ssize_t *size_out)
{
    uint64_t n;
    if (read_uvarint(in, pos, 5, &n) < 0)
        return NULL;
    if (n & 1) { /* negative length: null (Kafka writes -1) */
        *size_out = -1;
        Py_RETURN_NONE;
    }
    Py_ssize_t size = (Py_ssize_t)(n >> 1);
    if (*pos + size > rec_end) {
        PyErr_Format(PyExc_ValueError, "record %s of %zd bytes exceeds its record", what, size);
        return NULL;
    }
    PyObject *blob = PyBytes_FromStringAndSize((const char *)in->buf + *pos, size);
    if (blob == NULL)
        return NULL;
    *pos += size;
    *size_out = size;
    return blob;
}

static PyObject *
decode_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 12) {
        PyErr_Format(PyExc_TypeError, "decode_rows() takes 12 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *data = args[0];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    Py_ssize_t count = PyLong_AsSsize_t(args[3]);
    int64_t base_offset = PyLong_AsLongLong(args[4]);
    int64_t base_timestamp = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *timestamp_type = args[6];
    PyObject *log_append_time = args[7];
    PyObject *make = args[8];
    PyObject *topic = args[9];
    PyObject *partition = args[10];
    PyObject *leader_epoch = args[11];

    /* LOG_APPEND_TIME: every record gets the batch's time (the deltas are ignored). */
    int log_append = log_append_time != Py_None;
    if (log_append) {
        base_timestamp = PyLong_AsLongLong(log_append_time);
        if (base_timestamp == -1 && PyErr_Occurred())
            return NULL;
    }
    Py_ssize_t avail = end - pos;
    if (count < 0 || count > floor_div(avail, MIN_RECORD_BYTES)) {
        PyErr_Format(PyExc_ValueError, "record count %zd does not fit in %zd bytes", count, avail);
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (pos < 0 || end > view.len) {
        /* Slices are checked against the record's end only: keep that end inside the buffer. */
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_IndexError, "index out of range");
        return NULL;
    }
    Input in = {(const unsigned char *)view.buf, view.len};
    RowTypeObject *row = Py_IS_TYPE(make, &RowType_Type) ? (RowTypeObject *)make : NULL;
    PyObject *out = PyList_New(count);
    if (out == NULL)
        goto error;
    PyObject *shared_ts = log_append ? PyLong_FromLongLong(base_timestamp) : NULL;
    if (log_append && shared_ts == NULL)
        goto error;

    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t n;
        if (read_uvarint(&in, &pos, 5, &n) < 0)
            goto error_ts;
        int64_t length = unzigzag(n);
        Py_ssize_t rec_end = pos + (Py_ssize_t)length;
        if (length < MIN_RECORD_BYTES - 1 || rec_end > end) {
            PyErr_Format(PyExc_ValueError, "record length %lld exceeds the %zd bytes left",
                         (long long)length, end - pos);
            goto error_ts;
        }
        pos += 1; /* attributes */
        if (read_uvarint(&in, &pos, 10, &n) < 0)
            goto error_ts;
        int64_t ts_delta = unzigzag(n);
        if (read_uvarint(&in, &pos, 5, &n) < 0)
            goto error_ts;
        int64_t offset_delta = unzigzag(n);
        Py_ssize_t key_size, value_size;
        PyObject *key = read_blob(&in, &pos, rec_end, "key", &key_size);
        if (key == NULL)
            goto error_ts;
        PyObject *value = read_blob(&in, &pos, rec_end, "value", &value_size);
        if (value == NULL) {
            Py_DECREF(key);
            goto error_ts;
        }
        PyObject *headers;
        if (read_uvarint(&in, &pos, 5, &n) < 0) {
            headers = NULL;
        }
        else if (n == 0) {
            headers = PyTuple_New(0);
        }
        else {
            headers = decode_headers(&in, &pos, rec_end, n);
        }
        if (headers == NULL) {
            Py_DECREF(key);
            Py_DECREF(value);
            goto error_ts;
        }
        if (pos != rec_end) {
            PyErr_Format(PyExc_ValueError,
                         "record length mismatch: %zd bytes unaccounted for", rec_end - pos);
            Py_DECREF(key);
            Py_DECREF(value);
            Py_DECREF(headers);
            goto error_ts;
        }
        PyObject *offset = add_int64(base_offset, offset_delta);
        PyObject *timestamp = log_append ? Py_NewRef(shared_ts) : add_int64(base_timestamp, ts_delta);
        PyObject *ksize = PyLong_FromSsize_t(key_size);
        PyObject *vsize = PyLong_FromSsize_t(value_size);
        PyObject *item = NULL;
        if (offset && timestamp && ksize && vsize) {
            PyObject *row_args[N_ROW_ARGS] = {
                topic, partition, offset, timestamp, timestamp_type, key, value, headers,
                leader_epoch, ksize, vsize,
            };
            item = row != NULL ? row_build(row, row_args)
                               : PyObject_Vectorcall(make, row_args, N_ROW_ARGS, NULL);
        }
        Py_XDECREF(offset);
        Py_XDECREF(timestamp);
        Py_XDECREF(ksize);
        Py_XDECREF(vsize);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_DECREF(headers);
        if (item == NULL)
            goto error_ts;
        PyList_SET_ITEM(out, i, item);
    }
    if (pos != end) {
        PyErr_Format(PyExc_ValueError, "%zd bytes left after the last of %zd records", end - pos,
                     count);
        goto error_ts;
    }
    Py_XDECREF(shared_ts);
    PyBuffer_Release(&view);
    return out;

error_ts:
    Py_XDECREF(shared_ts);
error:
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

/* -- append_record ----------------------------------------------------------------------- */

static inline Py_ssize_t
uvarint_size(uint64_t v)
{
    Py_ssize_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline unsigned char *
put_uvarint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static inline uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int
get_blob(PyObject *obj, Py_buffer *view, int *present, const char *what)
{
    if (obj == Py_None) {
        *present = 0;
        return 0;
    }
    if (!PyObject_CheckBuffer(obj) || PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "record %s must be bytes or None, got %s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    *present = 1;
    return 0;
}

/* Encodes one record (length prefix included) at the end of the bytearray ``buf``: returns
 * the bytes it took, -1 (nothing appended) when that exceeds ``room``, -2 with an exception
 * set for values that cannot be encoded. ``ksize``/``vsize`` get the key and value sizes
 * (-1 for null). */
/* Resize ``buf`` to ``new_len``. When the batch's byte limit is known (``room`` bytes left
 * after the current end), the first growth reserves all of it at once: bytearray's own
 * growth (by an eighth) would copy a 128 KiB batch about eight times over while it fills.
 * The reservation is kept by shrinking the size only, as bytearray itself does for minor
 * downsizes. */
static int
grow_bytearray(PyObject *buf, Py_ssize_t new_len, Py_ssize_t room)
{
    PyByteArrayObject *ba = (PyByteArrayObject *)buf;
    Py_ssize_t old_len = PyByteArray_GET_SIZE(buf);
    if (new_len + 1 <= ba->ob_alloc || room == PY_SSIZE_T_MAX || room > (64 << 20)
        || old_len + room <= new_len || ba->ob_exports > 0 || ba->ob_start != ba->ob_bytes)
        return PyByteArray_Resize(buf, new_len);
    if (PyByteArray_Resize(buf, old_len + room) < 0)
        return -1;
    Py_SET_SIZE(buf, new_len);
    ba->ob_start[new_len] = '\0';
    return 0;
}

static Py_ssize_t
encode_into(PyObject *buf, long long offset_delta, long long ts_delta, PyObject *key_obj,
            PyObject *value_obj, PyObject *headers, Py_ssize_t room, Py_ssize_t *ksize,
            Py_ssize_t *vsize)
{
    Py_buffer key = {0}, value = {0};
    int has_key = 0, has_value = 0;
    PyObject *hseq = NULL;
    Py_ssize_t result = -2;
    /* Header keys as UTF-8 and header values as buffers, collected before sizing. */
    Py_ssize_t nh = 0;
    const char **hkeys = NULL;
    Py_ssize_t *hkey_lens = NULL;
    Py_buffer *hvalues = NULL;
    Py_ssize_t hvalues_got = 0;

    if (get_blob(key_obj, &key, &has_key, "key") < 0)
        goto done;
    if (get_blob(value_obj, &value, &has_value, "value") < 0)
        goto done;

    uint64_t z_ts = zigzag((int64_t)ts_delta);
    uint64_t z_off = zigzag((int64_t)offset_delta);
    Py_ssize_t body = 1 + uvarint_size(z_ts) + uvarint_size(z_off);
    body += has_key ? uvarint_size(zigzag(key.len)) + key.len : 1;
    body += has_value ? uvarint_size(zigzag(value.len)) + value.len : 1;

    if (headers != Py_None) {
        hseq = PySequence_Fast(headers, "record headers must be a sequence");
        if (hseq == NULL)
            goto done;
        nh = PySequence_Fast_GET_SIZE(hseq);
    }
    body += uvarint_size(zigzag(nh));
    if (nh > 0) {
        hkeys = PyMem_Calloc((size_t)nh, sizeof(char *));
        hkey_lens = PyMem_Calloc((size_t)nh, sizeof(Py_ssize_t));
        hvalues = PyMem_Calloc((size_t)nh, sizeof(Py_buffer));
        if (hkeys == NULL || hkey_lens == NULL || hvalues == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t h = 0; h < nh; h++) {
            PyObject *item = PySequence_Fast_GET_ITEM(hseq, h);
            if (!(PyTuple_Check(item) || PyList_Check(item))
                || PySequence_Fast_GET_SIZE(item) != 2) {
                PyErr_Format(PyExc_TypeError,
                             "record header must be a (str, bytes | None) pair, got %R", item);
                goto done;
            }
            PyObject *hk = PySequence_Fast_GET_ITEM(item, 0);
            PyObject *hv = PySequence_Fast_GET_ITEM(item, 1);
            if (!PyUnicode_Check(hk)) {
                PyErr_Format(PyExc_TypeError, "record header key must be str, got %s",
                             Py_TYPE(hk)->tp_name);
                goto done;
            }
            /* The UTF-8 form is cached on the str object, which hseq keeps alive. */
            hkeys[h] = PyUnicode_AsUTF8AndSize(hk, &hkey_lens[h]);
            if (hkeys[h] == NULL)
                goto done;
            body += uvarint_size(zigzag(hkey_lens[h])) + hkey_lens[h];
            if (hv == Py_None) {
                body += 1;
            }
            else {
                if (!PyObject_CheckBuffer(hv) || PyUnicode_Check(hv)) {
                    PyErr_Format(PyExc_TypeError,
                                 "record header %R value must be bytes or None, got %s", hk,
                                 Py_TYPE(hv)->tp_name);
                    goto done;
                }
                if (PyObject_GetBuffer(hv, &hvalues[h], PyBUF_SIMPLE) < 0)
                    goto done;
                hvalues_got = h + 1;
                body += uvarint_size(zigzag(hvalues[h].len)) + hvalues[h].len;
            }
        }
    }
    Py_ssize_t total = uvarint_size(zigzag(body)) + body;
    if (total > room) {
        result = -1;
        goto done;
    }
    Py_ssize_t old_len = PyByteArray_GET_SIZE(buf);
    if (grow_bytearray(buf, old_len + total, room) < 0)
        goto done;
    unsigned char *p = (unsigned char *)PyByteArray_AS_STRING(buf) + old_len;
    p = put_uvarint(p, zigzag(body));
    *p++ = 0; /* attributes: unused */
    p = put_uvarint(p, z_ts);
    p = put_uvarint(p, z_off);
    if (has_key) {
        p = put_uvarint(p, zigzag(key.len));
        memcpy(p, key.buf, (size_t)key.len);
        p += key.len;
    }
    else {
        *p++ = 1;
    }
    if (has_value) {
        p = put_uvarint(p, zigzag(value.len));
        memcpy(p, value.buf, (size_t)value.len);
        p += value.len;
    }
    else {
        *p++ = 1;
    }
    p = put_uvarint(p, zigzag(nh));
    for (Py_ssize_t h = 0; h < nh; h++) {
        p = put_uvarint(p, zigzag(hkey_lens[h]));
        memcpy(p, hkeys[h], (size_t)hkey_lens[h]);
        p += hkey_lens[h];
        if (hvalues[h].obj == NULL) {
            *p++ = 1;
        }
        else {
            p = put_uvarint(p, zigzag(hvalues[h].len));
            memcpy(p, hvalues[h].buf, (size_t)hvalues[h].len);
            p += hvalues[h].len;
        }
    }
    *ksize = has_key ? key.len : -1;
    *vsize = has_value ? value.len : -1;
    result = total;

done:
    if (has_key)
        PyBuffer_Release(&key);
    if (has_value)
        PyBuffer_Release(&value);
    for (Py_ssize_t h = 0; h < hvalues_got; h++) {
        if (hvalues[h].obj != NULL)
            PyBuffer_Release(&hvalues[h]);
    }
    PyMem_Free(hkeys);
    PyMem_Free(hkey_lens);
    PyMem_Free(hvalues);
    Py_XDECREF(hseq);
    return result;
}


/* append_record(buf, offset_delta, timestamp_delta, key, value, headers, room) -> int
 *
 * Appends one record (length prefix included) to the bytearray ``buf`` and returns the bytes
 * it took; when that would exceed ``room`` (sys.maxsize for no limit; negative once the batch
 * is past its limit), appends nothing and returns -1. Raises TypeError/ValueError for values
 * that cannot be encoded, like the Python builder's encoder.
 */
static PyObject *
append_record(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "append_record() takes 7 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *buf = args[0];
    if (!PyByteArray_CheckExact(buf)) {
        PyErr_SetString(PyExc_TypeError, "append_record() needs a bytearray");
        return NULL;
    }
    int overflow = 0;
    long long offset_delta = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (offset_delta == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || offset_delta < 0 || offset_delta > 0x7FFFFFFF) {
        PyErr_Format(PyExc_ValueError, "offset delta out of range: %R", args[1]);
        return NULL;
    }
    long long ts_delta = PyLong_AsLongLongAndOverflow(args[2], &overflow);
    if (ts_delta == -1 && PyErr_Occurred())
        return NULL;
    if (overflow) {
        PyErr_Format(PyExc_ValueError, "timestamp delta out of int64 range: %R", args[2]);
        return NULL;
    }
    Py_ssize_t room = PyLong_AsSsize_t(args[6]);
    if (room == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t ksize, vsize;
    Py_ssize_t total = encode_into(buf, offset_delta, ts_delta, args[3], args[4], args[5], room,
                                   &ksize, &vsize);
    if (total == -2)
        return NULL;
    return PyLong_FromSsize_t(total);
}

/* -- BuilderCore: the per-record state of RecordBatchBuilder, readable from C ------------- */

/* The Python RecordBatchBuilder subclasses this type when the extension is in use; these
 * fields are its attributes of the same names (as __slots__ would be), so the Python code is
 * the same either way and append_tracked() can update them without attribute lookups. */
typedef struct {
    PyObject_HEAD
    PyObject *buf;               /* _buf: bytearray of the records so far (header reserved) */
    PyObject *count;             /* _count */
    PyObject *last_offset_delta; /* _last_offset_delta */
    PyObject *base_timestamp;    /* _base_timestamp: None until the first record */
    PyObject *max_timestamp;     /* _max_timestamp */
    PyObject *max_bytes;         /* _max_bytes */
    PyObject *built;             /* _built: None until build() */
    PyObject *delete_horizon_ms; /* _delete_horizon_ms */
} CoreObject;

static int
Core_traverse(CoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->buf);
    Py_VISIT(self->count);
    Py_VISIT(self->last_offset_delta);
    Py_VISIT(self->base_timestamp);
    Py_VISIT(self->max_timestamp);
    Py_VISIT(self->max_bytes);
    Py_VISIT(self->built);
    Py_VISIT(self->delete_horizon_ms);
    return 0;
}

static int
Core_clear(CoreObject *self)
{
    Py_CLEAR(self->buf);
    Py_CLEAR(self->count);
    Py_CLEAR(self->last_offset_delta);
    Py_CLEAR(self->base_timestamp);
    Py_CLEAR(self->max_timestamp);
    Py_CLEAR(self->max_bytes);
    Py_CLEAR(self->built);
    Py_CLEAR(self->delete_horizon_ms);
    return 0;
}

static void
Core_dealloc(CoreObject *self)
{
    PyObject_GC_UnTrack(self);
    Core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef Core_members[] = {
    {"_buf", T_OBJECT_EX, offsetof(CoreObject, buf), 0, NULL},
    {"_count", T_OBJECT_EX, offsetof(CoreObject, count), 0, NULL},
    {"_last_offset_delta", T_OBJECT_EX, offsetof(CoreObject, last_offset_delta), 0, NULL},
    {"_base_timestamp", T_OBJECT_EX, offsetof(CoreObject, base_timestamp), 0, NULL},
    {"_max_timestamp", T_OBJECT_EX, offsetof(CoreObject, max_timestamp), 0, NULL},
    {"_max_bytes", T_OBJECT_EX, offsetof(CoreObject, max_bytes), 0, NULL},
    {"_built", T_OBJECT_EX, offsetof(CoreObject, built), 0, NULL},
    {"_delete_horizon_ms", T_OBJECT_EX, offsetof(CoreObject, delete_horizon_ms), 0, NULL},
    {NULL},
};

static PyTypeObject Core_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.BuilderCore",
    .tp_basicsize = sizeof(CoreObject),
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Per-record state of a record batch builder (base class of RecordBatchBuilder).",
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_members = Core_members,
    .tp_new = PyType_GenericNew,
};

static inline int
exact_int64(PyObject *obj, long long *out)
{
    if (obj == NULL || !PyLong_CheckExact(obj))
        return 0;
    int overflow = 0;
    *out = PyLong_AsLongLongAndOverflow(obj, &overflow);
    return !overflow && !(*out == -1 && PyErr_Occurred());
}

static inline void
set_field(PyObject **field, PyObject *value)
{
    PyObject *old = *field;
    *field = value;
    Py_XDECREF(old);
}

/* The slow path: append_sized() raises the precise error, or appends in the rare cases the
 * fast path leaves to Python. */
static Py_ssize_t
append_sized_py(PyObject *builder, PyObject *const *args)
{
    PyObject *res = PyObject_CallMethod(builder, "append_sized", "OOOO", args[1], args[2],
                                        args[3], args[4]);
    if (res == NULL)
        return -2;
    Py_ssize_t total = PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (total == -1 && PyErr_Occurred())
        return -2;
    return total;
}

/* One record through the fast path (or append_sized() for anything unusual), then its five
 * entries. Returns the bytes it took, -1 when the batch is full, -2 with an exception set. */
static Py_ssize_t
track_one(PyObject *builder, PyObject *ts_obj, PyObject *key, PyObject *value,
          PyObject *headers, PyObject *entries, PyObject *target, PyObject *index)
{
    CoreObject *b = (CoreObject *)builder;
    PyObject *py_args[5] = {builder, ts_obj, key, value, headers};
    long long ts, count, last_delta, max_bytes, max_ts, base_ts = 0;
    int has_base = b->base_timestamp != NULL && b->base_timestamp != Py_None;
    int fast = b->built == Py_None && b->buf != NULL && PyByteArray_CheckExact(b->buf)
               && exact_int64(ts_obj, &ts) && ts >= -1 && exact_int64(b->count, &count)
               && exact_int64(b->last_offset_delta, &last_delta)
               && exact_int64(b->max_bytes, &max_bytes) && exact_int64(b->max_timestamp, &max_ts)
               && (!has_base || exact_int64(b->base_timestamp, &base_ts))
               && b->base_timestamp != NULL && last_delta < 0x7FFFFFFF;
    if (PyErr_Occurred())
        return -2;
    Py_ssize_t total, ksize = -1, vsize = -1;
    long long ts_delta;
    if (!fast) {
        total = append_sized_py(builder, py_args);
    }
    else if (__builtin_sub_overflow(ts, has_base ? base_ts : ts, &ts_delta)) {
        total = append_sized_py(builder, py_args);
    }
    else {
        Py_ssize_t used = PyByteArray_GET_SIZE(b->buf);
        Py_ssize_t room = count ? (Py_ssize_t)(max_bytes - used) : PY_SSIZE_T_MAX;
        total = encode_into(b->buf, last_delta + 1, ts_delta, key, value, headers, room, &ksize,
                            &vsize);
        if (total == -2) {
            /* Let the reference raise its precise, value-naming error. */
            PyErr_Clear();
            total = append_sized_py(builder, py_args);
        }
        else if (total >= 0) {
            PyObject *n_count = PyLong_FromLongLong(count + 1);
            PyObject *n_delta = PyLong_FromLongLong(last_delta + 1);
            if (n_count == NULL || n_delta == NULL) {
                Py_XDECREF(n_count);
                Py_XDECREF(n_delta);
                return -2;
            }
            set_field(&b->count, n_count);
            set_field(&b->last_offset_delta, n_delta);
            if (!has_base)
                set_field(&b->base_timestamp, Py_NewRef(ts_obj));
            if (ts > max_ts)
                set_field(&b->max_timestamp, Py_NewRef(ts_obj));
        }
    }
    if (total < 0)
        return total;
    if (ksize == -1 && key != Py_None && (ksize = PyObject_Length(key)) < 0)
        return -2;
    if (vsize == -1 && value != Py_None && (vsize = PyObject_Length(value)) < 0)
        return -2;
    PyObject *row[5] = {target, index, ts_obj, PyLong_FromSsize_t(ksize),
                        PyLong_FromSsize_t(vsize)};
    int ok = row[3] != NULL && row[4] != NULL;
    for (int i = 0; ok && i < 5; i++)
        ok = PyList_Append(entries, row[i]) == 0;
    Py_XDECREF(row[3]);
    Py_XDECREF(row[4]);
    return ok ? total : -2;
}

/* append_tracked(builder, timestamp_ms, key, value, headers, entries, target, index) -> int
 *
 * RecordBatchBuilder.append_sized() followed, when the record went in, by
 * entries.extend((target, index, timestamp_ms, key size, value size)): the producer's
 * per-record call. Returns the bytes the record took, or -1 when the batch is full.
 */
static PyObject *
append_tracked(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_Format(PyExc_TypeError, "append_tracked() takes 8 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], &Core_Type) || !PyList_CheckExact(args[5])) {
        PyErr_SetString(PyExc_TypeError, "append_tracked() needs a builder and a list");
        return NULL;
    }
    Py_ssize_t total =
        track_one(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7]);
    return total == -2 ? NULL : PyLong_FromSsize_t(total);
}

/* append_tracked_many(builder, timestamp_ms, keys, values, headers, entries, target, start,
 *                     stop) -> int
 *
 * append_tracked() for values[i] (and keys[i], or no key when keys is None) with index i, for
 * i from start until stop or until the batch is full; returns where it stopped. The bulk call
 * of send_batch().
 */
static PyObject *
append_tracked_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_Format(PyExc_TypeError, "append_tracked_many() takes 9 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    PyObject *keys = args[2], *values = args[3];
    if (!PyObject_TypeCheck(args[0], &Core_Type) || !PyList_CheckExact(args[5])
        || !PyList_CheckExact(values) || (keys != Py_None && !PyList_CheckExact(keys))) {
        PyErr_SetString(PyExc_TypeError,
                        "append_tracked_many() needs a builder, lists of keys and values and "
                        "a list of entries");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[7]);
    Py_ssize_t stop = PyLong_AsSsize_t(args[8]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t i = start;
    for (; i < stop; i++) {
        /* Re-checked every time: a fallback to Python code could change the lists. */
        if (i >= PyList_GET_SIZE(values) || (keys != Py_None && i >= PyList_GET_SIZE(keys))) {
            PyErr_SetString(PyExc_IndexError, "append_tracked_many(): index past the lists");
            return NULL;
        }
        PyObject *value = PyList_GET_ITEM(values, i);
        PyObject *key = keys == Py_None ? Py_None : PyList_GET_ITEM(keys, i);
        Py_INCREF(value);
        Py_INCREF(key);
        PyObject *index = PyLong_FromSsize_t(i);
        Py_ssize_t total = index == NULL
                               ? -2
                               : track_one(args[0], args[1], key, value, args[4], args[5],
                                           args[6], index);
        Py_XDECREF(index);
        Py_DECREF(value);
        Py_DECREF(key);
        if (total == -2)
            return NULL;
        if (total == -1)
            break;
    }
    return PyLong_FromSsize_t(i);
}

#include "_native_producer.c"

/* -- complete_entries: resolve a produced batch's records ------------------------------- */

/* obj.name(arg): PyObject_CallMethod would unpack a tuple argument. */
static PyObject *
call_method_one(PyObject *obj, const char *name, PyObject *arg)
{
    PyObject *meth = PyObject_GetAttrString(obj, name);
    if (meth == NULL)
        return NULL;
    PyObject *res = PyObject_CallOneArg(meth, arg);
    Py_DECREF(meth);
    return res;
}

static PyObject *
call_method_none(PyObject *obj, const char *name)
{
    PyObject *meth = PyObject_GetAttrString(obj, name);
    if (meth == NULL)
        return NULL;
    PyObject *res = PyObject_CallNoArgs(meth);
    Py_DECREF(meth);
    return res;
}

static int
flush_group(PyObject *group, PyObject *results, Py_ssize_t done)
{
    /* group.remaining -= done; when it reaches 0, group.future.set_result(results). */
    PyObject *remaining = PyObject_GetAttrString(group, "remaining");
    if (remaining == NULL)
        return -1;
    Py_ssize_t left = PyLong_AsSsize_t(remaining);
    Py_DECREF(remaining);
    if (left == -1 && PyErr_Occurred())
        return -1;
    left -= done;
    PyObject *n_left = PyLong_FromSsize_t(left);
    if (n_left == NULL)
        return -1;
    int rc = PyObject_SetAttrString(group, "remaining", n_left);
    Py_DECREF(n_left);
    if (rc < 0 || left != 0)
        return rc;
    PyObject *future = PyObject_GetAttrString(group, "future");
    if (future == NULL)
        return -1;
    PyObject *is_done = call_method_none(future, "done");
    int ok = is_done != NULL;
    if (ok && !PyObject_IsTrue(is_done)) {
        PyObject *r = call_method_one(future, "set_result", results);
        ok = r != NULL;
        Py_XDECREF(r);
    }
    Py_XDECREF(is_done);
    Py_DECREF(future);
    return ok ? 0 : -1;
}

/* complete_entries(entries, metadata_cls, topic, partition, base_offset, log_append_time,
 *                  timestamp_type, log_start_offset) -> None
 *
 * ProducerBatch.complete()'s loop: one metadata tuple per record (the accumulator's flat
 * entries: target, index, timestamp, key size, value size), set on the record's future
 * (index -1) or stored in its send_batch GroupResult.
 */
static PyObject *
complete_entries(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_Format(PyExc_TypeError, "complete_entries() takes 8 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *entries = args[0];
    PyTypeObject *cls = (PyTypeObject *)args[1];
    if (!PyList_CheckExact(entries) || !PyType_Check(args[1])
        || !PyType_IsSubtype(cls, &PyTuple_Type) || PyList_GET_SIZE(entries) % 5 != 0) {
        PyErr_SetString(PyExc_TypeError, "complete_entries() needs entries and a tuple class");
        return NULL;
    }
    PyObject *topic = args[2], *partition = args[3], *ts_type = args[6], *log_start = args[7];
    long long base_offset = PyLong_AsLongLong(args[4]);
    long long log_append = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(entries) / 5;
    PyObject *group = NULL, *results = NULL; /* the current send_batch target and its list */
    Py_ssize_t group_done = 0;
    PyObject *md_batch = NULL; /* the shared part of the records' lazy metadata */
    for (Py_ssize_t i = 0; i < n; i++) {
        /* The list cannot change under us: no Python code runs before the flush below, and
         * the entries' owner holds it. Items are borrowed for the same reason. */
        PyObject *target = PyList_GET_ITEM(entries, 5 * i);
        Py_ssize_t index = PyLong_AsSsize_t(PyList_GET_ITEM(entries, 5 * i + 1));
        if (index == -1 && PyErr_Occurred())
            goto error;
        if (index < 0 && Py_IS_TYPE(target, &RecordFuture_Type)) {
            RecordFutureObject *rf = (RecordFutureObject *)target;
            if (rf->state != RF_PENDING)
                continue;
            if (md_batch == NULL
                && (md_batch = PyTuple_Pack(7, cls, topic, partition, args[4], args[5], ts_type,
                                            log_start)) == NULL)
                goto error;
            if (rf_finish_lazy(rf, md_batch, i, PyList_GET_ITEM(entries, 5 * i + 2),
                               PyList_GET_ITEM(entries, 5 * i + 3),
                               PyList_GET_ITEM(entries, 5 * i + 4)) < 0)
                goto error;
            continue;
        }
        PyObject *md = cls->tp_alloc(cls, 8);
        if (md == NULL)
            goto error;
        PyObject *offset = PyLong_FromLongLong(base_offset >= 0 ? base_offset + i : -1);
        if (offset == NULL) {
            Py_DECREF(md);
            goto error;
        }
        PyObject *ts = log_append >= 0 ? args[5] : PyList_GET_ITEM(entries, 5 * i + 2);
        PyObject *items[8] = {topic, partition, offset, ts, ts_type,
                              PyList_GET_ITEM(entries, 5 * i + 3),
                              PyList_GET_ITEM(entries, 5 * i + 4), log_start};
        for (int k = 0; k < 8; k++) {
            if (k != 2)
                Py_INCREF(items[k]);
            PyTuple_SET_ITEM(md, k, items[k]);
        }
        /* Strings, ints and an enum member cannot lead back to the tuple: left out of the
         * cyclic GC, as CPython itself concludes for such tuples, one pass later. */
        PyObject_GC_UnTrack(md);
        if (index < 0) {
            PyObject *is_done = call_method_none(target, "done");
            int ok = is_done != NULL;
            if (ok && !PyObject_IsTrue(is_done)) {
                PyObject *r = call_method_one(target, "set_result", md);
                ok = r != NULL;
                Py_XDECREF(r);
            }
            Py_XDECREF(is_done);
            Py_DECREF(md);
            if (!ok)
                goto error;
            continue;
        }
        if (target != group) {
            if (group != NULL && flush_group(group, results, group_done) < 0) {
                Py_DECREF(md);
                goto error;
            }
            Py_XDECREF(results);
            Py_XDECREF(group);
            results = PyObject_GetAttrString(target, "results");
            group = Py_NewRef(target);
            group_done = 0;
            if (results == NULL || !PyList_Check(results)) {
                if (results != NULL)
                    PyErr_SetString(PyExc_TypeError, "a GroupResult's results must be a list");
                Py_DECREF(md);
                goto error;
            }
        }
        if (PyList_SetItem(results, index, md) < 0) /* steals md */
            goto error;
        group_done++;
    }
    if (group != NULL && flush_group(group, results, group_done) < 0)
        goto error;
    Py_XDECREF(results);
    Py_XDECREF(group);
    Py_XDECREF(md_batch);
    Py_RETURN_NONE;
error:
    Py_XDECREF(results);
    Py_XDECREF(group);
    Py_XDECREF(md_batch);
    return NULL;
}

/* -- module ------------------------------------------------------------------------------ */

static PyTypeObject RowType_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.RowType",
    .tp_basicsize = sizeof(RowTypeObject),
    .tp_dealloc = (destructor)RowType_dealloc,
    .tp_vectorcall_offset = offsetof(RowTypeObject, vectorcall),
    .tp_call = RowType_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "RowType(cls, fields, *, untrack=False): builds instances of a __slots__ class "
              "from decoder rows.",
    .tp_traverse = (traverseproc)RowType_traverse,
    .tp_clear = (inquiry)RowType_clear,
    .tp_getset = RowType_getset,
    .tp_new = RowType_new,
};

static PyMethodDef native_methods[] = {
    {"decode_rows", (PyCFunction)(void (*)(void))decode_rows, METH_FASTCALL,
     "Decode the records of a v2 batch; see kafkaio.records.v2._decode_rows."},
    {"append_record", (PyCFunction)(void (*)(void))append_record, METH_FASTCALL,
     "Append one encoded record to a bytearray; see kafkaio.records.v2."},
    {"append_tracked", (PyCFunction)(void (*)(void))append_tracked, METH_FASTCALL,
     "RecordBatchBuilder.append_sized() plus the producer's bookkeeping; see v2.py."},
    {"append_tracked_many", (PyCFunction)(void (*)(void))append_tracked_many, METH_FASTCALL,
     "append_tracked() over a list of values; see v2.py."},
    {"murmur2", (PyCFunction)native_murmur2, METH_O,
     "The Java client's murmur2 of a key; see kafkaio.producer.partitioner.murmur2."},
    {"complete_entries", (PyCFunction)(void (*)(void))complete_entries, METH_FASTCALL,
     "Resolve a produced batch's records; see kafkaio.producer.accumulator."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kafkaio.records._native",
    .m_doc = "Native hot loops of kafkaio.records (the pure-Python code is the reference).",
    .m_size = -1,
    .m_methods = native_methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    if (PyType_Ready(&RowType_Type) < 0 || PyType_Ready(&Core_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&native_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RowType_Type);
    if (PyModule_AddObject(m, "RowType", (PyObject *)&RowType_Type) < 0) {
        Py_DECREF(&RowType_Type);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&Core_Type);
    if (PyModule_AddObject(m, "BuilderCore", (PyObject *)&Core_Type) < 0) {
        Py_DECREF(&Core_Type);
        Py_DECREF(m);
        return NULL;
    }
    if (producer_types_ready(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
