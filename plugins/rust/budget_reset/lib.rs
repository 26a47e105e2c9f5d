//! budget_reset_rust: the budget_reset reconciler (plugins/budget_reset) in
//! Rust. It resets budget usage whose reset window has lapsed and
//! reschedules the next reset, with the Go plugin's SQL and logic: at most
//! 20 due budgets a tick, earliest first, each in its own transaction, and
//! a budget that fails is counted and the others go on.
//!
//! Build (make plugins does this; build/rust/libffhost.rlib is the SDK,
//! built as abi/rust/ffhost/src/lib.rs says):
//!
//! ```text
//! /usr/bin/rustc --edition 2021 --target wasm32-wasi --crate-type cdylib --crate-name budget_reset_rust \
//!     -C opt-level=s -C link-arg=--strip-all --extern ffhost=build/rust/libffhost.rlib \
//!     -o build/plugins/budget_reset_rust.wasm plugins/rust/budget_reset/lib.rs
//! ```
//!
//! Its default interval is 0: it runs only where the operator sets one
//! (`--interval budget_reset_rust=15s`), so a daemon over a directory
//! holding the Go, C and Rust builds does not reset budgets three times.

mod policyjson;

use ffhost::{args, Conn, Context, Descriptor, Error, Report, Result, Status, Value};

/// The plugin's descriptor.
const DESCRIPTOR: Descriptor = Descriptor {
    name: "budget_reset_rust",
    version: "1.0.0",
    description: "Resets budget usage whose reset window has lapsed and reschedules the next reset. \
                  The Rust build of budget_reset: disabled unless an interval is set for it.",
    default_interval_ms: 0,
    reads: &[],
    writes: &["ff_budget_policy", "ff_budget_usage"],
    config: &[],
};

/// How many due budgets one tick resets at most.
const BATCH_SIZE: i64 = 20;

const SELECT_DUE: &str = "SELECT budget_id FROM ff_budget_policy
WHERE partition_key = 0 AND next_reset_at_ms IS NOT NULL AND next_reset_at_ms <= ?
ORDER BY next_reset_at_ms ASC LIMIT ?";
const SELECT_ONE: &str = "SELECT policy_json, next_reset_at_ms FROM ff_budget_policy
WHERE partition_key = 0 AND budget_id = ?";
const RESET_USAGE: &str = "UPDATE ff_budget_usage SET current_value = 0, last_reset_at_ms = ?, updated_at_ms = ?
WHERE partition_key = 0 AND budget_id = ?";
const RESET_POLICY: &str = "UPDATE ff_budget_policy SET last_breach_at_ms = NULL, last_breach_dim = NULL,
updated_at_ms = ?, next_reset_at_ms = ?
WHERE partition_key = 0 AND budget_id = ?";

fn tick(db: &mut Conn, now: i64, rep: &mut Report) -> Result<()> {
    let ids = ffhost::retry(|| due_budgets(db, now)).context("select due budgets")?;
    for id in &ids {
        let mut reset = false;
        match db.with_tx(|db| {
            reset = reset_one(db, id, now)?;
            Ok(())
        }) {
            Err(e) => {
                rep.errors += 1;
                ffhost::warn(&format!("budget reset failed budget_id={} err={}", String::from_utf8_lossy(id), e));
            }
            Ok(()) if reset => rep.processed += 1,
            Ok(()) => {}
        }
    }
    // A full batch may have left more due: with drain on, the host ticks
    // again soon (ABI 1.1).
    rep.more = ids.len() as i64 == BATCH_SIZE;
    Ok(())
}

/// The ids of the budgets due at `now`, earliest first. Ids are bytes: the
/// column is TEXT, but nothing makes it UTF-8.
fn due_budgets(db: &mut Conn, now: i64) -> Result<Vec<Vec<u8>>> {
    let mut ids = Vec::new();
    for row in db.query(SELECT_DUE, args![now, BATCH_SIZE])? {
        ids.push(row?.get::<Vec<u8>>(0)?);
    }
    Ok(ids)
}

/// Resets one budget inside the open transaction and reports whether it
/// did. A budget that is gone, or no longer due, is left alone.
fn reset_one(db: &mut Conn, id: &[u8], now: i64) -> Result<bool> {
    let re_read = || format!("re-read budget {}", String::from_utf8_lossy(id));
    let row = match db.query_row(SELECT_ONE, &[Value::Text(id)]).with_context(re_read)? {
        Some(row) => row,
        None => return Ok(false),
    };
    let policy = row.get_bytes(0).with_context(re_read)?;
    let next = scheduled(&row.value(1)?).with_context(re_read)?;
    match next {
        Some(next) if next <= now => {}
        _ => return Ok(false),
    }
    // NULL unless the policy has a positive interval. A sum past i64::MAX
    // means "not in our lifetime", never "already due".
    let iv = policyjson::reset_interval(policy);
    let next_reset = if iv > 0 { Some(now.checked_add(iv).unwrap_or(i64::MAX)) } else { None };
    let id_text = Value::Text(id);
    db.exec(RESET_USAGE, &[now.into(), now.into(), id_text])
        .with_context(|| format!("reset usage of budget {}", String::from_utf8_lossy(id)))?;
    db.exec(RESET_POLICY, &[now.into(), next_reset.into(), id_text])
        .with_context(|| format!("reschedule budget {}", String::from_utf8_lossy(id)))?;
    Ok(true)
}

/// Reads next_reset_at_ms as the Go SDK scans it into a nullable integer:
/// NULL, an INTEGER, or text holding one.
fn scheduled(v: &Value<'_>) -> Result<Option<i64>> {
    match *v {
        Value::Null => Ok(None),
        Value::Int(n) => Ok(Some(n)),
        Value::Text(b) | Value::Blob(b) => policyjson::parse_int(b).map(Some).ok_or_else(|| {
            Error::new(Status::Other, format!("column 1 (next_reset_at_ms) is {} not holding an integer", v.type_name()))
        }),
        Value::Float(_) => Err(Error::new(Status::Other, "column 1 (next_reset_at_ms) is REAL, want INTEGER")),
    }
}

ffhost::plugin!(DESCRIPTOR, tick);
