/*
 * sdkcheck.c: the C SDK's side of tests/polyglot's SDK test. Each scan_tick
 * runs the scenario numbered now_ms against the test's scripted host and
 * logs what it saw; sdkcheck.rs does the same through the Rust SDK, and
 * the test expects the same lines from both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffhost.h"

static const char *const reads[] = {"r1", NULL};
static const char *const writes[] = {"w1", "w2", NULL};
static const char *const owns[] = {"o1", NULL};
static const ff_migration sqlite_migrations[] = {
    {1, "create o1", "CREATE TABLE o1 (x TEXT DEFAULT 'a\"b')"},
    {2, "index o1", "CREATE INDEX o1_x ON o1 (x)"},
    {0, NULL, NULL},
};
static const ff_migration postgres_migrations[] = {{1, "create o1", "CREATE TABLE o1 (x text)"}, {0, NULL, NULL}};

static const ff_config_key config[] = {
    {.name = "mode", .type = "string", .default_value = "strict", .doc = "a string"},
    {.name = "batch", .type = "int", .default_value = "500", .doc = "an int"},
    {.name = NULL},
};

static const ff_descriptor descriptor = {
    .name = "sdkcheck",
    .version = "1.0 \"\xce\xb2\"",
    .description = "tab\tquote\" back\\ ctl\x01 del\x7f ls\xe2\x80\xa8 ps\xe2\x80\xa9 \xc3\xa9 \xf0\x9f\x98\x80",
    .default_interval_ms = 1234,
    .reads = reads,
    .writes = writes,
    .owns = owns,
    .sqlite_migrations = sqlite_migrations,
    .postgres_migrations = postgres_migrations,
    .config = config,
};

/* logerr logs "WHAT ERROR". */
static void logerr(const char *what, const ff_error *err) {
    char *s = ff_error_string(err);
    ff_logf(FF_LEVEL_INFO, "%s %s", what, s != NULL ? s : "(out of memory)");
    free(s);
}

static void exec_args(void) {
    ff_exec_result res;
    ff_error err = FF_ERROR_INIT;
    static const unsigned char blob[] = {0xff, 0x00};
    if (ff_exec("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                FF_ARGS(ff_int64(42), ff_double(1.5), ff_cstr("ab"), ff_blob(blob, 2), ff_null()), &res,
                &err) != FF_OK)
        logerr("exec", &err);
    else
        ff_logf(FF_LEVEL_INFO, "exec %lld %lld", (long long)res.rows_affected, (long long)res.last_insert_id);
    if (ff_exec("DELETE FROM t", FF_NO_ARGS, &res, &err) != FF_OK)
        logerr("exec", &err);
    else
        ff_logf(FF_LEVEL_INFO, "exec %lld %lld", (long long)res.rows_affected, (long long)res.last_insert_id);
    ff_error_clear(&err);
}

/* len_or_null renders a TEXT or BLOB column's length, or NULL. */
static void len_or_null(const ff_rows *rows, uint32_t col, char *buf, size_t cap) {
    const char *s;
    size_t n;
    if (ff_rows_is_null(rows, col) || ff_rows_text(rows, col, &s, &n, NULL) != FF_OK)
        snprintf(buf, cap, "NULL");
    else
        snprintf(buf, cap, "%zu", n);
}

static void query_types(void) {
    ff_rows rows;
    ff_error err = FF_ERROR_INIT;
    const char *sql = "SELECT id, name, score, data FROM t";
    if (ff_query(sql, FF_NO_ARGS, &rows, &err) != FF_OK) {
        logerr("query", &err);
        return;
    }
    char cols[128] = "";
    for (uint32_t i = 0; i < ff_rows_columns(&rows); i++) {
        strcat(cols, " ");
        strcat(cols, ff_rows_column_name(&rows, i));
    }
    ff_logf(FF_LEVEL_INFO, "columns %u%s", ff_rows_columns(&rows), cols);
    int more;
    while ((more = ff_rows_next(&rows, &err)) > 0) {
        int64_t id;
        double score;
        char name[24], data[24], scores[32] = "NULL";
        if (ff_rows_int64(&rows, 0, &id, &err) != FF_OK)
            logerr("id", &err);
        len_or_null(&rows, 1, name, sizeof name);
        len_or_null(&rows, 3, data, sizeof data);
        if (!ff_rows_is_null(&rows, 2) && ff_rows_double(&rows, 2, &score, &err) == FF_OK)
            snprintf(scores, sizeof scores, "%g", score);
        ff_logf(FF_LEVEL_INFO, "row %lld name=%s score=%s data=%s", (long long)id, name, scores, data);
        if (id == 1) {
            int64_t v;
            double d;
            if (ff_rows_int64(&rows, 1, &v, &err) != FF_OK)
                logerr("int:", &err);
            if (ff_rows_double(&rows, 0, &d, &err) == FF_OK)
                ff_logf(FF_LEVEL_INFO, "double %g", d);
        } else {
            const char *s;
            size_t n;
            if (ff_rows_text(&rows, 1, &s, &n, &err) != FF_OK)
                logerr("text:", &err);
        }
    }
    if (more < 0)
        logerr("next", &err);
    ff_rows_close(&rows);

    if (ff_query(sql, FF_NO_ARGS, &rows, &err) != FF_OK) {
        logerr("query", &err);
        return;
    }
    int n = 0;
    while (ff_rows_next(&rows, &err) > 0)
        n++;
    ff_logf(FF_LEVEL_INFO, "again %d", n);
    ff_rows_close(&rows);
    ff_error_clear(&err);
}

