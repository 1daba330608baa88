/* The producer's per-record fast path: RecordFuture, SendCore.send and its awaitable.
 *
 * Included by _native.c (one extension module; this file uses its static helpers track_one,
 * Core_Type). The Python code in kafkaio/producer/producer.py (Producer.send) is the
 * reference: SendCore.send handles the common case only -- bytes or None key and value, no
 * headers, the topic's metadata cached, memory free, an open batch or the accumulator's own
 * append -- and hands every other call, unchanged, to the Python method before doing
 * anything with a side effect. So every check and every error message stays in one place.
 *
 * RecordFuture is a future in asyncio's sense (asyncio.isfuture() is true: tasks, gather,
 * wait and wait_for take it as they take asyncio.Future) that costs one small object per
 * record: it is left out of the cyclic GC until it holds something that could lead back to
 * it (a callback, an exception), and a produced batch resolves it in C without method calls.
 */

/* -- asyncio's exception classes, imported on first use ---------------------------------- */

static PyObject *asyncio_CancelledError = NULL;
static PyObject *asyncio_InvalidStateError = NULL;

static int
import_asyncio_errors(void)
{
    if (asyncio_CancelledError != NULL)
        return 0;
    PyObject *mod = PyImport_ImportModule("asyncio.exceptions");
    if (mod == NULL)
        return -1;
    asyncio_CancelledError = PyObject_GetAttrString(mod, "CancelledError");
    asyncio_InvalidStateError = PyObject_GetAttrString(mod, "InvalidStateError");
    Py_DECREF(mod);
    if (asyncio_CancelledError == NULL || asyncio_InvalidStateError == NULL) {
        Py_CLEAR(asyncio_CancelledError);
        Py_CLEAR(asyncio_InvalidStateError);
        return -1;
    }
    return 0;
}

/* -- RecordFuture ------------------------------------------------------------------------ */

enum { RF_PENDING = 0, RF_FINISHED = 1, RF_CANCELLED = 2 };

typedef struct {
    PyObject_HEAD
    PyObject *loop;
    PyObject *result;     /* the RecordMetadata once finished without error */
    PyObject *exception;  /* the failure once finished with one */
    PyObject *callbacks;  /* list of (fn, context) or NULL */
    PyObject *cancel_msg; /* cancel(msg) */
    /* A finished record's metadata, built only when asked for: the batch's shared part
     * (metadata class, topic, partition, base offset, log append time, timestamp type, log
     * start offset), the record's offset delta, timestamp and key/value sizes. */
    PyObject *md_batch;
    PyObject *md_ts, *md_ksize, *md_vsize;
    long long md_delta;
    int state;
    char blocking;        /* _asyncio_future_blocking */
    char log_exception;   /* an exception nobody retrieved yet */
    char was_tracked;     /* ever in the cyclic GC (which may have finalized it): not reused */
} RecordFutureObject;

static PyTypeObject RecordFuture_Type;

static inline void
rf_track(RecordFutureObject *self)
{
    self->was_tracked = 1;
    if (!PyObject_GC_IsTracked((PyObject *)self))
        PyObject_GC_Track(self);
}

/* Dead futures kept for reuse: a send loop makes and drops one per record, and a reused
 * object skips the allocator and the collector's allocation count (as CPython's own
 * free lists do for tuples). */
#define RF_FREELIST_MAX 4096
static RecordFutureObject *rf_freelist[RF_FREELIST_MAX];
static int rf_freelist_len = 0;

static RecordFutureObject *
rf_new(PyObject *loop)
{
    RecordFutureObject *self;
    if (rf_freelist_len > 0) {
        self = rf_freelist[--rf_freelist_len];
        Py_SET_REFCNT(self, 1);
    }
    else {
        self = PyObject_GC_New(RecordFutureObject, &RecordFuture_Type);
        if (self == NULL)
            return NULL;
    }
    self->loop = Py_NewRef(loop);
    self->result = NULL;
    self->exception = NULL;
    self->callbacks = NULL;
    self->cancel_msg = NULL;
    self->md_batch = self->md_ts = self->md_ksize = self->md_vsize = NULL;
    self->md_delta = 0;
    self->state = RF_PENDING;
    self->blocking = 0;
    self->log_exception = 0;
    self->was_tracked = 0;
    /* Untracked: the loop never refers back to a pending future. */
    return self;
}

static PyObject *
RecordFuture_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"loop", NULL};
    PyObject *loop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:RecordFuture", kwlist, &loop))
        return NULL;
    return (PyObject *)rf_new(loop);
}

static int
RecordFuture_traverse(RecordFutureObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->loop);
    Py_VISIT(self->result);
    Py_VISIT(self->exception);
    Py_VISIT(self->callbacks);
    Py_VISIT(self->cancel_msg);
    Py_VISIT(self->md_batch);
    Py_VISIT(self->md_ts);
    Py_VISIT(self->md_ksize);
    Py_VISIT(self->md_vsize);
    return 0;
}

static int
RecordFuture_clear(RecordFutureObject *self)
{
    Py_CLEAR(self->loop);
    Py_CLEAR(self->result);
    Py_CLEAR(self->exception);
    Py_CLEAR(self->callbacks);
    Py_CLEAR(self->cancel_msg);
    Py_CLEAR(self->md_batch);
    Py_CLEAR(self->md_ts);
    Py_CLEAR(self->md_ksize);
    Py_CLEAR(self->md_vsize);
    return 0;
}

/* As asyncio.Future does: a failure nobody looked at is reported when the future goes. */
static void
RecordFuture_finalize(RecordFutureObject *self)
{
    if (!self->log_exception || self->exception == NULL || self->loop == NULL)
        return;
    self->log_exception = 0;
    PyObject *err_type, *err_value, *err_tb;
    PyErr_Fetch(&err_type, &err_value, &err_tb);
    PyObject *context = Py_BuildValue("{sssOsO}", "message",
                                      "Future exception was never retrieved", "exception",
                                      self->exception, "future", (PyObject *)self);
    if (context != NULL) {
        PyObject *res = PyObject_CallMethod(self->loop, "call_exception_handler", "O", context);
        Py_XDECREF(res);
        Py_DECREF(context);
    }
    if (PyErr_Occurred())
        PyErr_WriteUnraisable((PyObject *)self);
    PyErr_Restore(err_type, err_value, err_tb);
}

