/*
 * ffhost.h: the C SDK for ffwasmhost plugins, ABI 1.3 (abi/ABI.md).
 *
 * Build a plugin as a WASI reactor with clang and wasi-libc:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wl,--strip-all \
 *       -Wl,--stack-first -Iabi/c -o my_plugin.wasm my_plugin.c abi/c/ffhost.c
 *
 * That is Debian 12's clang 14 and wasi-libc. With wasi-sdk 22 or later,
 * name its sysroot and the newer target name:
 * --target=wasm32-wasip1 --sysroot=$WASI_SDK/share/wasi-sysroot.
 *
 * A plugin declares a descriptor and a tick function and exports them with
 * FF_PLUGIN:
 *
 *   static const char *const writes[] = {"jobs", NULL};
 *   static const ff_descriptor desc = {
 *       .name = "stale_jobs", .version = "0.1.0",
 *       .description = "Marks jobs whose lease expired as stale.",
 *       .default_interval_ms = 10000, .writes = writes,
 *   };
 *
 *   static ff_status tick(int64_t now_ms, ff_report *rep, ff_error *err) {
 *       ff_exec_result res;
 *       if (ff_exec("UPDATE jobs SET state = 'stale' WHERE lease_until_ms < ?",
 *                   FF_ARGS(ff_int64(now_ms)), &res, err) != FF_OK)
 *           return ff_error_wrap(err, "mark stale jobs");
 *       rep->processed = res.rows_affected;
 *       return FF_OK;
 *   }
 *
 *   FF_PLUGIN(desc, tick)
 *
 * Conventions:
 *
 * - Every call that can fail returns an ff_status: FF_OK, or the class of
 *   the failure, which is also stored in *err with the message. err may be
 *   NULL when the caller needs only the status.
 * - Memory: the SDK keeps one piece of global state, the connection
 *   buffer the host writes results into (16 KiB at first, grown to the
 *   largest result seen, never shrunk). Nothing a function returns points
 *   into it except ff_describe's result, which the host copies at once.
 *   Everything else is owned by the caller's structs and freed by their
 *   functions: an ff_rows by ff_rows_close, an ff_error by ff_error_clear.
 *   Arguments (SQL text, ff_value text and blobs, descriptor strings) are
 *   only borrowed for the duration of the call.
 * - Strings passed in are NUL-terminated UTF-8 unless a length is given.
 *   Text and blobs read from rows are (pointer, length) pairs, not
 *   NUL-terminated, and may contain NUL bytes.
 * - Nothing here is thread-safe; a plugin instance runs one call at a time.
 */
#ifndef FFHOST_H
#define FFHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* FFHOST_ABI_VERSION is the ABI version this SDK speaks, as describe reports it. */
#define FFHOST_ABI_VERSION "1.4"

/*
 * Raw imports (ABI.md, section 4). The functions below wrap them; a plugin
 * rarely needs them directly.
 */
#define FFHOST_IMPORT(name) __attribute__((import_module("ffhost"), import_name(name)))

/* ffhost_sql_exec runs one statement; the payload is the 16-byte exec result. */
FFHOST_IMPORT("sql_exec")
uint64_t ffhost_sql_exec(const char *sql, uint32_t sql_len, const uint8_t *args, uint32_t args_len,
                         uint8_t *out, uint32_t out_cap);
/* ffhost_sql_query runs one statement; the payload is the encoded rows. */
FFHOST_IMPORT("sql_query")
uint64_t ffhost_sql_query(const char *sql, uint32_t sql_len, const uint8_t *args, uint32_t args_len,
                          uint8_t *out, uint32_t out_cap);
