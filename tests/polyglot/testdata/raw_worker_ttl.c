/*
 * raw_worker_ttl.c: worker_ttl written from ABI.md alone, without the SDK.
 * The test puts the C block of ABI.md's "Appendix: raw imports" (the
 * ff_* imports and the export declarations) in front of this file.
 * Built with -DAS_COMMAND and without -mexec-model=reactor, it is a WASI
 * command instead, to show what the host makes of one.
 */
#include <string.h>

/* How often the constructors ran: volatile, or the compiler folds the constructor away. */
static volatile int constructed;

__attribute__((constructor)) static void construct(void) { constructed++; }

#ifdef AS_COMMAND
int main(void) { return 0; }
#endif

static const char descriptor[] =
    "{\"name\":\"worker_ttl_raw_c\",\"abi_version\":\"1.0\",\"version\":\"1.0.0\",\"default_interval_ms\":0,"
    "\"reads\":[],\"writes\":[\"ff_worker_registry\",\"ff_worker_registry_event\"],"
    "\"description\":\"worker_ttl from ABI.md's raw imports\"}";

uint64_t describe(void) { return (uint64_t)(uintptr_t)descriptor << 32 | (sizeof descriptor - 1); }

static const char count_expired[] =
    "SELECT count(*) FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";
static const char insert_events[] =
    "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms, reason) "
    "SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL FROM ff_worker_registry "
    "WHERE last_heartbeat_ms + liveness_ttl_ms < ? ON CONFLICT DO NOTHING";
static const char delete_expired[] = "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";

static uint8_t out[16];        /* the out buffer: an exec result fits */
static uint8_t spill[1 << 16]; /* where a bigger payload is fetched */

/* result returns r's status and points *p at its payload of *n bytes, fetched if it did not fit. */
static uint32_t result(uint64_t r, const uint8_t **p, uint32_t *n) {
    *n = (uint32_t)r;
    *p = out;
    if (*n > sizeof out) {
        if (*n > sizeof spill || ff_fetch(spill, *n) != (int32_t)*n) {
            *n = 0;
            return 5;
        }
        *p = spill;
    }
    return (uint32_t)(r >> 32);
}

/* fail ends a failed tick: its message first (the host copies it), then the rollback. */
static int32_t fail(const uint8_t *msg, uint32_t n, int in_tx) {
    ff_tick_error((const char *)msg, n);
    if (in_tx)
        ff_tx_rollback(out, sizeof out);
    return 1;
}

int32_t scan_tick(int64_t now_ms) {
    const uint8_t *p;
    uint32_t n, count = 2;
    uint8_t args[4 + 9 + 9]; /* u32 count, then (tag 1, i64) twice; wasm is little-endian */
    memcpy(args, &count, 4);
    args[4] = 1;
    memcpy(args + 5, &now_ms, 8);
    args[13] = 1;
    memcpy(args + 14, &now_ms, 8);
    uint8_t one[4 + 9];
    count = 1;
    memcpy(one, &count, 4);
    memcpy(one + 4, args + 4, 9);

    char msg[] = "constructors ran ? times";
    msg[sizeof "constructors ran " - 1] = (char)('0' + constructed % 10);
    ff_log(0, msg, sizeof msg - 1);

    /* A 29-byte result past the 16-byte buffer: fetched. */
    if (result(ff_sql_query(count_expired, sizeof count_expired - 1, one, sizeof one, out, sizeof out), &p, &n) != 0)
        return fail(p, n, 0);
    if (n != 29 || p[0] != 1)
        return fail((const uint8_t *)"bad count result", 16, 0);

    if (result(ff_tx_begin(out, sizeof out), &p, &n) != 0)
        return fail(p, n, 0);
    if (result(ff_sql_exec(insert_events, sizeof insert_events - 1, args, sizeof args, out, sizeof out), &p, &n) != 0)
        return fail(p, n, 1);
    if (result(ff_sql_exec(delete_expired, sizeof delete_expired - 1, one, sizeof one, out, sizeof out), &p, &n) != 0)
        return fail(p, n, 1);
    int64_t deleted;
    memcpy(&deleted, p, 8);
    if (result(ff_tx_commit(out, sizeof out), &p, &n) != 0)
        return fail(p, n, 1);
    ff_tick_report(deleted, 0);
    return 0;
}
