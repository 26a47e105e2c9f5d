use std::time::Duration;

use crate::error::{Error, Result, Status};
use crate::raw;
use crate::wire::{encode_args, Row, Rows, Value};

/// Whether host calls reach a host: only inside wasm32.
const IN_HOST: bool = cfg!(target_arch = "wasm32");

/// The first size of the buffer host results land in; it grows to the
/// largest result seen.
const INITIAL_OUT: usize = 16 << 10;

/// The waits before the second and third attempts of [`retry`]: three
/// attempts in all, as FlowFabric's SQLite backend makes.
pub const BACKOFF: [Duration; 2] = [Duration::from_millis(5), Duration::from_millis(10)];

/// What [`Conn::exec`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Rows inserted, updated or deleted.
    pub rows_affected: i64,
    /// The rowid of the last insert.
    pub last_insert_id: i64,
}

/// The plugin's connection to the host's database. Every statement is one
/// host call (two when its result outgrows the out buffer, which then
/// grows); the host prepares each distinct SQL text once, so reuse the
/// same text for the same statement.
///
/// There is one host connection per instance: the tick receives the
/// plugin's `Conn`, which owns the buffers the host writes results into.
#[derive(Debug, Default)]
pub struct Conn {
    out: Vec<u8>,
    args: Vec<u8>,
}

impl Conn {
    /// A connection with no buffers yet; the first call allocates them.
    pub const fn new() -> Conn {
        Conn { out: Vec::new(), args: Vec::new() }
    }

    /// The out buffer, allocated on first use.
    fn out(&mut self) -> (*mut u8, u32) {
        if self.out.is_empty() {
            self.out = vec![0; INITIAL_OUT];
        }
        (self.out.as_mut_ptr(), self.out.len() as u32)
    }

    /// Turns a host call's packed result into its payload, fetching one
    /// that did not fit the out buffer, or into an error.
    fn finish(&mut self, result: u64) -> Result<&[u8]> {
        if !IN_HOST {
            return Err(Error::new(Status::Invalid, "not running inside ffwasmhost"));
        }
        let status = (result >> 32) as u32;
        let n = result as u32 as usize;
        if n > self.out.len() {
            self.out = vec![0; n];
            // SAFETY: the buffer holds n writable bytes.
            let got = unsafe { raw::fetch(self.out.as_mut_ptr(), n as u32) };
            if got < 0 || got as usize != n {
                return Err(Error::new(Status::Invalid, format!("fetch returned {} bytes, want {}", got, n)));
            }
        }
        let payload = &self.out[..n];
        if status != 0 {
            return Err(Error::new(Status::from_raw(status), String::from_utf8_lossy(payload)));
        }
        Ok(payload)
    }

