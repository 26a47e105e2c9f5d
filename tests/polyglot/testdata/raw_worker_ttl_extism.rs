// raw_worker_ttl_extism.rs: worker_ttl as an Extism plugin written from
// ABI.md section 13 alone, without a PDK and without this repository's
// code. The test puts the Rust import block of section 13.7 in front of
// this file. It speaks SQLite only, and so checks ff_sql_dialect and
// ff_tick_partition (ABI 1.4): -1 in describe, 0 and 0 in scan_tick; and
// it reads its one config key, mode, with ff_config_get (ABI 1.3).

static DESCRIPTOR: &[u8] = b"{\"name\":\"worker_ttl_raw_extism\",\"abi_version\":\"1.4\",\"version\":\"1.0.0\",\
\"default_interval_ms\":0,\"reads\":[],\"writes\":[\"ff_worker_registry\",\"ff_worker_registry_event\"],\
\"config\":[{\"name\":\"mode\",\"type\":\"string\",\"default\":\"sweep\",\"doc\":\"only sweep\"}],\
\"description\":\"worker_ttl from ABI.md's Extism profile\"}";

const COUNT_EXPIRED: &str = "SELECT count(*) FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";
const INSERT_EVENTS: &str = "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms, reason) \
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL FROM ff_worker_registry \
WHERE last_heartbeat_ms + liveness_ttl_ms < ? ON CONFLICT DO NOTHING";
const DELETE_EXPIRED: &str = "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";

/// Copies b into a new Extism memory block; 0 is the empty block.
unsafe fn block(b: &[u8]) -> u64 {
    if b.is_empty() {
        return 0;
    }
    let off = extism_alloc(b.len() as u64);
    for (i, x) in b.iter().enumerate() {
        extism_store_u8(off + i as u64, *x);
    }
    off
}

/// Reads and frees a result block: its status byte, then the payload.
unsafe fn result(off: u64) -> (u8, Vec<u8>) {
    let n = extism_length(off);
    let b: Vec<u8> = (0..n).map(|i| extism_load_u8(off + i)).collect();
    extism_free(off);
    match b.split_first() {
        Some((s, rest)) => (*s, rest.to_vec()),
        None => (5, b"empty result block".to_vec()),
    }
}

unsafe fn exec(sql: &str, args: &[u8], query: bool) -> (u8, Vec<u8>) {
    let (s, a) = (block(sql.as_bytes()), block(args));
    let r = if query { ff_sql_query(s, a) } else { ff_sql_exec(s, a) };
    extism_free(s);
    extism_free(a);
    result(r)
}

/// Ends a failed tick: its message first, then the rollback.
unsafe fn fail(msg: &[u8], in_tx: bool) -> i32 {
    let m = block(msg);
    ff_tick_error(m);
    extism_free(m);
    if in_tx {
        result(ff_tx_rollback());
    }
    1
}

#[no_mangle]
pub extern "C" fn describe() -> i32 {
    if unsafe { ff_sql_dialect() != -1 || ff_tick_partition() != -1 } {
        return 1;
    }
    unsafe { extism_output_set(block(DESCRIPTOR), DESCRIPTOR.len() as u64) };
    0
}

#[no_mangle]
pub extern "C" fn scan_tick() -> i32 {
    let now_ms = unsafe { extism_input_load_u64(0) } as i64;
    unsafe {
        if ff_sql_dialect() != 0 {
            return fail(b"worker_ttl_raw_extism speaks SQLite only", false);
        }
        if ff_tick_partition() != 0 {
            return fail(b"tick_partition is not 0 on SQLite", false);
        }
        let key = block(b"mode");
        let (st, mode) = result(ff_config_get(key));
        extism_free(key);
        if st != 0 || mode != b"sweep" {
            return fail(b"config key mode is not its default, sweep", false);
        }
    }
    let mut args = Vec::new(); // u32 count, then (tag 1, i64) twice
    args.extend_from_slice(&2u32.to_le_bytes());
    for _ in 0..2 {
        args.push(1);
        args.extend_from_slice(&now_ms.to_le_bytes());
    }
    let mut one = 1u32.to_le_bytes().to_vec();
    one.extend_from_slice(&args[4..13]);
    unsafe {
        let (st, p) = exec(COUNT_EXPIRED, &one, true);
        if st != 0 {
            return fail(&p, false);
        }
        // u32 columns, u32 rows, then per row one (tag, i64): 1, 1, 1, n
        if p.len() < 8 || p[..4] != 1u32.to_le_bytes() {
            return fail(b"bad count result", false);
        }
        let (st, p) = result(ff_tx_begin());
        if st != 0 {
            return fail(&p, false);
        }
        let (st, p) = exec(INSERT_EVENTS, &args, false);
        if st != 0 {
            return fail(&p, true);
        }
        let (st, p) = exec(DELETE_EXPIRED, &one, false);
        if st != 0 {
            return fail(&p, true);
        }
        let mut deleted = [0; 8];
        deleted.copy_from_slice(&p[..8]);
        let (st, p) = result(ff_tx_commit());
        if st != 0 {
            return fail(&p, true);
        }
        let msg = format!("swept {}", i64::from_le_bytes(deleted));
        let m = block(msg.as_bytes());
        ff_log(0, m);
        extism_free(m);
        ff_tick_report(i64::from_le_bytes(deleted), 0);
    }
    0
}