/* ffhost_fetch copies a payload that did not fit the out buffer. */
FFHOST_IMPORT("fetch")
int32_t ffhost_fetch(uint8_t *out, uint32_t out_cap);
/* ffhost_tx_begin runs BEGIN IMMEDIATE. */
FFHOST_IMPORT("tx_begin")
uint64_t ffhost_tx_begin(uint8_t *out, uint32_t out_cap);
/* ffhost_tx_commit commits; on failure the transaction stays open. */
FFHOST_IMPORT("tx_commit")
uint64_t ffhost_tx_commit(uint8_t *out, uint32_t out_cap);
/* ffhost_tx_rollback rolls back; the transaction is closed even if it fails. */
FFHOST_IMPORT("tx_rollback")
uint64_t ffhost_tx_rollback(uint8_t *out, uint32_t out_cap);
/* ffhost_log writes one line to the host's log. */
FFHOST_IMPORT("log")
void ffhost_log(int32_t level, const char *msg, uint32_t msg_len);
/* ffhost_tick_report sets the running tick's counts. */
FFHOST_IMPORT("tick_report")
void ffhost_tick_report(int64_t processed, int64_t errors);
/* ffhost_tick_error sets the running tick's failure message. */
FFHOST_IMPORT("tick_error")
void ffhost_tick_error(const char *msg, uint32_t msg_len);
/* ffhost_tick_more says the running tick stopped with work left (ABI 1.1). */
FFHOST_IMPORT("tick_more")
void ffhost_tick_more(void);
/* ffhost_config_get reads the value of one of the plugin's config keys (ABI 1.3). */
FFHOST_IMPORT("config_get")
uint64_t ffhost_config_get(const char *key, uint32_t key_len, uint8_t *out, uint32_t out_cap);
/* ffhost_tick_partition is the partition the running tick is for, -1
 * outside scan_tick (ABI 1.4). A plugin's descriptor lists no dialects:
 * it runs on SQLite only, where the partition is always 0. */
FFHOST_IMPORT("tick_partition")
int32_t ffhost_tick_partition(void);
/* ffhost_sql_dialect is the running tick's SQL dialect: 0 SQLite, 1
 * PostgreSQL, -1 outside scan_tick (ABI 1.4). */
FFHOST_IMPORT("sql_dialect")
int32_t ffhost_sql_dialect(void);

/* ---- Status and errors ---------------------------------------------- */

/* ff_status is the class of a call's outcome (ABI.md, section 5). */
typedef enum ff_status {
    FF_OK = 0,             /* success */
    FF_BUSY = 1,           /* the database was busy or locked: retry after a short wait */
    FF_CONSTRAINT = 2,     /* a constraint failed */
    FF_NOT_AUTHORIZED = 3, /* the statement touches what the descriptor does not declare */
    FF_OTHER = 4,          /* any other failure, including a status this SDK does not know */
    FF_INVALID = 5         /* the call itself was wrong: a bug in the plugin */
} ff_status;

/* ff_status_from_raw maps a host status number to its class; unknown ones are FF_OTHER. */
ff_status ff_status_from_raw(uint32_t raw);

/* ff_status_name returns the status's name as ABI.md spells it: "ok", "busy", ... */
const char *ff_status_name(ff_status status);

/*
 * ff_error is a failed call: its status class, the message (the host's own
 * for a failed host call, else the SDK's or the plugin's) and the context
 * added by ff_error_wrap. Initialize it with FF_ERROR_INIT; the SDK frees
 * what it held before it stores a new error. Free it with ff_error_clear.
 */
typedef struct ff_error {
    ff_status status; /* FF_OK while no error is stored */
    char *msg;        /* NUL-terminated, heap-allocated, owned; NULL while no error is stored */
    char *context;    /* "what: " prefixes, outermost first, owned; NULL if none */
} ff_error;

/* FF_ERROR_INIT is the initializer of an empty ff_error. */
#define FF_ERROR_INIT {FF_OK, NULL, NULL}

/* ff_error_clear frees what err holds and leaves it empty. err may be NULL. */
void ff_error_clear(ff_error *err);

/*
 * ff_error_set stores a new error (status, msg copied) in err, for a
 * plugin's own failures, and returns status. err may be NULL.
 */