static void
RecordFuture_dealloc(RecordFutureObject *self)
{
    /* A finalized object is marked so for good: it is not reused. */
    int finalized = self->log_exception;
    if (finalized && PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
        return; /* resurrected */
    PyObject_GC_UnTrack(self);
    RecordFuture_clear(self);
    if (!finalized && !self->was_tracked && Py_IS_TYPE(self, &RecordFuture_Type)
        && rf_freelist_len < RF_FREELIST_MAX)
        rf_freelist[rf_freelist_len++] = self;
    else
        Py_TYPE(self)->tp_free((PyObject *)self);
}

/* loop.call_soon(fn, self, context=ctx) for every registered callback, then forget them. */
static int
rf_schedule_callbacks(RecordFutureObject *self)
{
    PyObject *callbacks = self->callbacks;
    if (callbacks == NULL)
        return 0;
    self->callbacks = NULL;
    PyObject *call_soon = PyObject_GetAttrString(self->loop, "call_soon");
    PyObject *kwnames = call_soon == NULL ? NULL : Py_BuildValue("(s)", "context");
    int rc = call_soon != NULL && kwnames != NULL ? 0 : -1;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(callbacks); i++) {
        PyObject *item = PyList_GET_ITEM(callbacks, i);
        PyObject *args[3] = {PyTuple_GET_ITEM(item, 0), (PyObject *)self, PyTuple_GET_ITEM(item, 1)};
        PyObject *handle = PyObject_Vectorcall(call_soon, args, 2, kwnames);
        if (handle == NULL)
            rc = -1;
        Py_XDECREF(handle);
    }
    Py_XDECREF(kwnames);
    Py_XDECREF(call_soon);
    Py_DECREF(callbacks);
    return rc;
}

/* Resolve a pending future with ``value`` (a new reference is taken). */
static int
rf_finish_result(RecordFutureObject *self, PyObject *value)
{
    self->result = Py_NewRef(value);
    self->state = RF_FINISHED;
    return rf_schedule_callbacks(self);
}

/* Resolve a pending future with the metadata of record ``delta`` of a produced batch, built
 * when first asked for (most futures of a send loop never are). */
static int
rf_finish_lazy(RecordFutureObject *self, PyObject *md_batch, long long delta, PyObject *ts,
               PyObject *ksize, PyObject *vsize)
{
    self->md_batch = Py_NewRef(md_batch);
    self->md_ts = Py_NewRef(ts);
    self->md_ksize = Py_NewRef(ksize);
    self->md_vsize = Py_NewRef(vsize);
    self->md_delta = delta;
    self->state = RF_FINISHED;
    return rf_schedule_callbacks(self);
}

/* The finished future's result, building the lazy metadata first (borrowed reference). */
static PyObject *
rf_result_object(RecordFutureObject *self)
{
    if (self->result != NULL || self->md_batch == NULL)
        return self->result;
    /* md_batch: (cls, topic, partition, base_offset, log_append_time, ts_type, log_start) */
    PyObject *b = self->md_batch;
    PyTypeObject *cls = (PyTypeObject *)PyTuple_GET_ITEM(b, 0);
    long long base = PyLong_AsLongLong(PyTuple_GET_ITEM(b, 3));
    long long log_append = PyLong_AsLongLong(PyTuple_GET_ITEM(b, 4));
    if (PyErr_Occurred())
        return NULL;
    PyObject *md = cls->tp_alloc(cls, 8);
    if (md == NULL)
        return NULL;
    PyObject *offset = PyLong_FromLongLong(base >= 0 ? base + self->md_delta : -1);
    if (offset == NULL) {
        Py_DECREF(md);
        return NULL;
    }
    PyObject *items[8] = {PyTuple_GET_ITEM(b, 1), PyTuple_GET_ITEM(b, 2), offset,
                          log_append >= 0 ? PyTuple_GET_ITEM(b, 4) : self->md_ts,
                          PyTuple_GET_ITEM(b, 5), self->md_ksize, self->md_vsize,
                          PyTuple_GET_ITEM(b, 6)};
    for (int k = 0; k < 8; k++) {
        if (k != 2)
            Py_INCREF(items[k]);
        PyTuple_SET_ITEM(md, k, items[k]);
    }
    PyObject_GC_UnTrack(md); /* plain values only, as complete_entries' tuples */
    self->result = md;
    Py_CLEAR(self->md_batch);
    Py_CLEAR(self->md_ts);
    Py_CLEAR(self->md_ksize);
    Py_CLEAR(self->md_vsize);
    return md;
}

static int
rf_finish_exception(RecordFutureObject *self, PyObject *exc)
{
    PyObject *instance;
    if (PyExceptionClass_Check(exc)) {
        instance = PyObject_CallNoArgs(exc);
        if (instance == NULL)
            return -1;
    }
    else if (PyExceptionInstance_Check(exc)) {
        instance = Py_NewRef(exc);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "invalid exception object");
        return -1;
    }
    self->exception = instance;
    self->state = RF_FINISHED;
    self->log_exception = 1;
    rf_track(self); /* a traceback can lead back here */
    return rf_schedule_callbacks(self);
}

static PyObject *
rf_cancelled_error(RecordFutureObject *self)
{
    if (import_asyncio_errors() < 0)
        return NULL;
    if (self->cancel_msg != NULL && self->cancel_msg != Py_None)
        PyErr_SetObject(asyncio_CancelledError, self->cancel_msg);
    else
        PyErr_SetNone(asyncio_CancelledError);
    return NULL;
}

static PyObject *
rf_invalid_state(const char *message)
{
    if (import_asyncio_errors() < 0)
        return NULL;
    PyErr_SetString(asyncio_InvalidStateError, message);
    return NULL;
}

static PyObject *
RecordFuture_done(RecordFutureObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(self->state != RF_PENDING);
}

static PyObject *
RecordFuture_cancelled(RecordFutureObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(self->state == RF_CANCELLED);
}

static PyObject *
RecordFuture_result(RecordFutureObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->state == RF_CANCELLED)
        return rf_cancelled_error(self);
    if (self->state == RF_PENDING)
        return rf_invalid_state("Result is not set.");
    self->log_exception = 0;
    if (self->exception != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(self->exception), self->exception);
        return NULL;
    }
    return Py_XNewRef(rf_result_object(self));
}

static PyObject *
RecordFuture_exception(RecordFutureObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->state == RF_CANCELLED)
        return rf_cancelled_error(self);
    if (self->state == RF_PENDING)
        return rf_invalid_state("Exception is not set.");
    self->log_exception = 0;
    return Py_NewRef(self->exception != NULL ? self->exception : Py_None);
}

