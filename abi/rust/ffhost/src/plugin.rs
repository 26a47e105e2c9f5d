//! The descriptor, the report, and the log.

use crate::raw;
use crate::ABI_VERSION;

/// What `describe` reports (ABI.md, section 3).
#[derive(Clone, Copy, Debug)]
pub struct Descriptor<'a> {
    /// `^[a-z][a-z0-9_]{0,63}$`, unique among the plugins a host runs.
    pub name: &'a str,
    /// The plugin's own version (semver advised).
    pub version: &'a str,
    /// One line for operators.
    pub description: &'a str,
    /// The tick interval when the operator sets none; 0 disables the
    /// plugin unless the operator sets one.
    pub default_interval_ms: i64,
    /// Tables read and never written.
    pub reads: &'a [&'a str],
    /// Tables read and written.
    pub writes: &'a [&'a str],
    /// The configuration keys [`Conn::config`] reads (ABI 1.3); `&[]` for none.
    ///
    /// [`Conn::config`]: crate::Conn::config
    pub config: &'a [ConfigKey<'a>],
}

/// One configuration key a plugin declares (ABI 1.3, ABI.md section 3).
#[derive(Clone, Copy, Debug)]
pub struct ConfigKey<'a> {
    /// `^[a-z][a-z0-9_]{0,63}$`.
    pub name: &'a str,
    /// `"string"`, `"int"`, `"bool"` or `"duration"`.
    pub ty: &'a str,
    /// The value when the operator sets none, as text: `"500"`, `"true"`,
    /// `"1m30s"`. Only a string key may default to `""`.
    pub default: &'a str,
    /// One line for operators.
    pub doc: &'a str,
}

/// The tables a plugin owns and their migrations (ABI 1.2, ABI.md section
/// 3.1), for [`plugin!`](crate::plugin)'s three-argument form.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    /// Tables the plugin owns: it reads and writes them, and its
    /// migrations create and change them. Not in `reads` or `writes`.
    pub owns: &'a [&'a str],
    /// The owned tables' steps on SQLite, numbered 1, 2, 3... in order.
    pub sqlite: &'a [Migration<'a>],
    /// The owned tables' steps on PostgreSQL.
    pub postgres: &'a [Migration<'a>],
}

/// One numbered schema step of the tables a plugin owns. A step once
/// released must never change, only be followed by another.
#[derive(Clone, Copy, Debug)]
pub struct Migration<'a> {
    /// 1 for the first step, then each one more.
    pub id: i64,
    /// One line, e.g. "create leases".
    pub name: &'a str,
    /// The statements, at most 16 KiB.
    pub sql: &'a str,
}

impl Descriptor<'_> {
    /// The descriptor as `describe` returns it: JSON with the keys in the
    /// Go SDK's order, strings escaped as JSON requires (quotes,
    /// backslashes, control characters, DEL, U+2028 and U+2029 as escapes).
    /// The host validates the values.
    pub fn to_json(&self) -> String {
        self.json(None)
    }

    /// [`to_json`](Self::to_json) with `schema`'s owned tables and
    /// migrations (ABI 1.2).
    pub fn to_json_with(&self, schema: &Schema<'_>) -> String {
        self.json(Some(schema))
    }

    fn json(&self, schema: Option<&Schema<'_>>) -> String {
        let mut s = String::with_capacity(256);
        s.push_str("{\"name\":");
        push_json_string(&mut s, self.name);
        s.push_str(",\"abi_version\":");
        push_json_string(&mut s, ABI_VERSION);
        s.push_str(",\"version\":");
        push_json_string(&mut s, self.version);
        s.push_str(",\"default_interval_ms\":");
        s.push_str(&self.default_interval_ms.to_string());
        for (key, tables) in [("reads", self.reads), ("writes", self.writes)] {
            s.push_str(",\"");
            s.push_str(key);
            s.push_str("\":[");
            for (i, t) in tables.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_json_string(&mut s, t);
            }
            s.push(']');
        }
        s.push_str(",\"description\":");
        push_json_string(&mut s, self.description);
        if let Some(sc) = schema {
            if !sc.owns.is_empty() {
                s.push_str(",\"owns\":[");
                for (i, t) in sc.owns.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    push_json_string(&mut s, t);
                }
                s.push(']');
            }
            // Dialects in order, as the Go SDK writes them.
            let lists: Vec<(&str, &[Migration<'_>])> = [("postgres", sc.postgres), ("sqlite", sc.sqlite)]
                .into_iter()
                .filter(|(_, m)| !m.is_empty())
                .collect();
            if !lists.is_empty() {
                s.push_str(",\"migrations\":{");
                for (i, (dialect, ms)) in lists.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    push_json_string(&mut s, dialect);
                    s.push_str(":[");
                    for (j, m) in ms.iter().enumerate() {
                        if j > 0 {
                            s.push(',');
                        }
                        s.push_str("{\"id\":");
                        s.push_str(&m.id.to_string());
                        s.push_str(",\"name\":");
                        push_json_string(&mut s, m.name);
                        s.push_str(",\"sql\":");
                        push_json_string(&mut s, m.sql);
                        s.push('}');
                    }
                    s.push(']');
                }
                s.push('}');
            }
        }
        if !self.config.is_empty() {
            s.push_str(",\"config\":[");
            for (i, k) in self.config.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str("{\"name\":");
                push_json_string(&mut s, k.name);
                s.push_str(",\"type\":");
                push_json_string(&mut s, k.ty);
                s.push_str(",\"default\":");
                push_json_string(&mut s, k.default);
                s.push_str(",\"doc\":");
                push_json_string(&mut s, k.doc);
                s.push('}');
            }
            s.push(']');
        }
        s.push('}');
        s
    }
}