    /// Runs one SQL call through `f` with `args` encoded.
    fn sql(
        &mut self,
        f: unsafe extern "C" fn(*const u8, u32, *const u8, u32, *mut u8, u32) -> u64,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<&[u8]> {
        encode_args(&mut self.args, args)?;
        let sql_len = u32::try_from(sql.len()).map_err(|_| Error::new(Status::Invalid, "statement too long"))?;
        let (out, cap) = self.out();
        // SAFETY: every pointer and length describes memory this call owns.
        let r = unsafe { f(sql.as_ptr(), sql_len, self.args.as_ptr(), self.args.len() as u32, out, cap) };
        self.finish(r)
    }

    /// Runs one statement that returns no rows, binding `args[i]` to
    /// parameter `i + 1` (see [`args!`](crate::args)).
    pub fn exec(&mut self, sql: &str, args: &[Value<'_>]) -> Result<ExecResult> {
        let p = self.sql(sql_exec, sql, args)?;
        if p.len() != 16 {
            return Err(Error::new(Status::Invalid, format!("exec result of {} bytes, want 16", p.len())));
        }
        let mut a = [0; 8];
        a.copy_from_slice(&p[..8]);
        let rows_affected = i64::from_le_bytes(a);
        a.copy_from_slice(&p[8..]);
        Ok(ExecResult { rows_affected, last_insert_id: i64::from_le_bytes(a) })
    }

    /// Runs one statement that returns rows (a SELECT, or a statement with
    /// RETURNING), binding `args` as [`Conn::exec`] does. The rows own
    /// their bytes, so other statements may run while they are read.
    pub fn query(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Rows> {
        let p = self.sql(sql_query, sql, args)?;
        Rows::decode(p)
    }

    /// Runs a query and returns its first row, or `None` if it has none.
    pub fn query_row(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Option<Row>> {
        self.query(sql, args)?.next().transpose()
    }

    fn tx(&mut self, f: unsafe extern "C" fn(*mut u8, u32) -> u64) -> Result<()> {
        let (out, cap) = self.out();
        // SAFETY: the out buffer holds cap writable bytes.
        let r = unsafe { f(out, cap) };
        self.finish(r).map(|_| ())
    }

    /// Starts a `BEGIN IMMEDIATE` transaction: it takes the write lock, or
    /// fails busy. [`Conn::with_tx`] is the usual way to run one.
    pub fn begin(&mut self) -> Result<()> {
        self.tx(tx_begin)
    }

    /// Commits. If it fails, the transaction is still open: roll back (or
    /// retry the commit).
    pub fn commit(&mut self) -> Result<()> {
        self.tx(tx_commit)
    }

    /// Rolls back. The transaction is closed even if this fails.
    pub fn rollback(&mut self) -> Result<()> {
        self.tx(tx_rollback)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits it. If `f`
    /// or the commit fails, the transaction is rolled back; a begin that
    /// fails leaves nothing to roll back. A busy failure of the whole
    /// transaction is retried as [`retry`] does, so `f` may run up to three
    /// times. Errors of begin and commit read `begin: ...` and
    /// `commit: ...`; `f`'s are returned as they are.
    pub fn with_tx<T, F: FnMut(&mut Conn) -> Result<T>>(&mut self, mut f: F) -> Result<T> {
        retry(|| {
            self.begin().map_err(|e| e.context("begin"))?;
            match f(self) {
                Err(e) => {
                    let _ = self.rollback();
                    Err(e)
                }
                Ok(v) => match self.commit() {
                    Err(e) => {
                        let _ = self.rollback(); // a failed commit leaves the transaction open
                        Err(e.context("commit"))
                    }
                    Ok(()) => Ok(v),
                },
            }
        })
    }

    /// Returns the value of `key`, one of the configuration keys the
    /// descriptor declares (ABI 1.3): the operator's value, else the key's
    /// default, as text (an int in decimal, a bool as `true` or `false`, a
    /// duration in whole milliseconds). It works during a tick only; an
    /// undeclared key fails with [`Status::Invalid`]. A value may be a
    /// secret: the host never logs it, so do not log it either.
    pub fn config(&mut self, key: &str) -> Result<String> {
        let (out, cap) = (self.out.as_mut_ptr(), self.out.len() as u32);
        // SAFETY: key is readable for its length and out writable for cap bytes.
        let r = unsafe { raw::config_get(key.as_ptr(), key.len() as u32, out, cap) };
        let payload = self.finish(r)?;
        Ok(String::from_utf8_lossy(payload).into_owned())
    }

    /// Returns the value of an int key, or of a duration key in milliseconds.
    pub fn config_i64(&mut self, key: &str) -> Result<i64> {
        let v = self.config(key)?;
        v.parse().map_err(|_| Error::new(Status::Invalid, format!("config key {} is not an int", key)))
    }

    /// Returns the value of a bool key.
    pub fn config_bool(&mut self, key: &str) -> Result<bool> {
        match self.config(key)?.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::new(Status::Invalid, format!("config key {} is not a bool", key))),
        }
    }

    /// Copies `bytes` to the start of the out buffer, which keeps at least
    /// its first size, and returns where they are, for describe's result.
    pub(crate) fn hold(&mut self, bytes: &[u8]) -> (u32, u32) {
        let size = bytes.len().max(INITIAL_OUT);
        if self.out.len() < size {
            self.out = vec![0; size];
        }
        self.out[..bytes.len()].copy_from_slice(bytes);
        (self.out.as_ptr() as usize as u32, bytes.len() as u32)
    }
}

// The imports as plain function pointers (raw's are unsafe fns on wasm32
// and stand-ins elsewhere).
unsafe extern "C" fn sql_exec(s: *const u8, sl: u32, a: *const u8, al: u32, o: *mut u8, oc: u32) -> u64 {
    raw::sql_exec(s, sl, a, al, o, oc)
}
unsafe extern "C" fn sql_query(s: *const u8, sl: u32, a: *const u8, al: u32, o: *mut u8, oc: u32) -> u64 {
    raw::sql_query(s, sl, a, al, o, oc)
}
unsafe extern "C" fn tx_begin(o: *mut u8, oc: u32) -> u64 {
    raw::tx_begin(o, oc)
}
unsafe extern "C" fn tx_commit(o: *mut u8, oc: u32) -> u64 {
    raw::tx_commit(o, oc)
}
unsafe extern "C" fn tx_rollback(o: *mut u8, oc: u32) -> u64 {
    raw::tx_rollback(o, oc)
}

/// Runs `f`, and runs it again after each wait of [`BACKOFF`] for as long
/// as it fails with a retryable ([`Status::Busy`]) error: three attempts in
/// all. It returns the last attempt's result.
pub fn retry<T, F: FnMut() -> Result<T>>(mut f: F) -> Result<T> {
    let mut r = f();
    for wait in BACKOFF {
        match &r {
            Err(e) if e.is_retryable() => {
                std::thread::sleep(wait);
                r = f();
            }
            _ => return r,
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_makes_three_attempts_on_busy_only() {
        let mut n = 0;
        let r: Result<()> = retry(|| {
            n += 1;
            Err(Error::new(Status::Busy, "locked"))
        });
        assert_eq!((n, r.unwrap_err().status()), (3, Status::Busy));
        let mut n = 0;
        let r: Result<()> = retry(|| {
            n += 1;
            Err(Error::new(Status::Constraint, "unique"))
        });
        assert_eq!((n, r.unwrap_err().status()), (1, Status::Constraint));
        let mut n = 0;
        let r = retry(|| {
            n += 1;
            if n < 2 {
                Err(Error::new(Status::Busy, "locked"))
            } else {
                Ok(n)
            }
        });
        assert_eq!(r.unwrap(), 2);
    }

    #[test]
    fn outside_wasm_every_call_fails_invalid() {
        let mut c = Conn::new();
        assert_eq!(c.exec("SELECT 1", &[]).unwrap_err().status(), Status::Invalid);
        assert_eq!(c.begin().unwrap_err().to_string(), "ffhost invalid: not running inside ffwasmhost");
    }
}