static PyObject *
RecordFuture_set_result(RecordFutureObject *self, PyObject *value)
{
    if (self->state != RF_PENDING)
        return rf_invalid_state("invalid state");
    if (rf_finish_result(self, value) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
RecordFuture_set_exception(RecordFutureObject *self, PyObject *exc)
{
    if (self->state != RF_PENDING)
        return rf_invalid_state("invalid state");
    if (rf_finish_exception(self, exc) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
RecordFuture_add_done_callback(RecordFutureObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *context = Py_None;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs != 1 || nkw > 1
        || (nkw == 1
            && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "context") != 0)) {
        PyErr_SetString(PyExc_TypeError, "add_done_callback(fn, *, context=None)");
        return NULL;
    }
    if (nkw == 1)
        context = args[1];
    PyObject *ctx = context == Py_None ? PyContext_CopyCurrent() : Py_NewRef(context);
    if (ctx == NULL)
        return NULL;
    PyObject *item = PyTuple_Pack(2, args[0], ctx);
    Py_DECREF(ctx);
    if (item == NULL)
        return NULL;
    if (self->callbacks == NULL && (self->callbacks = PyList_New(0)) == NULL) {
        Py_DECREF(item);
        return NULL;
    }
    int rc = PyList_Append(self->callbacks, item);
    Py_DECREF(item);
    if (rc < 0)
        return NULL;
    rf_track(self);
    if (self->state != RF_PENDING && rf_schedule_callbacks(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
RecordFuture_remove_done_callback(RecordFutureObject *self, PyObject *fn)
{
    Py_ssize_t removed = 0;
    if (self->callbacks != NULL) {
        PyObject *kept = PyList_New(0);
        if (kept == NULL)
            return NULL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->callbacks); i++) {
            PyObject *item = PyList_GET_ITEM(self->callbacks, i);
            int eq = PyObject_RichCompareBool(PyTuple_GET_ITEM(item, 0), fn, Py_EQ);
            if (eq < 0 || (!eq && PyList_Append(kept, item) < 0)) {
                Py_DECREF(kept);
                return NULL;
            }
            removed += eq;
        }
        Py_SETREF(self->callbacks, kept);
    }
    return PyLong_FromSsize_t(removed);
}

static PyObject *
RecordFuture_cancel(RecordFutureObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"msg", NULL};
    PyObject *msg = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:cancel", kwlist, &msg))
        return NULL;
    if (self->state != RF_PENDING)
        Py_RETURN_FALSE;
    self->state = RF_CANCELLED;
    Py_XSETREF(self->cancel_msg, Py_NewRef(msg));
    if (rf_schedule_callbacks(self) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *
RecordFuture_get_loop(RecordFutureObject *self, PyObject *Py_UNUSED(ignored))
{
    return Py_NewRef(self->loop);
}

static PyObject *
RecordFuture_get_blocking(RecordFutureObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->blocking);
}

static int
RecordFuture_set_blocking(RecordFutureObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int truth = value == NULL ? 0 : PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    self->blocking = (char)truth;
    return 0;
}

static PyObject *
RecordFuture_repr(RecordFutureObject *self)
{
    if (self->state == RF_CANCELLED)
        return PyUnicode_FromString("<RecordFuture cancelled>");
    if (self->state == RF_PENDING)
        return PyUnicode_FromString("<RecordFuture pending>");
    if (self->exception != NULL)
        return PyUnicode_FromFormat("<RecordFuture finished exception=%R>", self->exception);
    PyObject *result = rf_result_object(self);
    if (result == NULL)
        return NULL;
    return PyUnicode_FromFormat("<RecordFuture finished result=%R>", result);
}

/* The iterator behind ``await future``: yields the future itself while it is pending (the
 * task then waits on it, as for asyncio.Future), then returns its result. */
typedef struct {
    PyObject_HEAD
    RecordFutureObject *future;
} RecordFutureIterObject;

static PyTypeObject RecordFutureIter_Type;

static void
RecordFutureIter_dealloc(RecordFutureIterObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->future);
    PyObject_GC_Del(self);
}

static int
RecordFutureIter_traverse(RecordFutureIterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->future);
    return 0;
}

/* Return ``value`` from an iterator: StopIteration(value) made explicitly, since a tuple
 * (RecordMetadata is one) would otherwise be taken as the exception's arguments. */
static PyObject *
return_value(PyObject *value)
{
    if (value == Py_None) {
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    if (!PyTuple_Check(value) && !PyExceptionInstance_Check(value)) {
        PyErr_SetObject(PyExc_StopIteration, value);
        return NULL;
    }
    PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, value);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *
RecordFutureIter_next(RecordFutureIterObject *self)
{
    RecordFutureObject *fut = self->future;
    if (fut == NULL)
        return NULL;
    if (fut->state == RF_PENDING) {
        fut->blocking = 1;
        return Py_NewRef((PyObject *)fut);
    }
    Py_CLEAR(self->future);
    PyObject *result = RecordFuture_result(fut, NULL);
    if (result == NULL) {
        Py_DECREF(fut);
        return NULL;
    }
    Py_DECREF(fut);
    return_value(result);
    Py_DECREF(result);
    return NULL;
}

/* The same without an exception for the result (PyIter_Send, so ``await`` uses it). */
static PySendResult
RecordFutureIter_am_send(RecordFutureIterObject *self, PyObject *arg, PyObject **presult)
{
    RecordFutureObject *fut = self->future;
    *presult = NULL;
    if (fut == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse an awaited RecordFuture iterator");
        return PYGEN_ERROR;
    }
    if (fut->state == RF_PENDING) {
        fut->blocking = 1;
        *presult = Py_NewRef((PyObject *)fut);
        return PYGEN_NEXT;
    }
    self->future = NULL;
    *presult = RecordFuture_result(fut, NULL);
    Py_DECREF(fut);
    return *presult == NULL ? PYGEN_ERROR : PYGEN_RETURN;
}

static PyAsyncMethods RecordFutureIter_as_async = {
    .am_send = (sendfunc)RecordFutureIter_am_send,
};

static PyObject *
RecordFutureIter_send(RecordFutureIterObject *self, PyObject *value)
{
    return RecordFutureIter_next(self);
}

static PyObject *
RecordFutureIter_throw(RecordFutureIterObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw() takes 1 to 3 arguments");
        return NULL;
    }
    Py_CLEAR(self->future);
    PyObject *typ = args[0];
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    }
    else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, nargs > 1 ? args[1] : NULL);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
    }
    return NULL;
}

