// raw_worker_ttl.rs: worker_ttl written from ABI.md alone, without the
// SDK and without an `_initialize`, as a plugin author reading only
// section 1 would write it. The test puts the Rust import block of
// ABI.md's "Appendix: raw imports" in front of this file.

use std::ptr::addr_of_mut;

static DESCRIPTOR: &[u8] = b"{\"name\":\"worker_ttl_raw_rust\",\"abi_version\":\"1.0\",\"version\":\"1.0.0\",\
\"default_interval_ms\":0,\"reads\":[],\"writes\":[\"ff_worker_registry\",\"ff_worker_registry_event\"],\
\"description\":\"worker_ttl from ABI.md's raw imports\"}";

#[no_mangle]
pub extern "C" fn describe() -> u64 {
    (DESCRIPTOR.as_ptr() as u64) << 32 | DESCRIPTOR.len() as u64
}

const COUNT_EXPIRED: &str = "SELECT count(*) FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";
const INSERT_EVENTS: &str = "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms, reason) \
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL FROM ff_worker_registry \
WHERE last_heartbeat_ms + liveness_ttl_ms < ? ON CONFLICT DO NOTHING";
const DELETE_EXPIRED: &str = "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";

/// The out buffer (an exec result fits) and where a bigger payload is fetched.
static mut OUT: [u8; 16] = [0; 16];
static mut SPILL: [u8; 1 << 16] = [0; 1 << 16];

/// A host call's status and payload, fetched if it did not fit.
unsafe fn result(r: u64) -> (u32, &'static [u8]) {
    let n = r as u32 as usize;
    let out = &mut *addr_of_mut!(OUT);
    if n <= out.len() {
        return ((r >> 32) as u32, &out[..n]);
    }
    let spill = &mut *addr_of_mut!(SPILL);
    if n > spill.len() || fetch(spill.as_mut_ptr(), n as u32) != n as i32 {
        return (5, &[]);
    }
    ((r >> 32) as u32, &spill[..n])
}

fn out() -> (*mut u8, u32) {
    (unsafe { addr_of_mut!(OUT) } as *mut u8, 16)
}

/// Ends a failed tick: its message first (the host copies it), then the rollback.
unsafe fn fail(msg: &[u8], in_tx: bool) -> i32 {
    tick_error(msg.as_ptr(), msg.len() as u32);
    if in_tx {
        let (o, c) = out();
        tx_rollback(o, c);
    }
    1
}

unsafe fn exec(sql: &str, args: &[u8], query: bool) -> (u32, &'static [u8]) {
    let (o, c) = out();
    let f = if query { sql_query } else { sql_exec };
    result(f(sql.as_ptr(), sql.len() as u32, args.as_ptr(), args.len() as u32, o, c))
}

#[no_mangle]
pub extern "C" fn scan_tick(now_ms: i64) -> i32 {
    let mut args = Vec::new(); // u32 count, then (tag 1, i64) twice
    args.extend_from_slice(&2u32.to_le_bytes());
    for _ in 0..2 {
        args.push(1);
        args.extend_from_slice(&now_ms.to_le_bytes());
    }
    let mut one = 1u32.to_le_bytes().to_vec();
    one.extend_from_slice(&args[4..13]);
    unsafe {
        let (st, p) = exec(COUNT_EXPIRED, &one, true); // 29 bytes: fetched
        if st != 0 {
            return fail(p, false);
        }
        if p.len() != 29 || p[0] != 1 {
            return fail(b"bad count result", false);
        }
        let (o, c) = out();
        let (st, p) = result(tx_begin(o, c));
        if st != 0 {
            return fail(p, false);
        }
        let (st, p) = exec(INSERT_EVENTS, &args, false);
        if st != 0 {
            return fail(p, true);
        }
        let (st, p) = exec(DELETE_EXPIRED, &one, false);
        if st != 0 {
            return fail(p, true);
        }
        let mut deleted = [0; 8];
        deleted.copy_from_slice(&p[..8]);
        let (st, p) = result(tx_commit(o, c));
        if st != 0 {
            return fail(p, true);
        }
        let msg = format!("swept {}", i64::from_le_bytes(deleted));
        log(0, msg.as_ptr(), msg.len() as u32);
        tick_report(i64::from_le_bytes(deleted), 0);
    }
    0
}