ff_status ff_error_set(ff_error *err, ff_status status, const char *msg);

/*
 * ff_error_wrap prefixes err's message with "what: ", as Go's
 * fmt.Errorf("%s: %w") does, and returns err's status, so that a failed
 * call is passed up in one line: return ff_error_wrap(err, "reset usage").
 * The status survives only in err: wrapping a NULL err returns FF_OTHER,
 * so code that wraps needs a real ff_error (a tick's err always is one).
 */
ff_status ff_error_wrap(ff_error *err, const char *what);

/*
 * ff_error_format writes err as one line, "CONTEXT ffhost STATUS: MSG"
 * (e.g. "commit: ffhost busy: database is locked"), into buf like
 * snprintf: at most cap bytes including the NUL, and returns the full
 * length without the NUL.
 */
size_t ff_error_format(const ff_error *err, char *buf, size_t cap);

/* ff_error_string returns ff_error_format's line on the heap (free it), or NULL if memory ran out. */
char *ff_error_string(const ff_error *err);

/* ---- Values ----------------------------------------------------------- */

/* ff_type is a value's type, numbered as the wire tags. */
typedef enum ff_type {
    FF_TYPE_NULL = 0,
    FF_TYPE_INT = 1,   /* SQLite INTEGER: int64_t */
    FF_TYPE_FLOAT = 2, /* SQLite REAL: double */
    FF_TYPE_TEXT = 3,  /* SQLite TEXT: bytes, UTF-8 expected */
    FF_TYPE_BLOB = 4   /* SQLite BLOB: bytes */
} ff_type;

/* ff_type_name returns the SQLite name of a type: "NULL", "INTEGER", "REAL", "TEXT", "BLOB". */
const char *ff_type_name(ff_type type);

/* ff_value is an argument to a statement or a value read from a row. */
typedef struct ff_value {
    ff_type type;
    union {
        int64_t i; /* FF_TYPE_INT */
        double f;  /* FF_TYPE_FLOAT */
        struct {
            const void *p; /* FF_TYPE_TEXT, FF_TYPE_BLOB: borrowed */
            size_t len;
        } bytes;
    } u;
} ff_value;

/* ff_null is a NULL argument. */
static inline ff_value ff_null(void) {
    ff_value v;
    v.type = FF_TYPE_NULL;
    v.u.i = 0;
    return v;
}

/* ff_int64 is an INTEGER argument. */
static inline ff_value ff_int64(int64_t i) {
    ff_value v;
    v.type = FF_TYPE_INT;
    v.u.i = i;
    return v;
}

/* ff_double is a REAL argument. */
static inline ff_value ff_double(double f) {
    ff_value v;
    v.type = FF_TYPE_FLOAT;
    v.u.f = f;
    return v;
}

/* ff_text is a TEXT argument of len bytes at s. */
static inline ff_value ff_text(const char *s, size_t len) {
    ff_value v;
    v.type = FF_TYPE_TEXT;
    v.u.bytes.p = s;
    v.u.bytes.len = len;
    return v;
}

/* ff_cstr is a TEXT argument from a NUL-terminated string. */
static inline ff_value ff_cstr(const char *s) {
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return ff_text(s, n);
}

/* ff_blob is a BLOB argument of len bytes at p. */
static inline ff_value ff_blob(const void *p, size_t len) {
    ff_value v;
    v.type = FF_TYPE_BLOB;
    v.u.bytes.p = p;
    v.u.bytes.len = len;
    return v;
}

/*
 * FF_ARGS(...) expands to the two parameters (args, nargs) of ff_exec and
 * ff_query from a list of ff_value expressions:
 * ff_exec(sql, FF_ARGS(ff_int64(now), ff_cstr(id)), &res, err).
 * FF_NO_ARGS is the same for none.
 */
#define FF_ARGS(...) \
    ((const ff_value[]){__VA_ARGS__}), (sizeof((const ff_value[]){__VA_ARGS__}) / sizeof(ff_value))