static PyObject *
RecordFutureIter_close(RecordFutureIterObject *self, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(self->future);
    Py_RETURN_NONE;
}

static PyMethodDef RecordFutureIter_methods[] = {
    {"send", (PyCFunction)RecordFutureIter_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))RecordFutureIter_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)RecordFutureIter_close, METH_NOARGS, NULL},
    {NULL},
};

static PyTypeObject RecordFutureIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.RecordFutureIter",
    .tp_basicsize = sizeof(RecordFutureIterObject),
    .tp_dealloc = (destructor)RecordFutureIter_dealloc,
    .tp_as_async = &RecordFutureIter_as_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)RecordFutureIter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)RecordFutureIter_next,
    .tp_methods = RecordFutureIter_methods,
};

static PyObject *
RecordFuture_await(RecordFutureObject *self)
{
    RecordFutureIterObject *it = PyObject_GC_New(RecordFutureIterObject, &RecordFutureIter_Type);
    if (it == NULL)
        return NULL;
    it->future = (RecordFutureObject *)Py_NewRef((PyObject *)self);
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyMethodDef RecordFuture_methods[] = {
    {"done", (PyCFunction)RecordFuture_done, METH_NOARGS, "True once finished or cancelled."},
    {"cancelled", (PyCFunction)RecordFuture_cancelled, METH_NOARGS, "True if cancelled."},
    {"result", (PyCFunction)RecordFuture_result, METH_NOARGS,
     "The record's RecordMetadata; raises its failure (or CancelledError, InvalidStateError)."},
    {"exception", (PyCFunction)RecordFuture_exception, METH_NOARGS,
     "The record's failure, or None."},
    {"set_result", (PyCFunction)RecordFuture_set_result, METH_O, "Resolve (producer internal)."},
    {"set_exception", (PyCFunction)RecordFuture_set_exception, METH_O,
     "Fail (producer internal)."},
    {"add_done_callback", (PyCFunction)(void (*)(void))RecordFuture_add_done_callback,
     METH_FASTCALL | METH_KEYWORDS, "Run fn(future) on the loop once done."},
    {"remove_done_callback", (PyCFunction)RecordFuture_remove_done_callback, METH_O,
     "Remove fn; returns how many were removed."},
    {"cancel", (PyCFunction)(void (*)(void))RecordFuture_cancel, METH_VARARGS | METH_KEYWORDS,
     "Stop waiting for the outcome (the record is still sent)."},
    {"get_loop", (PyCFunction)RecordFuture_get_loop, METH_NOARGS, "The event loop."},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL},
};

static PyGetSetDef RecordFuture_getset[] = {
    {"_asyncio_future_blocking", (getter)RecordFuture_get_blocking,
     (setter)RecordFuture_set_blocking, NULL, NULL},
    {NULL},
};

static PyAsyncMethods RecordFuture_as_async = {
    .am_await = (unaryfunc)RecordFuture_await,
};

static PyTypeObject RecordFuture_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.RecordFuture",
    .tp_basicsize = sizeof(RecordFutureObject),
    .tp_dealloc = (destructor)RecordFuture_dealloc,
    .tp_as_async = &RecordFuture_as_async,
    .tp_repr = (reprfunc)RecordFuture_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "RecordFuture(loop): the future of one produced record's RecordMetadata.",
    .tp_traverse = (traverseproc)RecordFuture_traverse,
    .tp_clear = (inquiry)RecordFuture_clear,
    .tp_iter = (getiterfunc)RecordFuture_await,
    .tp_methods = RecordFuture_methods,
    .tp_getset = RecordFuture_getset,
    .tp_new = RecordFuture_new,
    .tp_finalize = (destructor)RecordFuture_finalize,
};

/* -- SendReady: what SendCore.send returns ------------------------------------------------ */

/* An awaitable (and a coroutine by collections.abc's definition, so asyncio.create_task
 * takes it) whose await gives the record's future. With ``yield_first`` it first gives the
 * loop one turn, as ``await asyncio.sleep(0)`` would: the record started a batch, and the
 * sender should get to run even when the caller never blocks. */
typedef struct {
    PyObject_HEAD
    PyObject *value;
    int yield_first;
} SendReadyObject;

static PyTypeObject SendReady_Type;

static void
SendReady_dealloc(SendReadyObject *self)
{
    Py_CLEAR(self->value);
    PyObject_Free(self);
}

static PyObject *
SendReady_next(SendReadyObject *self)
{
    if (self->value == NULL)
        return NULL;
    if (self->yield_first) {
        self->yield_first = 0;
        Py_RETURN_NONE; /* a bare yield: the task runs again on the next loop turn */
    }
    PyObject *value = self->value;
    self->value = NULL;
    return_value(value);
    Py_DECREF(value);
    return NULL;
}

static PySendResult
SendReady_am_send(SendReadyObject *self, PyObject *arg, PyObject **presult)
{
    *presult = NULL;
    if (self->value == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse an awaited send()");
        return PYGEN_ERROR;
    }
    if (self->yield_first) {
        self->yield_first = 0;
        *presult = Py_NewRef(Py_None);
        return PYGEN_NEXT;
    }
    *presult = self->value;
    self->value = NULL;
    return PYGEN_RETURN;
}

static PyObject *
SendReady_send(SendReadyObject *self, PyObject *value)
{
    return SendReady_next(self);
}

static PyObject *
SendReady_throw(SendReadyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* The record is already enqueued: its future stays valid, only this await ends. */
    Py_CLEAR(self->value);
    return RecordFutureIter_throw(NULL, args, nargs);
}

static PyObject *
SendReady_close(SendReadyObject *self, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(self->value);
    Py_RETURN_NONE;
}

static PyObject *
SendReady_await(SendReadyObject *self)
{
    return Py_NewRef((PyObject *)self);
}

static PyMethodDef SendReady_methods[] = {
    {"send", (PyCFunction)SendReady_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))SendReady_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)SendReady_close, METH_NOARGS, NULL},
    {NULL},
};

static PyAsyncMethods SendReady_as_async = {
    .am_await = (unaryfunc)SendReady_await,
    .am_send = (sendfunc)SendReady_am_send,
};

