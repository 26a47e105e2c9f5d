/*
 * budget_reset_c: the budget_reset reconciler (plugins/budget_reset) in C.
 * It resets budget usage whose reset window has lapsed and reschedules the
 * next reset, with the Go plugin's SQL and logic: at most 20 due budgets a
 * tick, earliest first, each in its own transaction, and a budget that
 * fails is counted and the others go on.
 *
 * Build (make plugins does this):
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
 *       -Wl,--strip-all -Wl,--stack-first -Iabi/c \
 *       -o build/plugins/budget_reset_c.wasm plugins/c/budget_reset.c plugins/c/policyjson.c abi/c/ffhost.c
 *
 * Its default interval is 0: it runs only where the operator sets one
 * (--interval budget_reset_c=15s), so a daemon over a directory holding the
 * Go, C and Rust builds does not reset budgets three times.
 */
#include <stdlib.h>

#include "ffhost.h"
#include "policyjson.h"

/* BATCH_SIZE is how many due budgets one tick resets at most. */
#define BATCH_SIZE 20

static const char select_due[] =
    "SELECT budget_id FROM ff_budget_policy\n"
    "WHERE partition_key = 0 AND next_reset_at_ms IS NOT NULL AND next_reset_at_ms <= ?\n"
    "ORDER BY next_reset_at_ms ASC LIMIT ?";
static const char select_one[] =
    "SELECT policy_json, next_reset_at_ms FROM ff_budget_policy\n"
    "WHERE partition_key = 0 AND budget_id = ?";
static const char reset_usage[] =
    "UPDATE ff_budget_usage SET current_value = 0, last_reset_at_ms = ?, updated_at_ms = ?\n"
    "WHERE partition_key = 0 AND budget_id = ?";
static const char reset_policy[] =
    "UPDATE ff_budget_policy SET last_breach_at_ms = NULL, last_breach_dim = NULL,\n"
    "updated_at_ms = ?, next_reset_at_ms = ?\n"
    "WHERE partition_key = 0 AND budget_id = ?";

static const char *const writes[] = {"ff_budget_policy", "ff_budget_usage", NULL};

static const ff_descriptor descriptor = {
    .name = "budget_reset_c",
    .version = "1.0.0",
    .description = "Resets budget usage whose reset window has lapsed and reschedules the next "
                   "reset. The C build of budget_reset: disabled unless an interval is set for it.",
    .default_interval_ms = 0,
    .writes = writes,
};

/* id is a budget id: bytes inside the rows of the scan. */
typedef struct id {
    const char *p;
    size_t len;
} id;

/* due is the scan: the rows it read and the ids in them. */
typedef struct due {
    int64_t now;
    ff_rows rows;
    id ids[BATCH_SIZE];
    size_t n;
} due;

/* scan_due is one attempt at reading the due budgets' ids. */
static ff_status scan_due(void *arg, ff_error *err) {
    due *d = arg;
    ff_rows_close(&d->rows);
    d->n = 0;
    ff_status st = ff_query(select_due, FF_ARGS(ff_int64(d->now), ff_int64(BATCH_SIZE)), &d->rows, err);
    if (st != FF_OK)
        return st;
    int more;
    while ((more = ff_rows_next(&d->rows, err)) > 0) {
        if (d->n == BATCH_SIZE)
            return ff_error_set(err, FF_INVALID, "the scan returned more rows than its LIMIT");
        id *i = &d->ids[d->n];
        if ((st = ff_rows_text(&d->rows, 0, &i->p, &i->len, err)) != FF_OK)
            return st;
        d->n++;
    }
    return more < 0 ? FF_INVALID : FF_OK;
}

/* reset is one budget's transaction and its outcome. */
typedef struct reset {
    id id;
    int64_t now;
    bool done; /* the budget was reset */
} reset;

/* wrap_id wraps err as "WHAT ID: ...". */
static ff_status wrap_id(ff_error *err, const char *what, id id) {
    size_t n = 0;
    while (what[n] != '\0')
        n++;
    char *s = malloc(n + id.len + 1);
    if (s == NULL)
        return ff_error_wrap(err, what);
    for (size_t i = 0; i < n; i++)
        s[i] = what[i];
    for (size_t i = 0; i < id.len; i++)
        s[n + i] = id.p[i] == '\0' ? '?' : id.p[i];
    s[n + id.len] = '\0';
    ff_status st = ff_error_wrap(err, s);
    free(s);
    return st;
}