/* FF_NO_ARGS is FF_ARGS for a statement without parameters. */
#define FF_NO_ARGS NULL, 0

/* ---- Statements -------------------------------------------------------- */

/* ff_exec_result is what ff_exec did. */
typedef struct ff_exec_result {
    int64_t rows_affected;
    int64_t last_insert_id;
} ff_exec_result;

/*
 * ff_exec runs one statement that returns no rows, binding args[i] to
 * parameter i+1, and stores its result in *res (which may be NULL).
 */
ff_status ff_exec(const char *sql, const ff_value *args, size_t nargs, ff_exec_result *res,
                  ff_error *err);

/*
 * ff_rows is a query's result: a copy of every row the host sent, walked
 * with ff_rows_next. Its fields are private. Close it with ff_rows_close,
 * also after a failed ff_query (which leaves it empty).
 */
typedef struct ff_rows {
    uint8_t *buf;   /* the encoded result, owned */
    size_t len;     /* bytes in buf */
    size_t off;     /* decoding position */
    uint32_t ncols; /* columns */
    uint32_t left;  /* rows not decoded yet */
    char **names;   /* ncols NUL-terminated column names, owned */
    ff_value *vals; /* the current row, pointing into buf */
    bool have_row;  /* vals holds a row */
} ff_rows;

/*
 * ff_query runs one statement that returns rows (a SELECT, or a statement
 * with RETURNING), binding args as ff_exec does, and stores the result in
 * *rows. The rows own their bytes, so other statements may run while they
 * are open.
 */
ff_status ff_query(const char *sql, const ff_value *args, size_t nargs, ff_rows *rows,
                   ff_error *err);

/*
 * ff_rows_next decodes the next row. It returns 1 when the row is ready,
 * 0 after the last row, and -1 (with err set, FF_INVALID) when the result
 * is malformed:
 *
 *   int more;
 *   while ((more = ff_rows_next(&rows, err)) > 0) { ...ff_rows_int64(&rows, 0, &v, err)... }
 *   if (more < 0) ...
 */
int ff_rows_next(ff_rows *rows, ff_error *err);

/* ff_rows_columns returns the number of columns. */
uint32_t ff_rows_columns(const ff_rows *rows);

/* ff_rows_column_name returns column col's name (from 0), or NULL past the last column. */
const char *ff_rows_column_name(const ff_rows *rows, uint32_t col);

/*
 * ff_rows_value returns the current row's value in column col, valid until
 * ff_rows_close, or NULL without a current row or past the last column.
 */
const ff_value *ff_rows_value(const ff_rows *rows, uint32_t col);

/* ff_rows_is_null reports whether the current row's column col is NULL (or missing). */
bool ff_rows_is_null(const ff_rows *rows, uint32_t col);

/*
 * Typed accessors of the current row. Each fails with FF_OTHER and a
 * message naming the column, e.g. "column 1 (next_reset_at_ms) is NULL,
 * want INTEGER", when the value has another type (test ff_rows_is_null
 * first for a nullable column), and with FF_INVALID without a current row
 * or past the last column.
 */

/* ff_rows_int64 reads an INTEGER. */
ff_status ff_rows_int64(const ff_rows *rows, uint32_t col, int64_t *out, ff_error *err);
/* ff_rows_double reads a REAL, or an INTEGER converted to double. */
ff_status ff_rows_double(const ff_rows *rows, uint32_t col, double *out, ff_error *err);
/*
 * ff_rows_text reads a TEXT or BLOB as bytes: *s and *len, valid until
 * ff_rows_close, not NUL-terminated.
 */
ff_status ff_rows_text(const ff_rows *rows, uint32_t col, const char **s, size_t *len, ff_error *err);
/* ff_rows_blob reads a BLOB or TEXT as bytes: *p and *len, valid until ff_rows_close. */
ff_status ff_rows_blob(const ff_rows *rows, uint32_t col, const void **p, size_t *len, ff_error *err);