static PyTypeObject SendReady_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.SendReady",
    .tp_basicsize = sizeof(SendReadyObject),
    .tp_dealloc = (destructor)SendReady_dealloc,
    .tp_as_async = &SendReady_as_async,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The awaitable Producer.send returns on its fast path.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)SendReady_next,
    .tp_methods = SendReady_methods,
};

/* -- BatchCore, PoolCore: the fields SendCore reads and writes per record ----------------- */

/* Base classes of ProducerBatch and BufferPool when the extension is in use: these fields
 * are their attributes of the same names (as __slots__ would be), so the Python code is the
 * same either way and the fast path reads them without attribute lookups. */
typedef struct {
    PyObject_HEAD
    PyObject *builder;        /* RecordBatchBuilder, None once closed */
    PyObject *entries;        /* the flat per-record list (see accumulator._ENTRY_WIDTH) */
    Py_ssize_t record_count;
    Py_ssize_t reserved;      /* buffer memory held by the batch's records */
    char sealed;              /* a record did not fit: no more appends */
} BatchCoreObject;

static int
BatchCore_traverse(BatchCoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->builder);
    Py_VISIT(self->entries);
    return 0;
}

static int
BatchCore_clear(BatchCoreObject *self)
{
    Py_CLEAR(self->builder);
    Py_CLEAR(self->entries);
    return 0;
}

static void
BatchCore_dealloc(BatchCoreObject *self)
{
    PyObject_GC_UnTrack(self);
    BatchCore_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef BatchCore_members[] = {
    {"builder", T_OBJECT_EX, offsetof(BatchCoreObject, builder), 0, NULL},
    {"entries", T_OBJECT_EX, offsetof(BatchCoreObject, entries), 0, NULL},
    {"record_count", T_PYSSIZET, offsetof(BatchCoreObject, record_count), 0, NULL},
    {"reserved", T_PYSSIZET, offsetof(BatchCoreObject, reserved), 0, NULL},
    {"sealed", T_BOOL, offsetof(BatchCoreObject, sealed), 0, NULL},
    {NULL},
};

static PyTypeObject BatchCore_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.BatchCore",
    .tp_basicsize = sizeof(BatchCoreObject),
    .tp_dealloc = (destructor)BatchCore_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Per-record fields of a producer batch (base class of ProducerBatch).",
    .tp_traverse = (traverseproc)BatchCore_traverse,
    .tp_clear = (inquiry)BatchCore_clear,
    .tp_members = BatchCore_members,
    .tp_new = PyType_GenericNew,
};

typedef struct {
    PyObject_HEAD
    PyObject *waiters;        /* _waiters: deque of blocked reservations */
    Py_ssize_t total;
    Py_ssize_t used;
} PoolCoreObject;

static int
PoolCore_traverse(PoolCoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->waiters);
    return 0;
}

static int
PoolCore_clear(PoolCoreObject *self)
{
    Py_CLEAR(self->waiters);
    return 0;
}

static void
PoolCore_dealloc(PoolCoreObject *self)
{
    PyObject_GC_UnTrack(self);
    PoolCore_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef PoolCore_members[] = {
    {"_waiters", T_OBJECT_EX, offsetof(PoolCoreObject, waiters), 0, NULL},
    {"total", T_PYSSIZET, offsetof(PoolCoreObject, total), 0, NULL},
    {"used", T_PYSSIZET, offsetof(PoolCoreObject, used), 0, NULL},
    {NULL},
};

static PyTypeObject PoolCore_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.PoolCore",
    .tp_basicsize = sizeof(PoolCoreObject),
    .tp_dealloc = (destructor)PoolCore_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The counters of a producer's buffer memory (base class of BufferPool).",
    .tp_traverse = (traverseproc)PoolCore_traverse,
    .tp_clear = (inquiry)PoolCore_clear,
    .tp_members = PoolCore_members,
    .tp_new = PyType_GenericNew,
};

/* -- SendCore ---------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *slow_send;    /* the Python Producer.send, bound: the reference and fallback */
    PyObject *loop;
    PyObject *topic_cache;  /* dict topic -> (partition count, available partitions) */
    PyObject *tps;          /* dict topic -> {partition: TopicPartition} */
    PyObject *queues;       /* the accumulator's dict TopicPartition -> PartitionQueue */
    PyObject *pool;         /* the accumulator's BufferPool */
    PyObject *place;        /* partitioner.place */
    PyObject *sticky;       /* the built-in partitioner's topic -> [partition, bytes], or None */
    PyObject *append;       /* accumulator.append (starts batches) */
    PyObject *make_tp;      /* Producer._tp */
    Py_ssize_t sticky_batch_size;
    Py_ssize_t max_request_size;
    Py_ssize_t record_overhead;
    Py_ssize_t header_slack;
    /* Caches: (TopicPartition, PartitionQueue) per partition of each topic (neither ever
     * changes for a topic and partition: the accumulator keeps its queues), the slots of the
     * last topic, the last millisecond's int, and a SendReady to reuse once awaited. */
    PyObject *part_cache;   /* dict topic -> list of (tp, queue) or None by partition */
    PyObject *c_topic;
    PyObject *c_slots;
    PyObject *c_ms_obj;
    long long c_ms;
    PyObject *ready;
    char hash_keys;         /* keys are placed by murmur2 (the built-in partitioner's rule) */
    char enabled;
} SendCoreObject;

static PyObject *str_batches, *minus_one, *empty_tuple, *send_kwnames[5];

static int
SendCore_traverse(SendCoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->slow_send);
    Py_VISIT(self->loop);
    Py_VISIT(self->topic_cache);
    Py_VISIT(self->tps);
    Py_VISIT(self->queues);
    Py_VISIT(self->pool);
    Py_VISIT(self->place);
    Py_VISIT(self->sticky);
    Py_VISIT(self->append);
    Py_VISIT(self->make_tp);
    Py_VISIT(self->part_cache);
    Py_VISIT(self->c_topic);
    Py_VISIT(self->c_slots);
    Py_VISIT(self->ready);
    return 0;
}

static int
SendCore_clear(SendCoreObject *self)
{
    Py_CLEAR(self->slow_send);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->topic_cache);
    Py_CLEAR(self->tps);
    Py_CLEAR(self->queues);
    Py_CLEAR(self->pool);
    Py_CLEAR(self->place);
    Py_CLEAR(self->sticky);
    Py_CLEAR(self->append);
    Py_CLEAR(self->make_tp);
    Py_CLEAR(self->part_cache);
    Py_CLEAR(self->c_topic);
    Py_CLEAR(self->c_slots);
    Py_CLEAR(self->c_ms_obj);
    Py_CLEAR(self->ready);
    return 0;
}

