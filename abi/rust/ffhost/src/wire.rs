//! The wire encoding (ABI.md, section 6): arguments out, rows in.

use std::fmt;
use std::rc::Rc;

use crate::error::{Error, Result, Status};

/// A value: an argument to a statement, or a column of a [`Row`]. Text and
/// blobs are borrowed bytes (UTF-8 is expected of text, but neither the
/// host nor SQLite checks it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// SQLite INTEGER.
    Int(i64),
    /// SQLite REAL.
    Float(f64),
    /// SQLite TEXT.
    Text(&'a [u8]),
    /// SQLite BLOB.
    Blob(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The SQLite name of the value's type: NULL, INTEGER, REAL, TEXT or BLOB.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "INTEGER",
            Value::Float(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }

    /// The wire tag of the value's type.
    fn tag(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Int(_) => 1,
            Value::Float(_) => 2,
            Value::Text(_) => 3,
            Value::Blob(_) => 4,
        }
    }
}

impl<'a> From<i64> for Value<'a> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl<'a> From<i32> for Value<'a> {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}

impl<'a> From<u32> for Value<'a> {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}

impl<'a> From<bool> for Value<'a> {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}

impl<'a> From<f64> for Value<'a> {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v.as_bytes())
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v.as_bytes())
    }
}

/// Bytes bind as a BLOB; use [`Value::Text`] for text held as bytes.
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}

/// Bytes bind as a BLOB; use [`Value::Text`] for text held as bytes.
impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