/* one_exec runs one statement and logs its error under what. */
static void one_exec(const char *what) {
    ff_error err = FF_ERROR_INIT;
    if (ff_exec("UPDATE t SET x = 1", FF_NO_ARGS, NULL, &err) != FF_OK)
        logerr(what, &err);
    ff_error_clear(&err);
}

static ff_status body(void *arg, ff_error *err) {
    int *attempts = arg;
    ++*attempts;
    if (ff_exec("UPDATE t SET x = 1", FF_NO_ARGS, NULL, err) != FF_OK)
        return ff_error_wrap(err, "update");
    return FF_OK;
}

static void with_tx(void) {
    int attempts = 0;
    ff_error err = FF_ERROR_INIT;
    if (ff_with_tx(body, &attempts, &err) == FF_OK) {
        ff_logf(FF_LEVEL_INFO, "tx ok attempts=%d", attempts);
    } else {
        char *s = ff_error_string(&err);
        ff_logf(FF_LEVEL_INFO, "tx %s attempts=%d", s, attempts);
        free(s);
    }
    ff_error_clear(&err);
}

static ff_status count_query(void *arg, ff_error *err) {
    int *attempts = arg;
    ++*attempts;
    ff_rows rows;
    ff_status st = ff_query("SELECT 1", FF_NO_ARGS, &rows, err);
    ff_rows_close(&rows);
    return st;
}

static void retry(void) {
    int attempts = 0;
    ff_error err = FF_ERROR_INIT;
    ff_status st = ff_retry(count_query, &attempts, &err);
    ff_logf(FF_LEVEL_INFO, "retry %s attempts=%d", ff_status_name(st), attempts);
    ff_error_clear(&err);
}

static void bad_descriptor(void) {
    static const char *const none[] = {NULL};
    const ff_descriptor d = {
        .name = "x\xff", .version = "\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xe2\x82",
        .description = "\x1f\x7f\xc2\x85", .default_interval_ms = -7, .reads = none, .writes = NULL,
    };
    char buf[256];
    size_t n = ff_descriptor_json(&d, buf, sizeof buf);
    char small[8];
    size_t m = ff_descriptor_json(&d, small, sizeof small);
    ff_logf(FF_LEVEL_INFO, "json %s", buf);
    ff_logf(FF_LEVEL_INFO, "len %zu %zu %s", n, m, small);
}

static ff_status tick(int64_t now_ms, ff_report *rep, ff_error *err) {
    ff_error e = FF_ERROR_INIT;
    switch (now_ms) {
    case 1:
        exec_args();
        break;
    case 2:
        query_types();
        break;
    case 3:
        if (ff_exec("UPDATE t SET x = 1", FF_NO_ARGS, NULL, &e) != FF_OK) {
            char *s = ff_error_string(&e);
            ff_logf(FF_LEVEL_INFO, "%s %s", ff_status_name(e.status), s);
            free(s);
        }
        break;
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
        with_tx();
        break;
    case 9:
        rep->processed = 2;
        rep->errors = 1;
        ff_error_set(err, FF_INVALID, "bad");
        return ff_error_wrap(err, "step");
    case 10:
        ff_log(FF_LEVEL_DEBUG, "d");
        ff_log(FF_LEVEL_INFO, "i");
        ff_log(FF_LEVEL_WARN, "w");
        ff_log(FF_LEVEL_ERROR, "e");
        break;
    case 11: {
        ff_rows rows;
        if (ff_query("SELECT x FROM t", FF_NO_ARGS, &rows, &e) != FF_OK)
            logerr("query", &e);
        ff_rows_close(&rows);
        break;
    }
    case 12:
    case 13:
        one_exec("exec");
        break;
    case 14:
        if (ff_exec("UPDATE t SET x = 1", FF_NO_ARGS, NULL, &e) != FF_OK)
            ff_logf(FF_LEVEL_INFO, "%s %zu", ff_status_name(e.status), strlen(e.msg));
        break;
    case 15:
        retry();
        break;
    case 16:
        bad_descriptor();
        break;
    case 17: {
        ff_rows rows;
        const char *t;
        size_t n;
        if (ff_query("SELECT t FROM mid", FF_NO_ARGS, &rows, &e) != FF_OK || ff_rows_next(&rows, &e) <= 0 ||
            ff_rows_text(&rows, 0, &t, &n, &e) != FF_OK)
            logerr("mid", &e);
        else
            ff_logf(FF_LEVEL_INFO, "mid %zu", n);
        ff_rows_close(&rows);
        break;
    }
    case 18: {
        char *v;
        size_t n;
        int64_t b;
        bool on;
        if (ff_config("mode", &v, &n, &e) != FF_OK)
            logerr("mode", &e);
        else {
            ff_logf(FF_LEVEL_INFO, "mode %zu %.3s", n, v);
            free(v);
        }
        if (ff_config_int64("batch", &b, &e) != FF_OK)
            logerr("batch", &e);
        else
            ff_logf(FF_LEVEL_INFO, "batch %lld", (long long)b);
        if (ff_config_bool("batch", &on, &e) != FF_OK)
            logerr("bool", &e);
        if (ff_config("nope", &v, NULL, &e) != FF_OK)
            logerr("nope", &e);
        else
            free(v);
        break;
    }
    default:
        return ff_error_set(err, FF_INVALID, "unknown scenario");
    }
    ff_error_clear(&e);
    return FF_OK;
}

FF_PLUGIN(descriptor, tick)