static void
SendCore_dealloc(SendCoreObject *self)
{
    PyObject_GC_UnTrack(self);
    SendCore_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
SendCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"slow_send", "loop", "topic_cache", "tps", "queues", "pool",
                             "place", "sticky", "append", "make_tp", "sticky_batch_size",
                             "max_request_size", "record_overhead", "header_slack",
                             "hash_keys", NULL};
    PyObject *o[10];
    Py_ssize_t sticky_batch_size, max_request_size, record_overhead, header_slack;
    int hash_keys;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$OOO!O!O!OOOOOnnnnp:SendCore", kwlist, &o[0],
                                     &o[1], &PyDict_Type, &o[2], &PyDict_Type, &o[3],
                                     &PyDict_Type, &o[4], &o[5], &o[6], &o[7], &o[8], &o[9],
                                     &sticky_batch_size, &max_request_size, &record_overhead,
                                     &header_slack, &hash_keys))
        return NULL;
    if (!PyObject_TypeCheck(o[5], &PoolCore_Type)) {
        PyErr_SetString(PyExc_TypeError, "SendCore(pool=...) must be a PoolCore");
        return NULL;
    }
    if (o[7] != Py_None && !PyDict_CheckExact(o[7])) {
        PyErr_SetString(PyExc_TypeError, "SendCore(sticky=...) must be a dict or None");
        return NULL;
    }
    SendCoreObject *self = (SendCoreObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    PyObject **fields[10] = {&self->slow_send, &self->loop,  &self->topic_cache, &self->tps,
                             &self->queues,    &self->pool,  &self->place,       &self->sticky,
                             &self->append,    &self->make_tp};
    for (int i = 0; i < 10; i++)
        *fields[i] = Py_NewRef(o[i]);
    self->sticky_batch_size = sticky_batch_size;
    self->max_request_size = max_request_size;
    self->record_overhead = record_overhead;
    self->header_slack = header_slack;
    self->part_cache = PyDict_New();
    if (self->part_cache == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->c_ms = -1;
    self->hash_keys = (char)hash_keys;
    self->enabled = 1;
    return (PyObject *)self;
}

/* The Java client's murmur2 of a key, as kafkaio.producer.partitioner.murmur2 (the
 * reference) computes it: 32-bit, seed 0x9747b28c, little-endian words. */
static int32_t
murmur2_hash(const unsigned char *data, Py_ssize_t length)
{
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28cu ^ (uint32_t)length;
    Py_ssize_t n4 = length >> 2;
    for (Py_ssize_t i = 0; i < n4; i++) {
        const unsigned char *p = data + 4 * i;
        uint32_t k = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16)
                     | ((uint32_t)p[3] << 24);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h = (h * m) ^ k;
    }
    Py_ssize_t base = n4 << 2;
    switch (length & 3) {
    case 3:
        h ^= (uint32_t)data[base + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[base + 1] << 8;
        /* fall through */
    case 1:
        h ^= data[base];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

/* murmur2(data) -> int: the reference's drop-in, for the property tests. */
static PyObject *
native_murmur2(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int32_t h = murmur2_hash(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromLong(h);
}

/* The record's partition without side effects, or -1 when the partitioner must decide
 * (place() is called then), -2 on error. Mirrors BuiltinPartitioner.place's sticky branch. */
static Py_ssize_t
sticky_partition(SendCoreObject *self, PyObject *topic, Py_ssize_t count, PyObject **state_out)
{
    *state_out = NULL;
    if (self->sticky == Py_None)
        return -1;
    PyObject *state = PyDict_GetItemWithError(self->sticky, topic);
    if (state == NULL)
        return PyErr_Occurred() ? -2 : -1;
    if (!PyList_CheckExact(state) || PyList_GET_SIZE(state) != 2
        || !PyLong_CheckExact(PyList_GET_ITEM(state, 0))
        || !PyLong_CheckExact(PyList_GET_ITEM(state, 1)))
        return -1;
    Py_ssize_t part = PyLong_AsSsize_t(PyList_GET_ITEM(state, 0));
    if (part == -1 && PyErr_Occurred())
        return -2;
    if (part < 0 || part >= count)
        return -1;
    *state_out = state;
    return part;
}

/* Count ``size`` bytes towards the sticky partition; past a batch's worth, forget it. */
static int
sticky_account(SendCoreObject *self, PyObject *topic, PyObject *state, Py_ssize_t size)
{
    Py_ssize_t so_far = PyLong_AsSsize_t(PyList_GET_ITEM(state, 1));
    if (so_far == -1 && PyErr_Occurred())
        return -1;
    so_far += size;
    PyObject *n = PyLong_FromSsize_t(so_far);
    if (n == NULL)
        return -1;
    PyList_SetItem(state, 1, n); /* steals n */
    if (so_far >= self->sticky_batch_size)
        return PyDict_DelItem(self->sticky, topic);
    return 0;
}

/* Wall-clock milliseconds as an int; records of the same millisecond share the object. */
static PyObject *
now_ms(SendCoreObject *self)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return NULL;
    }
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (ms != self->c_ms || self->c_ms_obj == NULL) {
        PyObject *obj = PyLong_FromLongLong(ms);
        if (obj == NULL)
            return NULL;
        Py_XSETREF(self->c_ms_obj, obj);
        self->c_ms = ms;
    }
    return Py_NewRef(self->c_ms_obj);
}

/* The TopicPartition and (once its queue exists) the deque of batches of ``topic``'s
 * partition ``part`` (new references in *tp_out, *q_out; *q_out may be NULL). -1 on error. */
static int
lookup_partition(SendCoreObject *self, PyObject *topic, Py_ssize_t part, PyObject *part_obj,
                 PyObject **tp_out, PyObject **q_out)
{
    *tp_out = *q_out = NULL;
    PyObject *slots = self->c_slots;
    if (topic != self->c_topic || slots == NULL) {
        slots = PyDict_GetItemWithError(self->part_cache, topic);
        if (slots == NULL) {
            if (PyErr_Occurred() || (slots = PyList_New(0)) == NULL)
                return -1;
            int rc = PyDict_SetItem(self->part_cache, topic, slots);
            Py_DECREF(slots); /* the dict holds it */
            if (rc < 0)
                return -1;
        }
        Py_XSETREF(self->c_topic, Py_NewRef(topic));
        Py_XSETREF(self->c_slots, Py_NewRef(slots));
    }
    if (part < PyList_GET_SIZE(slots)) {
        PyObject *item = PyList_GET_ITEM(slots, part);
        if (item != Py_None) {
            *tp_out = Py_NewRef(PyTuple_GET_ITEM(item, 0));
            *q_out = Py_NewRef(PyTuple_GET_ITEM(item, 1));
            return 0;
        }
    }
    PyObject *tp = NULL;
    PyObject *topic_tps = PyDict_GetItemWithError(self->tps, topic);
    if (topic_tps != NULL && PyDict_CheckExact(topic_tps))
        tp = Py_XNewRef(PyDict_GetItemWithError(topic_tps, part_obj));
    if (tp == NULL) {
        if (PyErr_Occurred())
            return -1;
        PyObject *tp_args[2] = {topic, part_obj};
        if ((tp = PyObject_Vectorcall(self->make_tp, tp_args, 2, NULL)) == NULL)
            return -1;
    }
    *tp_out = tp;
    PyObject *q = PyDict_GetItemWithError(self->queues, tp);
    if (q == NULL)
        return PyErr_Occurred() ? -1 : 0; /* the accumulator creates it on the first append */
    /* The queue's deque of batches: assigned once, in PartitionQueue.__init__. */
    PyObject *batches = PyObject_GetAttr(q, str_batches);
    if (batches == NULL)
        return -1;
    *q_out = batches;
    while (PyList_GET_SIZE(slots) <= part) {
        if (PyList_Append(slots, Py_None) < 0)
            return -1;
    }
    PyObject *item = PyTuple_Pack(2, tp, batches);
    if (item == NULL)
        return -1;
    PyList_SetItem(slots, part, item); /* steals item */
    return 0;
}

/* Append to the partition's open batch: 1 done, 0 no open batch with room, -1 error. */
static int
append_to_open_batch(PyObject *batches, PyObject *ts, PyObject *key, PyObject *value,
                     PyObject *future, Py_ssize_t size)
{
    if (batches == NULL)
        return 0;
    Py_ssize_t n = PyObject_Length(batches);
    if (n <= 0)
        return n < 0 ? -1 : 0;
    PyObject *last = PySequence_GetItem(batches, n - 1);
    if (last == NULL)
        return -1;
    int rc = 0;
    BatchCoreObject *batch = (BatchCoreObject *)last;
    /* Anything unusual (a closed or sealed batch): the accumulator decides. */
    if (PyObject_TypeCheck(last, &BatchCore_Type) && !batch->sealed && batch->builder != NULL
        && PyObject_TypeCheck(batch->builder, &Core_Type) && batch->entries != NULL
        && PyList_CheckExact(batch->entries)) {
        Py_ssize_t total = track_one(batch->builder, ts, key, value, empty_tuple, batch->entries,
                                     future, minus_one);
        if (total == -2) {
            rc = -1;
        }
        else if (total == -1) {
            batch->sealed = 1;
        }
        else {
            batch->record_count += 1;
            batch->reserved += size;
            rc = 1;
        }
    }
    Py_DECREF(last);
    return rc;
}

static PyObject *
SendCore_send(SendCoreObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    /* topic, value, key, partition, timestamp_ms, headers */
    PyObject *a[6] = {NULL, Py_None, Py_None, Py_None, Py_None, Py_None};
    if (!self->enabled || nargs < 1 || nargs > 3)
        goto slow;
    for (Py_ssize_t i = 0; i < nargs; i++)
        a[i] = args[i];
    if (kwnames != NULL) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); k++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, k);
            int slot = -1;
            for (int j = 0; j < 5; j++) {
                if (name == send_kwnames[j]) {
                    slot = j + 1;
                    break;
                }
            }
            /* Unknown, duplicate or not interned: the reference raises or handles it. */
            if (slot < 0 || slot < nargs)
                goto slow;
            a[slot] = args[nargs + k];
        }
    }
    PyObject *topic = a[0], *value = a[1], *key = a[2], *partition = a[3], *ts_arg = a[4];
    if (!PyUnicode_CheckExact(topic) || a[5] != Py_None)
        goto slow;
    if ((value != Py_None && !PyBytes_CheckExact(value))
        || (key != Py_None && !PyBytes_CheckExact(key)))
        goto slow;
    if (ts_arg != Py_None) {
        long long ts;
        if (!exact_int64(ts_arg, &ts) || ts < 0) {
            PyErr_Clear();
            goto slow;
        }
    }
    PyObject *info = PyDict_GetItemWithError(self->topic_cache, topic);
    if (info == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto slow;
    }
    if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 2
        || !PyLong_CheckExact(PyTuple_GET_ITEM(info, 0)))
        goto slow;
    Py_ssize_t count = PyLong_AsSsize_t(PyTuple_GET_ITEM(info, 0));
    if (count == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t part = -1;
    if (partition != Py_None) {
        if (!PyLong_CheckExact(partition))
            goto slow;
        part = PyLong_AsSsize_t(partition);
        if (part == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            goto slow;
        }
        if (part < 0 || part >= count)
            goto slow;
    }
    Py_ssize_t size = self->record_overhead;
    if (key != Py_None)
        size += PyBytes_GET_SIZE(key);
    if (value != Py_None)
        size += PyBytes_GET_SIZE(value);
    if (size + self->header_slack > self->max_request_size)
        goto slow; /* the reference fails the record's future with the size named */
    /* Memory: free now and nobody waiting, or the reference waits for it. */
    PoolCoreObject *pool = (PoolCoreObject *)self->pool;
    if (size > pool->total || pool->used + size > pool->total)
        goto slow;
    Py_ssize_t n_waiting = pool->waiters == NULL ? 1 : PyObject_Length(pool->waiters);
    if (n_waiting != 0) {
        if (n_waiting < 0)
            return NULL;
        goto slow;
    }

    /* From here on the record is taken: nothing goes back to the reference. */
    PyObject *sticky_state = NULL;
    if (part < 0 && key == Py_None) {
        part = sticky_partition(self, topic, count, &sticky_state);
        if (part == -2)
            return NULL;
    }
    else if (part < 0 && self->hash_keys) {
        /* BuiltInPartitioner.place for a key: murmur2, nothing counted. */
        int32_t h = murmur2_hash((const unsigned char *)PyBytes_AS_STRING(key),
                                 PyBytes_GET_SIZE(key));
        part = (Py_ssize_t)((uint32_t)h & 0x7FFFFFFFu) % count;
    }
    if (part < 0) {
        PyObject *call_args[5] = {topic, key, PyTuple_GET_ITEM(info, 0), PyTuple_GET_ITEM(info, 1),
                                  NULL};
        PyObject *size_obj = PyLong_FromSsize_t(size);
        if (size_obj == NULL)
            return NULL;
        call_args[4] = size_obj;
        PyObject *placed = PyObject_Vectorcall(self->place, call_args, 5, NULL);
        Py_DECREF(size_obj);
        if (placed == NULL)
            return NULL;
        part = PyLong_AsSsize_t(placed);
        Py_DECREF(placed);
        if (part == -1 && PyErr_Occurred())
            return NULL;
        if (part < 0 || part >= count) {
            PyErr_Format(PyExc_ValueError, "the partitioner chose partition %zd of %zd", part,
                         count);
            return NULL;
        }
    }
    else if (sticky_state != NULL && sticky_account(self, topic, sticky_state, size) < 0) {
        return NULL;
    }
    pool->used += size;

    PyObject *result = NULL, *tp = NULL, *q = NULL, *ts = NULL, *part_obj = NULL;
    RecordFutureObject *future = NULL;
    part_obj = PyLong_FromSsize_t(part);
    if (part_obj == NULL)
        goto release;
    if (lookup_partition(self, topic, part, part_obj, &tp, &q) < 0)
        goto release;
    ts = ts_arg != Py_None ? Py_NewRef(ts_arg) : now_ms(self);
    future = rf_new(self->loop);
    if (ts == NULL || future == NULL)
        goto release;
    int started = 0;
    int appended = append_to_open_batch(q, ts, key, value, (PyObject *)future, size);
    if (appended < 0)
        goto release;
    if (appended == 0) {
        PyObject *size_obj = PyLong_FromSsize_t(size);
        if (size_obj == NULL)
            goto release;
        PyObject *append_args[8] = {tp,        ts,        key,      value,
                                    empty_tuple, (PyObject *)future, minus_one, size_obj};
        PyObject *new_batch = PyObject_Vectorcall(self->append, append_args, 8, NULL);
        Py_DECREF(size_obj);
        if (new_batch == NULL)
            goto release;
        started = PyObject_IsTrue(new_batch);
        Py_DECREF(new_batch);
        if (started < 0)
            goto error; /* the record is in: its memory stays reserved */
    }
    SendReadyObject *ready = (SendReadyObject *)self->ready;
    if (ready != NULL && Py_REFCNT(ready) == 1 && ready->value == NULL) {
        Py_INCREF(ready); /* the last one was awaited and dropped: reuse it */
    }
    else {
        ready = PyObject_New(SendReadyObject, &SendReady_Type);
        if (ready == NULL)
            goto error;
        Py_XSETREF(self->ready, Py_NewRef((PyObject *)ready));
    }
    ready->value = (PyObject *)future;
    future = NULL;
    ready->yield_first = started;
    result = (PyObject *)ready;
    goto error; /* not an error: the common clean-up */
release:
    /* The record did not go in: its memory goes back (the reference's try/except). */
    {
        PyObject *et, *ev, *etb;
        PyErr_Fetch(&et, &ev, &etb);
        PyObject *meth = PyObject_GetAttrString(self->pool, "release");
        PyObject *size_obj = PyLong_FromSsize_t(size);
        PyObject *r = meth && size_obj ? PyObject_CallOneArg(meth, size_obj) : NULL;
        if (r == NULL)
            PyErr_WriteUnraisable(self->pool);
        Py_XDECREF(r);
        Py_XDECREF(size_obj);
        Py_XDECREF(meth);
        PyErr_Restore(et, ev, etb);
    }
error:
    Py_XDECREF(part_obj);
    Py_XDECREF(tp);
    Py_XDECREF(q);
    Py_XDECREF(ts);
    Py_XDECREF((PyObject *)future);
    return result;
slow:
    return PyObject_Vectorcall(self->slow_send, args, nargsf, kwnames);
}