/* ff_rows_close frees the rows. It is safe on empty or already closed rows. */
void ff_rows_close(ff_rows *rows);

/* ---- Transactions --------------------------------------------------------- */

/* ff_tx_begin starts a BEGIN IMMEDIATE transaction: it takes the write lock or fails busy. */
ff_status ff_tx_begin(ff_error *err);
/* ff_tx_commit commits. If it fails the transaction is still open: roll back (or retry). */
ff_status ff_tx_commit(ff_error *err);
/* ff_tx_rollback rolls back. The transaction is closed even if it fails. */
ff_status ff_tx_rollback(ff_error *err);

/*
 * ff_fn is a unit of work for ff_retry and ff_with_tx: it returns FF_OK, or
 * the status of the error it stored in err (never NULL here).
 */
typedef ff_status (*ff_fn)(void *arg, ff_error *err);

/*
 * ff_retry runs fn(arg), and runs it again after 5 ms and then 10 ms for as
 * long as it fails with FF_BUSY: three attempts in all. It returns the last
 * attempt's status, with its error in err.
 */
ff_status ff_retry(ff_fn fn, void *arg, ff_error *err);

/*
 * ff_with_tx runs fn(arg) in one BEGIN IMMEDIATE transaction and commits
 * it. If fn fails, or the commit does, the transaction is rolled back; a
 * begin that fails leaves nothing to roll back. The whole transaction is
 * retried as ff_retry does when it fails busy. Errors of begin and commit
 * are wrapped as "begin: ..." and "commit: ..."; fn's are returned as is.
 */
ff_status ff_with_tx(ff_fn fn, void *arg, ff_error *err);

/* ---- Log and report -------------------------------------------------------- */

/* ff_level is a log level, as log/slog numbers them. */
typedef enum ff_level {
    FF_LEVEL_DEBUG = -4,
    FF_LEVEL_INFO = 0,
    FF_LEVEL_WARN = 4,
    FF_LEVEL_ERROR = 8
} ff_level;

