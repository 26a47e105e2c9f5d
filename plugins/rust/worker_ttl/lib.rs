//! worker_ttl_rust: the worker_ttl reconciler (plugins/worker_ttl) in Rust.
//! It deletes workers whose heartbeat is older than their liveness TTL and
//! records a ttl_swept event for each, with the Go plugin's SQL and logic.
//!
//! Build (make plugins does this; build/rust/libffhost.rlib is the SDK,
//! built as abi/rust/ffhost/src/lib.rs says):
//!
//! ```text
//! /usr/bin/rustc --edition 2021 --target wasm32-wasi --crate-type cdylib --crate-name worker_ttl_rust \
//!     -C opt-level=s -C link-arg=--strip-all --extern ffhost=build/rust/libffhost.rlib \
//!     -o build/plugins/worker_ttl_rust.wasm plugins/rust/worker_ttl/lib.rs
//! ```
//!
//! Its default interval is 0: it runs only where the operator sets one
//! (`--interval worker_ttl_rust=30s`), so a daemon over a directory holding
//! the Go, C and Rust builds does not sweep three times.

use ffhost::{args, Conn, Context, Descriptor, Report, Result};

/// The plugin's descriptor.
const DESCRIPTOR: Descriptor = Descriptor {
    name: "worker_ttl_rust",
    version: "1.0.0",
    description: "Deletes workers whose heartbeat is older than their liveness TTL and records a \
                  ttl_swept event for each. The Rust build of worker_ttl: disabled unless an interval \
                  is set for it.",
    default_interval_ms: 0,
    reads: &[],
    writes: &["ff_worker_registry", "ff_worker_registry_event"],
    config: &[],
};

// The sweep is two set-based statements in one transaction, so it costs the
// same two host calls for one expired worker or a hundred thousand. The
// event insert runs first, over the very rows the delete then removes.
const INSERT_EVENTS: &str = "INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL
FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?
ON CONFLICT DO NOTHING";
const ANY_EXPIRED: &str =
    "SELECT 1 FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ? LIMIT 1";
const DELETE_EXPIRED: &str = "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?";

fn tick(db: &mut Conn, now: i64, rep: &mut Report) -> Result<()> {
    // One read outside any transaction: an idle tick takes no write lock.
    let expired = ffhost::retry(|| db.query_row(ANY_EXPIRED, args![now]))
        .context("look for expired workers")?;
    if expired.is_none() {
        return Ok(());
    }
    db.with_tx(|db| {
        db.exec(INSERT_EVENTS, args![now, now]).context("record ttl_swept events")?;
        let res = db.exec(DELETE_EXPIRED, args![now]).context("delete expired workers")?;
        rep.processed = res.rows_affected;
        Ok(())
    })
}

ffhost::plugin!(DESCRIPTOR, tick);