static PyMethodDef SendCore_methods[] = {
    {"send", (PyCFunction)(void (*)(void))SendCore_send, METH_FASTCALL | METH_KEYWORDS,
     "Producer.send's fast path (the reference is the Python method it falls back to)."},
    {NULL},
};

static PyMemberDef SendCore_members[] = {
    {"enabled", T_BOOL, offsetof(SendCoreObject, enabled), 0,
     "False: every call goes to the Python reference."},
    {NULL},
};

static PyTypeObject SendCore_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkaio.records._native.SendCore",
    .tp_basicsize = sizeof(SendCoreObject),
    .tp_dealloc = (destructor)SendCore_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The producer's per-record fast path (see Producer.send).",
    .tp_traverse = (traverseproc)SendCore_traverse,
    .tp_clear = (inquiry)SendCore_clear,
    .tp_methods = SendCore_methods,
    .tp_members = SendCore_members,
    .tp_new = SendCore_new,
};

static int
producer_types_ready(PyObject *module)
{
    const char *names[] = {"value", "key", "partition", "timestamp_ms", "headers"};
    for (int i = 0; i < 5; i++) {
        if ((send_kwnames[i] = PyUnicode_InternFromString(names[i])) == NULL)
            return -1;
    }
    if ((str_batches = PyUnicode_InternFromString("batches")) == NULL
        || (minus_one = PyLong_FromLong(-1)) == NULL || (empty_tuple = PyTuple_New(0)) == NULL)
        return -1;
    PyTypeObject *types[] = {&RecordFuture_Type, &RecordFutureIter_Type, &SendReady_Type,
                             &SendCore_Type,     &BatchCore_Type,        &PoolCore_Type};
    const char *public_names[] = {"RecordFuture", NULL, "SendReady", "SendCore", "BatchCore",
                                  "PoolCore"};
    for (int i = 0; i < 6; i++) {
        if (PyType_Ready(types[i]) < 0)
            return -1;
        if (public_names[i] != NULL) {
            Py_INCREF(types[i]);
            if (PyModule_AddObject(module, public_names[i], (PyObject *)types[i]) < 0) {
                Py_DECREF(types[i]);
                return -1;
            }
        }
    }
    return 0;
}