/// Appends `v` as a JSON string, as the Go SDK's appendJSONString does.
fn push_json_string(s: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{2028}' | '\u{2029}' => {
                let r = c as usize;
                s.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    s.push(HEX[r >> shift & 0xf] as char);
                }
            }
            _ => s.push(c),
        }
    }
    s.push('"');
}

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Items repaired.
    pub processed: i64,
    /// Items that failed while the tick as a whole succeeded.
    pub errors: i64,
    /// The tick stopped with work left (ABI 1.1): a host with drain on for
    /// the plugin ticks again after a short pause.
    pub more: bool,
}

/// Sets the running tick's report (the last call wins). [`plugin!`]'s
/// `scan_tick` calls it with the tick's [`Report`].
///
/// [`plugin!`]: crate::plugin
pub fn tick_report(processed: i64, errors: i64) {
    // SAFETY: plain integers.
    unsafe { raw::tick_report(processed, errors) }
}

/// Sets the running tick's failure message (the last call wins).
pub fn tick_error(msg: &str) {
    // SAFETY: msg is len bytes of readable memory.
    unsafe { raw::tick_error(msg.as_ptr(), len32(msg)) }
}

/// A log level, as Go's log/slog numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    /// -4.
    Debug = -4,
    /// 0.
    Info = 0,
    /// 4.
    Warn = 4,
    /// 8.
    Error = 8,
}

/// Writes `msg` as one line of the host's log, tagged with the plugin's
/// name. CR and LF become spaces there.
pub fn log(level: Level, msg: &str) {
    // SAFETY: msg is len bytes of readable memory.
    unsafe { raw::log(level as i32, msg.as_ptr(), len32(msg)) }
}

/// Logs at debug level.
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

/// Logs at info level.
pub fn info(msg: &str) {
    log(Level::Info, msg)
}

/// Logs at warning level.
pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

/// Logs at error level.
pub fn error(msg: &str) {
    log(Level::Error, msg)
}

/// A string's length as the ABI's u32 (the host cuts long messages anyway).
fn len32(s: &str) -> u32 {
    u32::try_from(s.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_json_escapes_as_the_go_sdk() {
        let d = Descriptor {
            name: "x",
            version: "1.0 \"beta\"",
            description: "a\\b\u{7}\t\u{7f}\u{2028}\u{2029}é😀\u{85}",
            default_interval_ms: -15,
            reads: &[],
            writes: &["t1", "t2"],
            config: &[],
        };
        assert_eq!(
            d.to_json(),
            "{\"name\":\"x\",\"abi_version\":\"1.4\",\"version\":\"1.0 \\\"beta\\\"\",\"default_interval_ms\":-15,\
             \"reads\":[],\"writes\":[\"t1\",\"t2\"],\
             \"description\":\"a\\\\b\\u0007\\u0009\\u007f\\u2028\\u2029é😀\u{85}\"}"
        );
    }
}
