/*
 * worker_ttl_c: the worker_ttl reconciler (plugins/worker_ttl) in C. It
 * deletes workers whose heartbeat is older than their liveness TTL and
 * records a ttl_swept event for each, with the Go plugin's SQL and logic.
 *
 * Build (make plugins does this):
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
 *       -Wl,--strip-all -Wl,--stack-first -Iabi/c \
 *       -o build/plugins/worker_ttl_c.wasm plugins/c/worker_ttl.c abi/c/ffhost.c
 *
 * Its default interval is 0: it runs only where the operator sets one
 * (--interval worker_ttl_c=30s), so a daemon over a directory holding the
 * Go, C and Rust builds does not sweep three times.
 */
#include "ffhost.h"

/*
 * The sweep is two set-based statements in one transaction, so it costs
 * the same two host calls for one expired worker or a hundred thousand.
 * The event insert runs first, over the very rows the delete then removes.
 */
static const char insert_events[] =
    "INSERT INTO ff_worker_registry_event\n"
    "(namespace, worker_instance_id, event_kind, event_at_ms, reason)\n"
    "SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL\n"
    "FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?\n"
    "ON CONFLICT DO NOTHING";
static const char any_expired[] =
    "SELECT 1 FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ? LIMIT 1";
static const char delete_expired[] =
    "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";

static const char *const writes[] = {"ff_worker_registry", "ff_worker_registry_event", NULL};

static const ff_descriptor descriptor = {
    .name = "worker_ttl_c",
    .version = "1.0.0",
    .description = "Deletes workers whose heartbeat is older than their liveness TTL and records a "
                   "ttl_swept event for each. The C build of worker_ttl: disabled unless an interval "
                   "is set for it.",
    .default_interval_ms = 0,
    .writes = writes,
};

/* sweep is the tick's transaction. */
typedef struct sweep {
    int64_t now;
    ff_report *rep;
} sweep;

static ff_status sweep_tx(void *arg, ff_error *err) {
    sweep *s = arg;
    if (ff_exec(insert_events, FF_ARGS(ff_int64(s->now), ff_int64(s->now)), NULL, err) != FF_OK)
        return ff_error_wrap(err, "record ttl_swept events");
    ff_exec_result res;
    if (ff_exec(delete_expired, FF_ARGS(ff_int64(s->now)), &res, err) != FF_OK)
        return ff_error_wrap(err, "delete expired workers");
    s->rep->processed = res.rows_affected;
    return FF_OK;
}

/*
 * expired_tx looks, outside any transaction, for one expired worker, and
 * sets *found: an idle tick then takes no write lock (see the Go plugin).
 */
typedef struct probe {
    int64_t now;
    bool found;
} probe;

static ff_status probe_fn(void *arg, ff_error *err) {
    probe *p = arg;
    ff_rows rows;
    ff_status st = ff_query(any_expired, FF_ARGS(ff_int64(p->now)), &rows, err);
    if (st == FF_OK) {
        int more = ff_rows_next(&rows, err);
        if (more < 0)
            st = err->status;
        p->found = more > 0;
    }
    ff_rows_close(&rows);
    return st;
}

static ff_status tick(int64_t now_ms, ff_report *rep, ff_error *err) {
    probe p = {now_ms, false};
    if (ff_retry(probe_fn, &p, err) != FF_OK)
        return ff_error_wrap(err, "look for expired workers");
    if (!p.found)
        return FF_OK; /* nothing expired: no transaction, no write lock */
    sweep s = {now_ms, rep};
    return ff_with_tx(sweep_tx, &s, err);
}

FF_PLUGIN(descriptor, tick)