/// `None` binds as NULL.
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Appends the argument encoding of `args` to `out` (nothing for none).
pub(crate) fn encode_args(out: &mut Vec<u8>, args: &[Value<'_>]) -> Result<()> {
    out.clear();
    if args.is_empty() {
        return Ok(());
    }
    let count = u32::try_from(args.len()).map_err(|_| Error::new(Status::Invalid, "too many arguments"))?;
    out.extend_from_slice(&count.to_le_bytes());
    for (i, v) in args.iter().enumerate() {
        out.push(v.tag());
        match *v {
            Value::Null => {}
            Value::Int(n) => out.extend_from_slice(&n.to_le_bytes()),
            Value::Float(f) => out.extend_from_slice(&f.to_bits().to_le_bytes()),
            Value::Text(b) | Value::Blob(b) => {
                let n = u32::try_from(b.len())
                    .map_err(|_| Error::new(Status::Invalid, format!("argument {} is too long", i + 1)))?;
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    Ok(())
}

/// A column value inside a result buffer.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Null,
    Int(i64),
    Float(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

/// Reads the wire encoding from a buffer, never past its end.
struct Decoder<'a> {
    b: &'a [u8],
    off: usize,
}

impl<'a> Decoder<'a> {
    fn left(&self) -> usize {
        self.b.len() - self.off
    }

    fn u32(&mut self) -> Option<u32> {
        let v = self.b.get(self.off..self.off + 4)?;
        self.off += 4;
        Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let v = self.b.get(self.off..self.off + 8)?;
        self.off += 8;
        let mut a = [0; 8];
        a.copy_from_slice(v);
        Some(u64::from_le_bytes(a))
    }

    /// A u32 length, then that many bytes: their range.
    fn bytes(&mut self) -> Option<(usize, usize)> {
        let n = self.u32()? as usize;
        if n > self.left() {
            return None;
        }
        let start = self.off;
        self.off += n;
        Some((start, n))
    }

    fn slot(&mut self) -> std::result::Result<Slot, &'static str> {
        let tag = *self.b.get(self.off).ok_or("value past the end")?;
        self.off += 1;
        let short = "value past the end";
        Ok(match tag {
            0 => Slot::Null,
            1 => Slot::Int(self.u64().ok_or(short)? as i64),
            2 => Slot::Float(f64::from_bits(self.u64().ok_or(short)?)),
            3 => {
                let (s, n) = self.bytes().ok_or(short)?;
                Slot::Text(s, n)
            }
            4 => {
                let (s, n) = self.bytes().ok_or(short)?;
                Slot::Blob(s, n)
            }
            _ => return Err("unknown value tag"),
        })
    }
}

fn decode_error(what: &str) -> Error {
    Error::new(Status::Invalid, format!("decode query result: {}", what))
}

/// A query's result: a copy of every row the host sent, walked as an
/// iterator of [`Row`]s. The rows own their bytes, so other statements may
/// run while they are read. A malformed row is yielded as an error
/// ([`Status::Invalid`]) and ends the iteration.
pub struct Rows {
    buf: Rc<[u8]>,
    off: usize,
    left: u32,
    columns: Rc<[String]>,
}

impl Rows {
    /// Decodes a query result's header, with the checks of the Go decoder:
    /// no count may claim more than the bytes left.
    pub(crate) fn decode(payload: &[u8]) -> Result<Rows> {
        let buf: Rc<[u8]> = Rc::from(payload);
        let mut d = Decoder { b: &buf, off: 0 };
        let ncols = d.u32().ok_or_else(|| decode_error("column count past the end"))? as usize;
        if ncols > d.left() / 4 {
            return Err(decode_error("column count past the end"));
        }
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let (s, n) = d.bytes().ok_or_else(|| decode_error("column name past the end"))?;
            columns.push(String::from_utf8_lossy(&buf[s..s + n]).into_owned());
        }
        let nrows = d.u32().ok_or_else(|| decode_error("row count past the end"))?;
        if nrows as u64 * ncols.max(1) as u64 > d.left() as u64 {
            return Err(decode_error("row count past the end"));
        }
        let off = d.off;
        Ok(Rows { buf, off, left: nrows, columns: columns.into() })
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of rows not read yet.
    pub fn remaining(&self) -> usize {
        self.left as usize
    }
}

impl Iterator for Rows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut d = Decoder { b: &self.buf, off: self.off };
        let mut slots = Vec::with_capacity(self.columns.len());
        for _ in 0..self.columns.len() {
            match d.slot() {
                Ok(s) => slots.push(s),
                Err(what) => {
                    self.left = 0;
                    return Some(Err(decode_error(what)));
                }
            }
        }
        self.off = d.off;
        Some(Ok(Row { buf: self.buf.clone(), columns: self.columns.clone(), slots }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

impl fmt::Debug for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows").field("columns", &self.columns).field("remaining", &self.left).finish()
    }
}

/// One row of a query's result.
#[derive(Clone)]
pub struct Row {
    buf: Rc<[u8]>,
    columns: Rc<[String]>,
    slots: Vec<Slot>,
}

impl Row {
    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Column `i`'s value (from 0), or an error ([`Status::Invalid`]) past
    /// the last column.
    pub fn value(&self, i: usize) -> Result<Value<'_>> {
        let slot = self.slots.get(i).ok_or_else(|| {
            Error::new(Status::Invalid, format!("column {} is past the last column ({} columns)", i, self.slots.len()))
        })?;
        Ok(match *slot {
            Slot::Null => Value::Null,
            Slot::Int(n) => Value::Int(n),
            Slot::Float(f) => Value::Float(f),
            Slot::Text(s, n) => Value::Text(&self.buf[s..s + n]),
            Slot::Blob(s, n) => Value::Blob(&self.buf[s..s + n]),
        })
    }

    /// Column `i`'s value converted to `T` (see [`FromValue`]). A value of
    /// another type fails ([`Status::Other`]) naming the column, e.g.
    /// `column 1 (next_reset_at_ms) is NULL, want INTEGER`; read a nullable
    /// column as an `Option`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self.value(i)?;
        T::from_value(v).map_err(|want| self.type_error(i, &v, want))
    }

    /// Column `i`'s TEXT or BLOB as bytes, borrowed from the row.
    pub fn get_bytes(&self, i: usize) -> Result<&[u8]> {
        match self.value(i)? {
            Value::Text(b) | Value::Blob(b) => Ok(b),
            v => Err(self.type_error(i, &v, "TEXT or BLOB")),
        }
    }

    /// Column `i`'s TEXT (or BLOB) as a string, borrowed from the row; it
    /// must be valid UTF-8.
    pub fn get_str(&self, i: usize) -> Result<&str> {
        let v = self.value(i)?;
        match v {
            Value::Text(b) | Value::Blob(b) => std::str::from_utf8(b).map_err(|_| self.type_error(i, &v, "TEXT in UTF-8")),
            _ => Err(self.type_error(i, &v, "TEXT or BLOB")),
        }
    }

    fn type_error(&self, i: usize, v: &Value<'_>, want: &str) -> Error {
        Error::new(Status::Other, format!("column {} ({}) is {}, want {}", i, self.columns[i], v.type_name(), want))
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for i in 0..self.slots.len() {
            m.entry(&self.columns[i], &self.value(i).unwrap_or(Value::Null));
        }
        m.finish()
    }
}

/// A type a column value converts to with [`Row::get`].
///
/// | type | accepts |
/// | --- | --- |
/// | `i64` | INTEGER |
/// | `f64` | REAL, INTEGER |
/// | `String` | TEXT or BLOB holding UTF-8 |
/// | `Vec<u8>` | TEXT, BLOB |
/// | `Option<T>` | NULL (as `None`), or what `T` accepts |
pub trait FromValue: Sized {
    /// Converts `v`, or returns what was wanted (e.g. `"INTEGER"`) when
    /// `v` has another type.
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str>;
}

impl FromValue for i64 {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Int(n) => Ok(n),
            _ => Err("INTEGER"),
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Float(f) => Ok(f),
            Value::Int(n) => Ok(n as f64),
            _ => Err("REAL or INTEGER"),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Text(b) | Value::Blob(b) => String::from_utf8(b.to_vec()).map_err(|_| "TEXT in UTF-8"),
            _ => Err("TEXT or BLOB"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Text(b) | Value::Blob(b) => Ok(b.to_vec()),
            _ => Err("TEXT or BLOB"),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_worked_example() {
        // ABI.md, section 6: (42, 'ab', NULL, x'ff', 1.5).
        let mut out = Vec::new();
        encode_args(&mut out, &[Value::from(42i64), "ab".into(), Value::Null, Value::Blob(&[0xff]), 1.5.into()]).unwrap();
        let want: &[u8] = &[
            5, 0, 0, 0, 1, 42, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0, 0, 0, b'a', b'b', 0, 4, 1, 0, 0, 0, 0xff, 2, 0, 0, 0, 0, 0, 0,
            0xf8, 0x3f,
        ];
        assert_eq!(out, want);
        encode_args(&mut out, &[]).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn decodes_the_worked_example() {
        // ABI.md, section 6: columns id, name; rows (1, 'a') and (2, NULL).
        let b: &[u8] = &[
            2, 0, 0, 0, 2, 0, 0, 0, b'i', b'd', 4, 0, 0, 0, b'n', b'a', b'm', b'e', 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0,
            3, 1, 0, 0, 0, b'a', 1, 2, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let rows = Rows::decode(b).unwrap();
        assert_eq!(rows.columns(), ["id", "name"]);
        let rows: Vec<Row> = rows.collect::<Result<_>>().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<i64>(0).unwrap(), 1);
        assert_eq!(rows[0].get_str(1).unwrap(), "a");
        assert_eq!(rows[1].get::<Option<String>>(1).unwrap(), None);
        let e = rows[1].get::<String>(1).unwrap_err();
        assert_eq!(e.to_string(), "ffhost other: column 1 (name) is NULL, want TEXT or BLOB");
        assert_eq!(rows[1].get::<f64>(0).unwrap(), 2.0);
        assert_eq!(rows[0].value(2).unwrap_err().status(), Status::Invalid);
    }

    #[test]
    fn refuses_counts_past_the_end() {
        for b in [
            &[][..],
            &[255, 255, 255, 255][..],                   // columns past the end
            &[0, 0, 0, 0, 1, 0, 0, 0][..],               // a row of no columns, in no bytes
            &[1, 0, 0, 0, 1, 0, 0, 0, b'x', 2, 0, 0, 0, 0][..], // two rows in one byte
        ] {
            assert_eq!(Rows::decode(b).unwrap_err().status(), Status::Invalid, "{:?}", b);
        }
        // One column, one row whose value ends early.
        let mut rows = Rows::decode(&[1, 0, 0, 0, 1, 0, 0, 0, b'x', 1, 0, 0, 0, 1, 5, 0, 0]).unwrap();
        assert!(rows.next().unwrap().is_err());
        assert!(rows.next().is_none());
    }
}