/* ff_log writes msg as one line of the host's log, tagged with the plugin's name. */
void ff_log(ff_level level, const char *msg);
/* ff_log_n is ff_log for len bytes at msg. */
void ff_log_n(ff_level level, const char *msg, size_t len);
/* ff_logf is ff_log with a printf format (it links wasi-libc's printf). */
void ff_logf(ff_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/*
 * ff_report is what one tick did: items repaired and items that failed,
 * and whether it stopped with work left (more, ABI 1.1: a host with drain
 * on for the plugin ticks again after a short pause).
 */
typedef struct ff_report {
    int64_t processed;
    int64_t errors;
    bool more;
} ff_report;

/* ff_tick_report sets the running tick's report (the last call wins). */
void ff_tick_report(int64_t processed, int64_t errors);
/* ff_tick_error sets the running tick's failure message (the last call wins). */
void ff_tick_error(const char *msg);

/*
 * ff_tick_fn is a plugin's tick: it runs one reconciliation at now_ms, the
 * host's clock in milliseconds since the Unix epoch, fills *rep (zeroed
 * beforehand) and returns FF_OK, or a failure status with err filled.
 */
typedef ff_status (*ff_tick_fn)(int64_t now_ms, ff_report *rep, ff_error *err);

/*
 * ff_run_tick is scan_tick's body: it runs tick, reports *rep, and on
 * failure sets the tick's error to ff_error_format's line and returns 1;
 * else 0.
 */
int32_t ff_run_tick(ff_tick_fn tick, int64_t now_ms);

/* ---- Descriptor and exports ------------------------------------------------- */

/*
 * ff_migration is one numbered schema step of the tables a plugin owns
 * (ABI 1.2, ABI.md section 3.1). A list of them ends with an entry whose
 * sql is NULL.
 */
typedef struct ff_migration {
    int64_t id;       /* 1 for the first step, then each one more */
    const char *name; /* one line, e.g. "create leases" */
    const char *sql;  /* the statements, at most 16 KiB */
} ff_migration;

/*
 * ff_config_key declares one configuration key (ABI 1.3, ABI.md section 3):
 * its name, its type ("string", "int", "bool" or "duration"), its default
 * as text ("500", "true", "1m30s") and one line for operators.
 */
typedef struct ff_config_key {
    const char *name;
    const char *type;
    const char *default_value;
    const char *doc;
} ff_config_key;

/*
 * ff_descriptor is what describe reports (ABI.md, section 3). reads,
 * writes and owns are NULL-terminated lists of table names, or NULL for
 * none; the migration lists end with an entry whose sql is NULL, or are
 * NULL for none; config is a list of keys ended by one whose name is NULL,
 * or NULL for none.
 */
typedef struct ff_descriptor {
    const char *name;            /* ^[a-z][a-z0-9_]{0,63}$, unique per host */
    const char *version;         /* the plugin's own version */
    const char *description;     /* one line for operators */
    int64_t default_interval_ms; /* 0: disabled unless the operator sets an interval */
    const char *const *reads;    /* tables read and never written */
    const char *const *writes;   /* tables read and written */
    const char *const *owns;     /* ABI 1.2: tables the plugin owns; its migrations create them */
    const ff_migration *sqlite_migrations;   /* ABI 1.2: the owned tables' steps on SQLite */
    const ff_migration *postgres_migrations; /* ABI 1.2: the owned tables' steps on PostgreSQL */
    const ff_config_key *config; /* ABI 1.3: the keys ff_config reads */
} ff_descriptor;

/*
 * ff_config reads the value of key, one of the config keys the descriptor
 * declares (ABI 1.3), during a tick: the operator's value, else the key's
 * default, as text (an int in decimal, a bool as true or false, a duration
 * in whole milliseconds). *value receives a NUL-terminated copy on the heap
 * (free it) and *len its length (len may be NULL). An undeclared key, or a
 * call outside a tick, fails with FF_INVALID. A value may be a secret: the
 * host never logs it, so do not log it either.
 */
ff_status ff_config(const char *key, char **value, size_t *len, ff_error *err);

/* ff_config_int64 reads an int key, or a duration key in milliseconds. */
ff_status ff_config_int64(const char *key, int64_t *out, ff_error *err);

/* ff_config_bool reads a bool key. */
ff_status ff_config_bool(const char *key, bool *out, ff_error *err);

/*
 * ff_descriptor_json writes d's JSON into buf like snprintf and returns its
 * full length without the NUL. Strings are escaped as JSON requires
 * (quotes, backslashes, control characters, DEL, U+2028 and U+2029 as
 * escapes) and invalid UTF-8 becomes U+FFFD; the host validates the rest.
 */
size_t ff_descriptor_json(const ff_descriptor *d, char *buf, size_t cap);

/*
 * ff_describe is describe's body: it writes d's JSON into the connection
 * buffer and returns its location as ptr << 32 | len (0 if memory ran out).
 */
uint64_t ff_describe(const ff_descriptor *d);

/*
 * FF_PLUGIN(descriptor, tick) defines the exports describe and scan_tick
 * from an ff_descriptor variable and an ff_tick_fn. Use it once, at file
 * scope. The reactor's _initialize comes from wasi-libc (-mexec-model=reactor).
 */
#define FF_PLUGIN(descriptor, tick)                                                                \
    __attribute__((export_name("describe"))) uint64_t ff_export_describe(void) {                  \
        return ff_describe(&(descriptor));                                                         \
    }                                                                                              \
    __attribute__((export_name("scan_tick"))) int32_t ff_export_scan_tick(int64_t now_ms) {       \
        return ff_run_tick((tick), now_ms);                                                        \
    }

#ifdef __cplusplus
}
#endif

#endif /* FFHOST_H */
