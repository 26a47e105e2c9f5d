//! The raw imports of module `ffhost` (ABI.md, section 4). [`Conn`] and
//! the crate's functions wrap them; a plugin rarely needs them.
//!
//! Outside wasm32 they are stand-ins that answer every call with status
//! `invalid`, so that code using them compiles and tests natively.
//!
//! [`Conn`]: crate::Conn

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "ffhost")]
extern "C" {
    /// Runs one statement; the payload is the 16-byte exec result.
    pub fn sql_exec(sql: *const u8, sql_len: u32, args: *const u8, args_len: u32, out: *mut u8, out_cap: u32) -> u64;
    /// Runs one statement; the payload is the encoded rows.
    pub fn sql_query(sql: *const u8, sql_len: u32, args: *const u8, args_len: u32, out: *mut u8, out_cap: u32) -> u64;
    /// Copies a payload that did not fit the out buffer.
    pub fn fetch(out: *mut u8, out_cap: u32) -> i32;
    /// Runs `BEGIN IMMEDIATE`.
    pub fn tx_begin(out: *mut u8, out_cap: u32) -> u64;
    /// Commits; on failure the transaction stays open.
    pub fn tx_commit(out: *mut u8, out_cap: u32) -> u64;
    /// Rolls back; the transaction is closed even if it fails.
    pub fn tx_rollback(out: *mut u8, out_cap: u32) -> u64;
    /// Writes one line to the host's log.
    pub fn log(level: i32, msg: *const u8, msg_len: u32);
    /// Sets the running tick's counts.
    pub fn tick_report(processed: i64, errors: i64);
    /// Sets the running tick's failure message.
    pub fn tick_error(msg: *const u8, msg_len: u32);
    /// Says the running tick stopped with work left (ABI 1.1).
    pub fn tick_more();
    /// Reads the value of one of the plugin's config keys (ABI 1.3).
    pub fn config_get(key: *const u8, key_len: u32, out: *mut u8, out_cap: u32) -> u64;
    /// The partition the running tick is for, -1 outside one (ABI 1.4).
    pub fn tick_partition() -> i32;
    /// The running tick's SQL dialect: 0 SQLite, 1 PostgreSQL, -1 outside a tick (ABI 1.4).
    pub fn sql_dialect() -> i32;
}

#[cfg(not(target_arch = "wasm32"))]
mod stand_in {
    /// What every stand-in SQL or transaction call returns: status invalid, no payload.
    const INVALID: u64 = 5 << 32;

    /// Stand-in for the `sql_exec` import.
    ///
    /// # Safety
    /// None needed; it reads nothing.
    pub unsafe fn sql_exec(_: *const u8, _: u32, _: *const u8, _: u32, _: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `sql_query` import.
    ///
    /// # Safety
    /// None needed; it reads nothing.
    pub unsafe fn sql_query(_: *const u8, _: u32, _: *const u8, _: u32, _: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `fetch` import.
    ///
    /// # Safety
    /// None needed; it writes nothing.
    pub unsafe fn fetch(_: *mut u8, _: u32) -> i32 {
        -1
    }
    /// Stand-in for the `tx_begin` import.
    ///
    /// # Safety
    /// None needed; it writes nothing.
    pub unsafe fn tx_begin(_: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `tx_commit` import.
    ///
    /// # Safety
    /// None needed; it writes nothing.
    pub unsafe fn tx_commit(_: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `tx_rollback` import.
    ///
    /// # Safety
    /// None needed; it writes nothing.
    pub unsafe fn tx_rollback(_: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `log` import.
    ///
    /// # Safety
    /// None needed; it reads nothing.
    pub unsafe fn log(_: i32, _: *const u8, _: u32) {}
    /// Stand-in for the `tick_report` import.
    ///
    /// # Safety
    /// None needed.
    pub unsafe fn tick_report(_: i64, _: i64) {}
    /// Stand-in for the `tick_error` import.
    ///
    /// # Safety
    /// None needed; it reads nothing.
    pub unsafe fn tick_error(_: *const u8, _: u32) {}
    /// Stand-in for the `tick_more` import.
    ///
    /// # Safety
    /// None needed.
    pub unsafe fn tick_more() {}
    /// Stand-in for the `config_get` import.
    ///
    /// # Safety
    /// None needed; it reads and writes nothing.
    pub unsafe fn config_get(_: *const u8, _: u32, _: *mut u8, _: u32) -> u64 {
        INVALID
    }
    /// Stand-in for the `tick_partition` import: outside a host, no tick.
    ///
    /// # Safety
    /// None needed.
    pub unsafe fn tick_partition() -> i32 {
        -1
    }
    /// Stand-in for the `sql_dialect` import: outside a host, no tick.
    ///
    /// # Safety
    /// None needed.
    pub unsafe fn sql_dialect() -> i32 {
        -1
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use stand_in::*;
