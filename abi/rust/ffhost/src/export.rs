//! The bodies of the plugin's exports, for [`plugin!`](crate::plugin) and
//! for a plugin that writes its exports itself:
//!
//! ```no_run
//! # use ffhost::{Conn, Descriptor, Report, Result};
//! # const DESCRIPTOR: Descriptor = Descriptor { name: "x", version: "1", description: "",
//! #     default_interval_ms: 0, reads: &[], writes: &[], config: &[] };
//! # fn tick(_: &mut Conn, _: i64, _: &mut Report) -> Result<()> { Ok(()) }
//! #[no_mangle]
//! pub extern "C" fn describe() -> u64 {
//!     ffhost::export::describe(&DESCRIPTOR)
//! }
//!
//! #[no_mangle]
//! pub extern "C" fn scan_tick(now_ms: i64) -> i32 {
//!     ffhost::export::scan_tick(tick, now_ms)
//! }
//!
//! #[no_mangle]
//! pub extern "C" fn _initialize() {
//!     ffhost::export::initialize()
//! }
//! ```
//!
//! The connection the tick receives lives in a static, so its buffers
//! survive from tick to tick, as the instance does.

use std::sync::{Mutex, MutexGuard};

use crate::conn::Conn;
use crate::error::Result;
use crate::plugin::{tick_error, tick_report, Descriptor, Report, Schema};

/// The plugin's connection.
static CONN: Mutex<Conn> = Mutex::new(Conn::new());

fn conn() -> MutexGuard<'static, Conn> {
    // A panic aborts on wasm32, so the lock is never poisoned there.
    CONN.lock().unwrap_or_else(|e| e.into_inner())
}

/// `describe`'s body: writes `d`'s JSON into the connection's out buffer
/// (the host copies it at once) and returns its location as
/// `ptr << 32 | len`.
pub fn describe(d: &Descriptor<'_>) -> u64 {
    hold_json(d.to_json())
}

/// `describe`'s body for a plugin that owns tables (ABI 1.2): the
/// descriptor with `s`'s owned tables and migrations.
pub fn describe_with(d: &Descriptor<'_>, s: &Schema<'_>) -> u64 {
    hold_json(d.to_json_with(s))
}

fn hold_json(json: String) -> u64 {
    let (ptr, len) = conn().hold(json.as_bytes());
    (ptr as u64) << 32 | len as u64
}

/// `scan_tick`'s body: runs `tick` on the plugin's connection with a zero
/// [`Report`], reports the report (also when the tick fails, as the ABI
/// keeps it), and on failure sets the tick's error to the error's line and
/// returns 1; else 0.
pub fn scan_tick(tick: fn(&mut Conn, i64, &mut Report) -> Result<()>, now_ms: i64) -> i32 {
    let mut rep = Report::default();
    let result = tick(&mut conn(), now_ms, &mut rep);
    tick_report(rep.processed, rep.errors);
    if rep.more {
        // SAFETY: the host's tick_more takes nothing and returns nothing.
        unsafe { crate::raw::tick_more() }
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            tick_error(&e.to_string());
            1
        }
    }
}

/// `_initialize`'s body: runs the module's static constructors
/// (`__wasm_call_ctors`; in Rust's std for WASI, the C library's
/// environment set-up). The host calls `_initialize` once per instance,
/// before anything else.
///
/// Defining `_initialize` matters more than what it runs: a `cdylib` whose
/// code never calls `__wasm_call_ctors` gets every export wrapped by the
/// linker in a call to the constructors before it and the destructors
/// after it. The SDK itself needs no constructor: the allocator and its
/// statics are ready without one.
pub fn initialize() {
    #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
    {
        extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: the linker's constructor function, run once per instance.
        unsafe { __wasm_call_ctors() }
    }
}
