//! The Rust SDK for ffwasmhost plugins, ABI 1.2 (`abi/ABI.md`).
//!
//! A plugin is a `cdylib` for `wasm32-wasip1` (`wasm32-wasi` before Rust
//! 1.78) that declares a [`Descriptor`] and a tick function and exports
//! them with [`plugin!`]:
//!
//! ```no_run
//! use ffhost::{args, Conn, Context, Descriptor, Report, Result};
//!
//! const DESCRIPTOR: Descriptor = Descriptor {
//!     name: "stale_jobs",
//!     version: "0.1.0",
//!     description: "Marks jobs whose lease expired as stale.",
//!     default_interval_ms: 10_000,
//!     reads: &[],
//!     writes: &["jobs"],
//!     config: &[],
//! };
//!
//! fn tick(db: &mut Conn, now_ms: i64, rep: &mut Report) -> Result<()> {
//!     let res = db
//!         .exec("UPDATE jobs SET state = 'stale' WHERE lease_until_ms < ?", args![now_ms])
//!         .context("mark stale jobs")?;
//!     rep.processed = res.rows_affected;
//!     Ok(())
//! }
//!
//! ffhost::plugin!(DESCRIPTOR, tick);
//! ```
//!
//! With Debian's rustc 1.63 and no cargo, build the SDK once as an rlib and
//! the plugin against it:
//!
//! ```text
//! rustc --edition 2021 --target wasm32-wasi --crate-type rlib --crate-name ffhost \
//!     -C opt-level=s -o build/rust/libffhost.rlib abi/rust/ffhost/src/lib.rs
//! rustc --edition 2021 --target wasm32-wasi --crate-type cdylib -C opt-level=s \
//!     -C link-arg=--strip-all --extern ffhost=build/rust/libffhost.rlib \
//!     -o stale_jobs.wasm stale_jobs.rs
//! ```
//!
//! With cargo, depend on this crate by path and set
//! `crate-type = ["cdylib"]`.
//!
//! The pieces:
//!
//! - [`Conn`] runs statements ([`Conn::exec`], [`Conn::query`],
//!   [`Conn::query_row`]) with arguments bound from [`Value`]s ([`args!`]),
//!   and transactions ([`Conn::with_tx`], with the busy retry of
//!   [`retry`]). Query results are [`Rows`], an iterator of [`Row`]s with
//!   typed accessors ([`Row::get`]).
//! - Every failure is an [`Error`] carrying the host's [`Status`] class
//!   and message.
//! - [`log`] and its four levels write to the daemon's log.
//! - [`plugin!`] defines the exports `describe`, `scan_tick` and
//!   `_initialize` from a [`Descriptor`] and a tick function; the functions
//!   of [`export`] do the same for a plugin that writes its exports itself.
//!
//! A panic in a plugin aborts (wasm32 has no unwinding): the instance
//! traps, the host fails the tick, quotes the panic message the default
//! hook wrote to stderr, and starts a fresh instance for the next tick.
//!
//! Outside wasm32 the crate compiles, so plugins can unit-test their own
//! logic natively, but every host call fails with [`Status::Invalid`].
#![warn(missing_docs)]

mod conn;
mod error;
pub mod export;
mod plugin;
pub mod raw;
mod wire;

pub use conn::{retry, Conn, ExecResult, BACKOFF};
pub use error::{Context, Error, Result, Status};
pub use plugin::{debug, error, info, log, tick_error, tick_report, warn, ConfigKey, Descriptor, Level, Migration, Report, Schema};
pub use wire::{FromValue, Row, Rows, Value};

/// The ABI version this SDK speaks, as `describe` reports it.
pub const ABI_VERSION: &str = "1.4";

/// The partition the running tick is for (ABI 1.4); -1 outside a tick. A
/// plugin of this SDK declares no partition family, so it is 0 in a tick.
pub fn tick_partition() -> i32 {
    // SAFETY: the host's tick_partition takes nothing and returns an i32.
    unsafe { raw::tick_partition() }
}

/// The running tick's SQL dialect (ABI 1.4): 0 SQLite, 1 PostgreSQL; -1
/// outside a tick. A plugin of this SDK declares no dialects, so it runs
/// on SQLite only.
pub fn sql_dialect() -> i32 {
    // SAFETY: the host's sql_dialect takes nothing and returns an i32.
    unsafe { raw::sql_dialect() }
}

/// Builds the argument slice of [`Conn::exec`] and [`Conn::query`]:
/// `args![now_ms, id]` is `&[Value::from(now_ms), Value::from(id)]`.
#[macro_export]
macro_rules! args {
    () => {
        &[] as &[$crate::Value]
    };
    ($($arg:expr),+ $(,)?) => {
        &[$($crate::Value::from($arg)),+]
    };
}

/// Defines the plugin's exports from a [`Descriptor`] and a tick function
/// `fn(&mut Conn, now_ms: i64, &mut Report) -> Result<()>`:
///
/// - `describe() -> i64`, the descriptor's JSON ([`export::describe`]);
/// - `scan_tick(now_ms: i64) -> i32`, the tick ([`export::scan_tick`]);
/// - `_initialize()`, which runs the module's static constructors once
///   ([`export::initialize`]). A Rust `cdylib` has no `_initialize` of its
///   own, and without one the linker would wrap every export in a call to
///   the constructors before it and the destructors after it.
///
/// Use it once, in the plugin crate's root. `plugin!(DESCRIPTOR, SCHEMA,
/// tick)` adds a [`Schema`]: the tables the plugin owns and their
/// migrations (ABI 1.2).
#[macro_export]
macro_rules! plugin {
    ($descriptor:expr, $schema:expr, $tick:expr) => {
        /// Returns the plugin's descriptor (ABI export `describe`).
        #[no_mangle]
        pub extern "C" fn describe() -> u64 {
            $crate::export::describe_with(&$descriptor, &$schema)
        }

        $crate::plugin!(@rest $tick);
    };
    ($descriptor:expr, $tick:expr) => {
        /// Returns the plugin's descriptor (ABI export `describe`).
        #[no_mangle]
        pub extern "C" fn describe() -> u64 {
            $crate::export::describe(&$descriptor)
        }

        $crate::plugin!(@rest $tick);
    };
    (@rest $tick:expr) => {
        /// Runs one tick (ABI export `scan_tick`).
        #[no_mangle]
        pub extern "C" fn scan_tick(now_ms: i64) -> i32 {
            $crate::export::scan_tick($tick, now_ms)
        }

        /// Runs the static constructors (the WASI reactor's `_initialize`).
        #[no_mangle]
        pub extern "C" fn _initialize() {
            $crate::export::initialize()
        }
    };
}
