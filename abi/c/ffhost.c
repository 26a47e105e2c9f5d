/*
 * ffhost.c: the C SDK for ffwasmhost plugins (see ffhost.h and abi/ABI.md).
 *
 * Messages are built without printf, so a plugin that does not call
 * ff_logf links no printf.
 */
#include "ffhost.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Small helpers -------------------------------------------------------- */

/* buf is a growable byte string; a failed allocation sets oom and drops further appends. */
typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void buf_add(buf *b, const void *p, size_t n) {
    if (b->oom || n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_u64(buf *b, uint64_t v) {
    char d[20];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    buf_add(b, d + i, sizeof d - i);
}

static void buf_i64(buf *b, int64_t v) {
    if (v < 0) {
        buf_add(b, "-", 1);
        buf_u64(b, (uint64_t)0 - (uint64_t)v);
        return;
    }
    buf_u64(b, (uint64_t)v);
}

/* buf_take returns b's string for an ff_error, or NULL (freeing b) if memory ran out. */
static char *buf_take(buf *b) {
    if (b->oom || b->p == NULL) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_u64(uint8_t *p, uint64_t v) {
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* ---- Status and errors ------------------------------------------------------ */

ff_status ff_status_from_raw(uint32_t raw) { return raw <= FF_INVALID ? (ff_status)raw : FF_OTHER; }

const char *ff_status_name(ff_status status) {
    switch (status) {
    case FF_OK:
        return "ok";
    case FF_BUSY:
        return "busy";
    case FF_CONSTRAINT:
        return "constraint";
    case FF_NOT_AUTHORIZED:
        return "not_authorized";
    case FF_INVALID:
        return "invalid";
    default:
        return "other";
    }
}

void ff_error_clear(ff_error *err) {
    if (err == NULL)
        return;
    free(err->msg);
    free(err->context);
    err->status = FF_OK;
    err->msg = NULL;
    err->context = NULL;
}

/* set_msg stores status and the n bytes at msg in err (which may be NULL) and returns status. */
static ff_status set_msg(ff_error *err, ff_status status, const char *msg, size_t n) {
    if (err == NULL)
        return status;
    ff_error_clear(err);
    err->status = status;
    err->msg = malloc(n + 1);
    if (err->msg != NULL) {
        memcpy(err->msg, msg, n);
        err->msg[n] = '\0';
    }
    return status;
}

/* set_buf stores status and b's text in err, freeing b, and returns status. */
static ff_status set_buf(ff_error *err, ff_status status, buf *b) {
    if (err == NULL) {
        free(b->p);
        return status;
    }
    ff_error_clear(err);
    err->status = status;
    err->msg = buf_take(b);
    return status;
}

ff_status ff_error_set(ff_error *err, ff_status status, const char *msg) {
    return set_msg(err, status, msg, strlen(msg));
}

ff_status ff_error_wrap(ff_error *err, const char *what) {
    if (err == NULL)
        return FF_OTHER;
    if (err->status == FF_OK)
        return FF_OK;
    buf b = {0};
    buf_str(&b, what);
    buf_add(&b, ": ", 2);
    if (err->context != NULL)
        buf_str(&b, err->context);
    char *ctx = buf_take(&b);
    if (ctx == NULL)
        return err->status; /* out of memory: the old context stays */
    free(err->context);
    err->context = ctx;
    return err->status;
}

size_t ff_error_format(const ff_error *err, char *out, size_t cap) {
    const char *parts[5] = {
        err->context ? err->context : "", "ffhost ", ff_status_name(err->status), ": ",
        err->msg ? err->msg : "(no message)",
    };
    size_t n = 0;
    for (size_t i = 0; i < 5; i++) {
        for (const char *s = parts[i]; *s != '\0'; s++, n++)
            if (n + 1 < cap)
                out[n] = *s;
    }
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

char *ff_error_string(const ff_error *err) {
    size_t n = ff_error_format(err, NULL, 0);
    char *s = malloc(n + 1);
    if (s != NULL)
        ff_error_format(err, s, n + 1);
    return s;
}

/* ---- The connection buffer ------------------------------------------------------ */

/* INITIAL_OUT is the connection buffer's first size; it grows to the largest payload seen. */
#define INITIAL_OUT (16u << 10)

/* conn is the one piece of global state: the buffer host results land in. */
static struct {
    uint8_t *p;
    uint32_t cap;
} conn;

/* out_buf returns the connection buffer, allocated on first use (cap 0 if that fails). */
static uint8_t *out_buf(uint32_t *cap) {
    if (conn.p == NULL) {
        conn.p = malloc(INITIAL_OUT);
        conn.cap = conn.p != NULL ? INITIAL_OUT : 0;
    }
    *cap = conn.cap;
    return conn.p;
}

/* out_reserve grows the connection buffer to at least n bytes; false if memory ran out. */
static bool out_reserve(uint32_t n) {
    uint32_t cap;
    out_buf(&cap);
    if (n <= cap)
        return true;
    uint8_t *p = malloc(n); /* the old contents are not needed */
    if (p == NULL)
        return false;
    free(conn.p);
    conn.p = p;
    conn.cap = n;
    return true;
}

/*
 * finish turns a host call's packed result into its payload (in the
 * connection buffer, *payload and *n) or an error, fetching a payload that
 * did not fit.
 */
static ff_status finish(uint64_t result, const uint8_t **payload, uint32_t *n, ff_error *err) {
    uint32_t status = (uint32_t)(result >> 32), len = (uint32_t)result;
    if (len > conn.cap) {
        if (!out_reserve(len)) {
            buf b = {0};
            buf_str(&b, "out of memory for a ");
            buf_u64(&b, len);
            buf_str(&b, "-byte host result");
            return set_buf(err, FF_OTHER, &b);
        }
        int32_t got = ffhost_fetch(conn.p, len);
        if (got < 0 || (uint32_t)got != len) {
            buf b = {0};
            buf_str(&b, "fetch returned ");
            buf_i64(&b, got);
            buf_str(&b, " bytes, want ");
            buf_u64(&b, len);
            return set_buf(err, FF_INVALID, &b);
        }
    }
    if (status != 0)
        return set_msg(err, ff_status_from_raw(status), (const char *)conn.p, len);
    *payload = conn.p;
    *n = len;
    return FF_OK;
}

/* ---- Arguments ----------------------------------------------------------------------- */

/* STACK_ARGS is the encoded size up to which arguments are encoded on the stack. */
#define STACK_ARGS 256

/* args_size stores the encoded size of args in *size, or fails if one cannot be encoded. */
static ff_status args_size(const ff_value *args, size_t nargs, size_t *size, ff_error *err) {
    *size = 0;
    if (nargs == 0)
        return FF_OK;
    if (nargs > UINT32_MAX)
        return ff_error_set(err, FF_INVALID, "too many arguments");
    size_t n = 4;
    for (size_t i = 0; i < nargs; i++) {
        buf b = {0};
        switch (args[i].type) {
        case FF_TYPE_NULL:
            n += 1;
            continue;
        case FF_TYPE_INT:
        case FF_TYPE_FLOAT:
            n += 9;
            continue;
        case FF_TYPE_TEXT:
        case FF_TYPE_BLOB:
            if (args[i].u.bytes.len <= UINT32_MAX - 5 && n <= UINT32_MAX - 5 - args[i].u.bytes.len) {
                n += 5 + args[i].u.bytes.len;
                continue;
            }
            buf_str(&b, "argument ");
            buf_u64(&b, i + 1);
            buf_str(&b, " is too long");
            return set_buf(err, FF_INVALID, &b);
        default:
            buf_str(&b, "argument ");
            buf_u64(&b, i + 1);
            buf_str(&b, " has unknown type ");
            buf_i64(&b, args[i].type);
            return set_buf(err, FF_INVALID, &b);
        }
    }
    *size = n;
    return FF_OK;
}

/* encode_args writes args in the wire encoding (ABI.md, section 6) at p. */
static void encode_args(uint8_t *p, const ff_value *args, size_t nargs) {
    put_u32(p, (uint32_t)nargs);
    p += 4;
    for (size_t i = 0; i < nargs; i++) {
        const ff_value *v = &args[i];
        *p++ = (uint8_t)v->type;
        switch (v->type) {
        case FF_TYPE_INT:
            put_u64(p, (uint64_t)v->u.i);
            p += 8;
            break;
        case FF_TYPE_FLOAT: {
            uint64_t bits;
            memcpy(&bits, &v->u.f, 8);
            put_u64(p, bits);
            p += 8;
            break;
        }
        case FF_TYPE_TEXT:
        case FF_TYPE_BLOB:
            put_u32(p, (uint32_t)v->u.bytes.len);
            p += 4;
            if (v->u.bytes.len > 0)
                memcpy(p, v->u.bytes.p, v->u.bytes.len);
            p += v->u.bytes.len;
            break;
        default:
            break;
        }
    }
}

typedef uint64_t (*sql_fn)(const char *, uint32_t, const uint8_t *, uint32_t, uint8_t *, uint32_t);

/* call_sql encodes args, runs sql through fn and returns the payload as finish does. */
static ff_status call_sql(sql_fn fn, const char *sql, const ff_value *args, size_t nargs,
                          const uint8_t **payload, uint32_t *n, ff_error *err) {
    size_t size;
    ff_status st = args_size(args, nargs, &size, err);
    if (st != FF_OK)
        return st;
    size_t sql_len = strlen(sql);
    if (sql_len > UINT32_MAX)
        return ff_error_set(err, FF_INVALID, "statement too long");
    uint8_t stack[STACK_ARGS];
    uint8_t *enc = stack;
    if (size > sizeof stack && (enc = malloc(size)) == NULL)
        return ff_error_set(err, FF_OTHER, "out of memory for the arguments");
    if (size > 0)
        encode_args(enc, args, nargs);
    uint32_t cap;
    uint8_t *out = out_buf(&cap);
    uint64_t r = fn(sql, (uint32_t)sql_len, enc, (uint32_t)size, out, cap);
    if (enc != stack)
        free(enc);
    return finish(r, payload, n, err);
}

/* ---- Statements --------------------------------------------------------------------------- */

ff_status ff_exec(const char *sql, const ff_value *args, size_t nargs, ff_exec_result *res,
                  ff_error *err) {
    const uint8_t *p;
    uint32_t n;
    ff_status st = call_sql(ffhost_sql_exec, sql, args, nargs, &p, &n, err);
    if (st != FF_OK)
        return st;
    if (n != 16) {
        buf b = {0};
        buf_str(&b, "exec result of ");
        buf_u64(&b, n);
        buf_str(&b, " bytes, want 16");
        return set_buf(err, FF_INVALID, &b);
    }
    if (res != NULL) {
        res->rows_affected = (int64_t)get_u64(p);
        res->last_insert_id = (int64_t)get_u64(p + 8);
    }
    return FF_OK;
}

const char *ff_type_name(ff_type type) {
    switch (type) {
    case FF_TYPE_NULL:
        return "NULL";
    case FF_TYPE_INT:
        return "INTEGER";
    case FF_TYPE_FLOAT:
        return "REAL";
    case FF_TYPE_TEXT:
        return "TEXT";
    case FF_TYPE_BLOB:
        return "BLOB";
    }
    return "unknown";
}

/* decode_error stores "decode query result: WHAT" (FF_INVALID) in err. */
static ff_status decode_error(ff_error *err, const char *what) {
    buf b = {0};
    buf_str(&b, "decode query result: ");
    buf_str(&b, what);
    return set_buf(err, FF_INVALID, &b);
}

/* rows_u32 reads a u32 at rows->off; false if fewer than 4 bytes are left. */
static bool rows_u32(ff_rows *rows, uint32_t *v) {
    if (rows->len - rows->off < 4)
        return false;
    *v = get_u32(rows->buf + rows->off);
    rows->off += 4;
    return true;
}

ff_status ff_query(const char *sql, const ff_value *args, size_t nargs, ff_rows *rows,
                   ff_error *err) {
    memset(rows, 0, sizeof *rows);
    const uint8_t *p;
    uint32_t n;
    ff_status st = call_sql(ffhost_sql_query, sql, args, nargs, &p, &n, err);
    if (st != FF_OK)
        return st;
    rows->buf = malloc(n > 0 ? n : 1);
    if (rows->buf == NULL)
        return ff_error_set(err, FF_OTHER, "out of memory for the query result");
    memcpy(rows->buf, p, n);
    rows->len = n;

    /* The checks of abi.QueryHeader: no count may claim more than the bytes left. */
    uint32_t ncols, nrows;
    if (!rows_u32(rows, &ncols) || ncols > (rows->len - rows->off) / 4) {
        ff_rows_close(rows);
        return decode_error(err, "column count past the end");
    }
    rows->names = calloc(ncols > 0 ? ncols : 1, sizeof *rows->names);
    rows->vals = calloc(ncols > 0 ? ncols : 1, sizeof *rows->vals);
    if (rows->names == NULL || rows->vals == NULL) {
        ff_rows_close(rows);
        return ff_error_set(err, FF_OTHER, "out of memory for the query result");
    }
    rows->ncols = ncols;
    for (uint32_t i = 0; i < ncols; i++) {
        uint32_t len;
        if (!rows_u32(rows, &len) || len > rows->len - rows->off) {
            ff_rows_close(rows);
            return decode_error(err, "column name past the end");
        }
        rows->names[i] = malloc((size_t)len + 1);
        if (rows->names[i] == NULL) {
            ff_rows_close(rows);
            return ff_error_set(err, FF_OTHER, "out of memory for the query result");
        }
        memcpy(rows->names[i], rows->buf + rows->off, len);
        rows->names[i][len] = '\0';
        rows->off += len;
    }
    uint64_t per_row = ncols > 0 ? ncols : 1;
    if (!rows_u32(rows, &nrows) || (uint64_t)nrows * per_row > rows->len - rows->off) {
        ff_rows_close(rows);
        return decode_error(err, "row count past the end");
    }
    rows->left = nrows;
    return FF_OK;
}

int ff_rows_next(ff_rows *rows, ff_error *err) {
    rows->have_row = false;
    if (rows->left == 0)
        return 0;
    rows->left--;
    for (uint32_t i = 0; i < rows->ncols; i++) {
        ff_value *v = &rows->vals[i];
        if (rows->off >= rows->len) {
            rows->left = 0;
            decode_error(err, "row past the end");
            return -1;
        }
        uint8_t tag = rows->buf[rows->off++];
        size_t left = rows->len - rows->off;
        switch (tag) {
        case FF_TYPE_NULL:
            *v = ff_null();
            break;
        case FF_TYPE_INT:
        case FF_TYPE_FLOAT:
            if (left < 8) {
                rows->left = 0;
                decode_error(err, "value past the end");
                return -1;
            }
            v->type = (ff_type)tag;
            if (tag == FF_TYPE_INT) {
                v->u.i = (int64_t)get_u64(rows->buf + rows->off);
            } else {
                uint64_t bits = get_u64(rows->buf + rows->off);
                memcpy(&v->u.f, &bits, 8);
            }
            rows->off += 8;
            break;
        case FF_TYPE_TEXT:
        case FF_TYPE_BLOB: {
            uint32_t len;
            if (!rows_u32(rows, &len) || len > rows->len - rows->off) {
                rows->left = 0;
                decode_error(err, "value past the end");
                return -1;
            }
            v->type = (ff_type)tag;
            v->u.bytes.p = rows->buf + rows->off;
            v->u.bytes.len = len;
            rows->off += len;
            break;
        }
        default:
            rows->left = 0;
            decode_error(err, "unknown value tag");
            return -1;
        }
    }
    rows->have_row = true;
    return 1;
}

uint32_t ff_rows_columns(const ff_rows *rows) { return rows->ncols; }

const char *ff_rows_column_name(const ff_rows *rows, uint32_t col) {
    return col < rows->ncols ? rows->names[col] : NULL;
}

const ff_value *ff_rows_value(const ff_rows *rows, uint32_t col) {
    return rows->have_row && col < rows->ncols ? &rows->vals[col] : NULL;
}

bool ff_rows_is_null(const ff_rows *rows, uint32_t col) {
    const ff_value *v = ff_rows_value(rows, col);
    return v == NULL || v->type == FF_TYPE_NULL;
}

/*
 * typed stores column col's value in *out if its type is want or alt, and
 * otherwise fails naming the column.
 */
static ff_status typed(const ff_rows *rows, uint32_t col, ff_type want, ff_type alt,
                       const char *want_name, const ff_value **out, ff_error *err) {
    const ff_value *v = ff_rows_value(rows, col);
    if (v != NULL && (v->type == want || v->type == alt)) {
        *out = v;
        return FF_OK;
    }
    buf b = {0};
    buf_str(&b, "column ");
    buf_u64(&b, col);
    if (v == NULL) {
        buf_str(&b, rows->have_row ? " is past the last column" : ": no current row (call ff_rows_next)");
        return set_buf(err, FF_INVALID, &b);
    }
    buf_str(&b, " (");
    buf_str(&b, rows->names[col]);
    buf_str(&b, ") is ");
    buf_str(&b, ff_type_name(v->type));
    buf_str(&b, ", want ");
    buf_str(&b, want_name);
    return set_buf(err, FF_OTHER, &b);
}

ff_status ff_rows_int64(const ff_rows *rows, uint32_t col, int64_t *out, ff_error *err) {
    const ff_value *v;
    ff_status st = typed(rows, col, FF_TYPE_INT, FF_TYPE_INT, "INTEGER", &v, err);
    if (st == FF_OK)
        *out = v->u.i;
    return st;
}

ff_status ff_rows_double(const ff_rows *rows, uint32_t col, double *out, ff_error *err) {
    const ff_value *v;
    ff_status st = typed(rows, col, FF_TYPE_FLOAT, FF_TYPE_INT, "REAL or INTEGER", &v, err);
    if (st == FF_OK)
        *out = v->type == FF_TYPE_FLOAT ? v->u.f : (double)v->u.i;
    return st;
}

ff_status ff_rows_text(const ff_rows *rows, uint32_t col, const char **s, size_t *len, ff_error *err) {
    const ff_value *v;
    ff_status st = typed(rows, col, FF_TYPE_TEXT, FF_TYPE_BLOB, "TEXT or BLOB", &v, err);
    if (st == FF_OK) {
        *s = v->u.bytes.p;
        *len = v->u.bytes.len;
    }
    return st;
}

ff_status ff_rows_blob(const ff_rows *rows, uint32_t col, const void **p, size_t *len, ff_error *err) {
    const ff_value *v;
    ff_status st = typed(rows, col, FF_TYPE_BLOB, FF_TYPE_TEXT, "BLOB or TEXT", &v, err);
    if (st == FF_OK) {
        *p = v->u.bytes.p;
        *len = v->u.bytes.len;
    }
    return st;
}

void ff_rows_close(ff_rows *rows) {
    if (rows->names != NULL)
        for (uint32_t i = 0; i < rows->ncols; i++)
            free(rows->names[i]);
    free(rows->names);
    free(rows->vals);
    free(rows->buf);
    memset(rows, 0, sizeof *rows);
}

/* ---- Transactions ------------------------------------------------------------------------------ */

typedef uint64_t (*tx_fn)(uint8_t *, uint32_t);

static ff_status call_tx(tx_fn fn, ff_error *err) {
    uint32_t cap;
    uint8_t *out = out_buf(&cap);
    const uint8_t *p;
    uint32_t n;
    return finish(fn(out, cap), &p, &n, err);
}

ff_status ff_tx_begin(ff_error *err) { return call_tx(ffhost_tx_begin, err); }
ff_status ff_tx_commit(ff_error *err) { return call_tx(ffhost_tx_commit, err); }
ff_status ff_tx_rollback(ff_error *err) { return call_tx(ffhost_tx_rollback, err); }

/* ---- Configuration (ABI 1.3) ----------------------------------------------------------------- */

/* config_type_error fails with "config key KEY is not WHAT". */
static ff_status config_type_error(ff_error *err, const char *key, const char *what) {
    buf b = {0};
    buf_str(&b, "config key ");
    buf_str(&b, key);
    buf_str(&b, " is not ");
    buf_str(&b, what);
    return set_buf(err, FF_INVALID, &b);
}

ff_status ff_config(const char *key, char **value, size_t *len, ff_error *err) {
    *value = NULL;
    uint32_t cap;
    uint8_t *out = out_buf(&cap);
    const uint8_t *p;
    uint32_t n;
    size_t key_len = strlen(key);
    ff_status st = finish(ffhost_config_get(key, key_len > UINT32_MAX ? UINT32_MAX : (uint32_t)key_len, out, cap),
                          &p, &n, err);
    if (st != FF_OK)
        return st;
    char *v = malloc((size_t)n + 1);
    if (v == NULL)
        return ff_error_set(err, FF_OTHER, "out of memory for a config value");
    memcpy(v, p, n);
    v[n] = '\0';
    *value = v;
    if (len != NULL)
        *len = n;
    return FF_OK;
}

ff_status ff_config_int64(const char *key, int64_t *out, ff_error *err) {
    char *v;
    ff_status st = ff_config(key, &v, NULL, err);
    if (st != FF_OK)
        return st;
    char *end;
    long long n = strtoll(v, &end, 10);
    bool ok = *v != '\0' && *end == '\0';
    free(v);
    if (!ok)
        return config_type_error(err, key, "an int");
    *out = (int64_t)n;
    return FF_OK;
}

ff_status ff_config_bool(const char *key, bool *out, ff_error *err) {
    char *v;
    ff_status st = ff_config(key, &v, NULL, err);
    if (st != FF_OK)
        return st;
    bool t = strcmp(v, "true") == 0, f = strcmp(v, "false") == 0;
    free(v);
    if (!t && !f)
        return config_type_error(err, key, "a bool");
    *out = t;
    return FF_OK;
}

/* backoff_ms are the waits before the second and third attempts of a busy call. */
static const long backoff_ms[] = {5, 10};

ff_status ff_retry(ff_fn fn, void *arg, ff_error *err) {
    ff_error local = FF_ERROR_INIT;
    ff_error *e = err != NULL ? err : &local;
    ff_status st = fn(arg, e);
    for (size_t i = 0; i < sizeof backoff_ms / sizeof backoff_ms[0] && st == FF_BUSY; i++) {
        struct timespec ts = {0, backoff_ms[i] * 1000000L};
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
        ff_error_clear(e);
        st = fn(arg, e);
    }
    ff_error_clear(&local);
    return st;
}

/* tx_call is ff_with_tx's body and its argument. */
typedef struct tx_call {
    ff_fn fn;
    void *arg;
} tx_call;

/* tx_once is one attempt of ff_with_tx. */
static ff_status tx_once(void *p, ff_error *err) {
    const tx_call *c = p;
    if (ff_tx_begin(err) != FF_OK)
        return ff_error_wrap(err, "begin"); /* nothing to roll back */
    ff_status st = c->fn(c->arg, err);
    if (st != FF_OK) {
        if (err->status == FF_OK) /* fn failed without saying why */
            ff_error_set(err, st, "transaction body failed");
        ff_tx_rollback(NULL);
        return st;
    }
    if (ff_tx_commit(err) != FF_OK) {
        ff_tx_rollback(NULL); /* a failed commit leaves the transaction open */
        return ff_error_wrap(err, "commit");
    }
    return FF_OK;
}

ff_status ff_with_tx(ff_fn fn, void *arg, ff_error *err) {
    tx_call c = {fn, arg};
    return ff_retry(tx_once, &c, err);
}

/* ---- Log and report ------------------------------------------------------------------------------ */

void ff_log_n(ff_level level, const char *msg, size_t len) {
    ffhost_log((int32_t)level, msg, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
}

void ff_log(ff_level level, const char *msg) { ff_log_n(level, msg, strlen(msg)); }

void ff_logf(ff_level level, const char *format, ...) {
    char small[256];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(small, sizeof small, format, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ff_log_n(level, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        ff_log_n(level, small, sizeof small - 1); /* cut, rather than nothing */
        return;
    }
    va_start(ap, format);
    vsnprintf(big, (size_t)n + 1, format, ap);
    va_end(ap);
    ff_log_n(level, big, (size_t)n);
    free(big);
}

void ff_tick_report(int64_t processed, int64_t errors) { ffhost_tick_report(processed, errors); }

void ff_tick_error(const char *msg) { ffhost_tick_error(msg, (uint32_t)strlen(msg)); }

int32_t ff_run_tick(ff_tick_fn tick, int64_t now_ms) {
    ff_report rep = {0, 0, false};
    ff_error err = FF_ERROR_INIT;
    ff_status st = tick(now_ms, &rep, &err);
    ffhost_tick_report(rep.processed, rep.errors);
    if (rep.more)
        ffhost_tick_more();
    if (st == FF_OK) {
        ff_error_clear(&err);
        return 0;
    }
    if (err.status == FF_OK)
        ff_error_set(&err, st, "tick failed");
    char *line = ff_error_string(&err);
    if (line != NULL) {
        ff_tick_error(line);
        free(line);
    } else {
        ff_tick_error("tick failed (out of memory for its message)");
    }
    ff_error_clear(&err);
    return 1;
}

/* ---- Descriptor ------------------------------------------------------------------------------------- */

/* writer writes into a fixed buffer like snprintf, counting what did not fit. */
typedef struct writer {
    char *p;
    size_t cap, n;
} writer;

static void w_bytes(writer *w, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++, w->n++)
        if (w->n + 1 < w->cap)
            w->p[w->n] = s[i];
}

static void w_str(writer *w, const char *s) { w_bytes(w, s, strlen(s)); }

/*
 * next_rune decodes the UTF-8 sequence at s (n bytes left) as Go's
 * utf8.DecodeRuneInString does: an invalid or short sequence is U+FFFD
 * of width 1. It returns the rune and stores its width.
 */
static uint32_t next_rune(const unsigned char *s, size_t n, size_t *width) {
    unsigned char c = s[0];
    *width = 1;
    if (c < 0x80)
        return c;
    size_t len;
    uint32_t r;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        r = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        r = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0xFFFD;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0xFFFD;
    r = r << 6 | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0xFFFD;
        r = r << 6 | (s[i] & 0x3F);
    }
    *width = len;
    return r;
}

/* w_json_string writes s as a JSON string, as the Go SDK's appendJSONString does. */
static void w_json_string(writer *w, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    w_bytes(w, "\"", 1);
    while (n > 0) {
        size_t width;
        uint32_t r = next_rune(p, n, &width);
        if (r == '"' || r == '\\') {
            char e[2] = {'\\', (char)r};
            w_bytes(w, e, 2);
        } else if (r < 0x20 || r == 0x7F || r == 0x2028 || r == 0x2029) {
            char e[6] = {'\\', 'u', hex[r >> 12 & 0xF], hex[r >> 8 & 0xF], hex[r >> 4 & 0xF], hex[r & 0xF]};
            w_bytes(w, e, 6);
        } else if (r == 0xFFFD && width == 1) {
            w_bytes(w, "\xEF\xBF\xBD", 3);
        } else {
            w_bytes(w, (const char *)p, width);
        }
        p += width;
        n -= width;
    }
    w_bytes(w, "\"", 1);
}

static void w_tables(writer *w, const char *key, const char *const *tables) {
    w_str(w, ",\"");
    w_str(w, key);
    w_str(w, "\":[");
    for (size_t i = 0; tables != NULL && tables[i] != NULL; i++) {
        if (i > 0)
            w_bytes(w, ",", 1);
        w_json_string(w, tables[i]);
    }
    w_bytes(w, "]", 1);
}

static void w_int(writer *w, int64_t n) {
    char num[24];
    size_t i = sizeof num;
    uint64_t v = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (n < 0)
        num[--i] = '-';
    w_bytes(w, num + i, sizeof num - i);
}

static int has_migrations(const ff_migration *m) { return m != NULL && m[0].sql != NULL; }

/* w_migrations writes "KEY":[{"id":..,"name":..,"sql":..},...]. */
static void w_migrations(writer *w, const char *key, const ff_migration *m) {
    w_bytes(w, "\"", 1);
    w_str(w, key);
    w_str(w, "\":[");
    for (size_t i = 0; m[i].sql != NULL; i++) {
        if (i > 0)
            w_bytes(w, ",", 1);
        w_str(w, "{\"id\":");
        w_int(w, m[i].id);
        w_str(w, ",\"name\":");
        w_json_string(w, m[i].name != NULL ? m[i].name : "");
        w_str(w, ",\"sql\":");
        w_json_string(w, m[i].sql);
        w_bytes(w, "}", 1);
    }
    w_bytes(w, "]", 1);
}

size_t ff_descriptor_json(const ff_descriptor *d, char *out, size_t cap) {
    writer w = {out, cap, 0};

    w_str(&w, "{\"name\":");
    w_json_string(&w, d->name);
    w_str(&w, ",\"abi_version\":");
    w_json_string(&w, FFHOST_ABI_VERSION);
    w_str(&w, ",\"version\":");
    w_json_string(&w, d->version);
    w_str(&w, ",\"default_interval_ms\":");
    w_int(&w, d->default_interval_ms);
    w_tables(&w, "reads", d->reads);
    w_tables(&w, "writes", d->writes);
    w_str(&w, ",\"description\":");
    w_json_string(&w, d->description);
    if (d->owns != NULL && d->owns[0] != NULL)
        w_tables(&w, "owns", d->owns);
    /* Dialects in order, as the Go SDK writes them. */
    if (has_migrations(d->postgres_migrations) || has_migrations(d->sqlite_migrations)) {
        w_str(&w, ",\"migrations\":{");
        if (has_migrations(d->postgres_migrations))
            w_migrations(&w, "postgres", d->postgres_migrations);
        if (has_migrations(d->postgres_migrations) && has_migrations(d->sqlite_migrations))
            w_bytes(&w, ",", 1);
        if (has_migrations(d->sqlite_migrations))
            w_migrations(&w, "sqlite", d->sqlite_migrations);
        w_bytes(&w, "}", 1);
    }
    if (d->config != NULL && d->config[0].name != NULL) {
        w_str(&w, ",\"config\":[");
        for (size_t k = 0; d->config[k].name != NULL; k++) {
            if (k > 0)
                w_bytes(&w, ",", 1);
            w_str(&w, "{\"name\":");
            w_json_string(&w, d->config[k].name);
            w_str(&w, ",\"type\":");
            w_json_string(&w, d->config[k].type);
            w_str(&w, ",\"default\":");
            w_json_string(&w, d->config[k].default_value);
            w_str(&w, ",\"doc\":");
            w_json_string(&w, d->config[k].doc);
            w_bytes(&w, "}", 1);
        }
        w_bytes(&w, "]", 1);
    }
    w_bytes(&w, "}", 1);
    if (cap > 0)
        out[w.n < cap ? w.n : cap - 1] = '\0';
    return w.n;
}

uint64_t ff_describe(const ff_descriptor *d) {
    size_t n = ff_descriptor_json(d, NULL, 0);
    if (n >= UINT32_MAX || !out_reserve((uint32_t)n + 1))
        return 0;
    ff_descriptor_json(d, (char *)conn.p, n + 1);
    return (uint64_t)(uintptr_t)conn.p << 32 | (uint32_t)n;
}