/*
 * reset_tx resets one budget inside the open transaction and says whether
 * it did. A budget that is gone, or no longer due, is left alone.
 */
static ff_status reset_tx(void *arg, ff_error *err) {
    reset *r = arg;
    r->done = false;
    ff_rows rows;
    ff_status st = ff_query(select_one, FF_ARGS(ff_text(r->id.p, r->id.len)), &rows, err);
    if (st != FF_OK)
        return wrap_id(err, "re-read budget ", r->id);
    int more = ff_rows_next(&rows, err);
    if (more <= 0) {
        ff_rows_close(&rows);
        return more == 0 ? FF_OK : wrap_id(err, "re-read budget ", r->id); /* 0: the budget is gone */
    }
    const char *policy;
    size_t policy_len;
    int64_t next = 0;
    bool scheduled = !ff_rows_is_null(&rows, 1);
    st = ff_rows_text(&rows, 0, &policy, &policy_len, err);
    if (st == FF_OK && scheduled) {
        /* As the Go SDK scans into an integer: INTEGER, or text holding one. */
        const char *text;
        size_t text_len;
        if (ff_rows_text(&rows, 1, &text, &text_len, NULL) == FF_OK) {
            if (!policy_parse_int(text, text_len, &next))
                st = ff_error_set(err, FF_OTHER, "column 1 (next_reset_at_ms) is TEXT not holding an integer");
        } else {
            st = ff_rows_int64(&rows, 1, &next, err);
        }
    }
    if (st != FF_OK) {
        ff_rows_close(&rows);
        return wrap_id(err, "re-read budget ", r->id);
    }
    if (!scheduled || next > r->now) {
        ff_rows_close(&rows);
        return FF_OK; /* no longer due */
    }

    ff_value next_reset = ff_null(); /* NULL unless the policy has a positive interval */
    int64_t iv = policy_reset_interval(policy, policy_len);
    ff_rows_close(&rows);
    if (iv > 0) {
        /* A sum past INT64_MAX means "not in our lifetime", never "already due". */
        next_reset = ff_int64(r->now > INT64_MAX - iv ? INT64_MAX : r->now + iv);
    }
    if (ff_exec(reset_usage, FF_ARGS(ff_int64(r->now), ff_int64(r->now), ff_text(r->id.p, r->id.len)),
                NULL, err) != FF_OK)
        return wrap_id(err, "reset usage of budget ", r->id);
    if (ff_exec(reset_policy, FF_ARGS(ff_int64(r->now), next_reset, ff_text(r->id.p, r->id.len)), NULL,
                err) != FF_OK)
        return wrap_id(err, "reschedule budget ", r->id);
    r->done = true;
    return FF_OK;
}

static ff_status tick(int64_t now_ms, ff_report *rep, ff_error *err) {
    due d = {.now = now_ms};
    if (ff_retry(scan_due, &d, err) != FF_OK) {
        ff_rows_close(&d.rows);
        return ff_error_wrap(err, "select due budgets");
    }
    for (size_t i = 0; i < d.n; i++) {
        reset r = {d.ids[i], now_ms, false};
        ff_error e = FF_ERROR_INIT;
        if (ff_with_tx(reset_tx, &r, &e) != FF_OK) {
            char *msg = ff_error_string(&e);
            rep->errors++;
            ff_logf(FF_LEVEL_WARN, "budget reset failed budget_id=%.*s err=%s", (int)r.id.len, r.id.p,
                    msg != NULL ? msg : "(out of memory)");
            free(msg);
        } else if (r.done) {
            rep->processed++;
        }
        ff_error_clear(&e);
    }
    ff_rows_close(&d.rows);
    /* A full batch may have left more due: with drain on, the host ticks
     * again soon (ABI 1.1). */
    rep->more = d.n == BATCH_SIZE;
    return FF_OK;
}

FF_PLUGIN(descriptor, tick)
