//! Budget policies: the policy_json column of ff_budget_policy, read
//! exactly as the Go plugin's internal/policyjson reads it.
//!
//! The reader validates the whole text as Go's encoding/json does, without
//! recursion: nested containers are kept on a stack of flags, so a deeply
//! nested policy cannot overflow the wasm stack.

/// encoding/json's nesting limit.
const MAX_DEPTH: usize = 10_000;

/// The top-level key whose value is the interval.
const KEY: &[u8] = b"reset_interval_ms";

/// The top-level `reset_interval_ms` of `policy` when it is an integer JSON
/// number that fits in an i64 (no fraction, no exponent), and 0 otherwise:
/// a missing key, a string, a number too large, or malformed JSON anywhere
/// in the text. The last of duplicate keys wins and keys match after
/// unescaping, as with Go's encoding/json; nesting deeper than 10000 is
/// malformed, as there.
pub fn reset_interval(policy: &[u8]) -> i64 {
    let mut s = Scanner { s: policy, i: 0, objects: Vec::new() };
    s.ws();
    if s.peek() != b'{' {
        return 0; // null, an array, a scalar or nothing: no top-level key
    }
    s.i += 1;
    let mut raw: Option<(usize, usize)> = None;
    s.ws();
    if s.peek() == b'}' {
        s.i += 1;
    } else {
        loop {
            s.ws();
            if s.peek() != b'"' {
                return 0;
            }
            let is_key = match s.string() {
                Some(k) => k,
                None => return 0,
            };
            s.ws();
            if s.peek() != b':' {
                return 0;
            }
            s.i += 1;
            s.ws();
            let start = s.i;
            if !s.value(1) {
                return 0;
            }
            if is_key {
                raw = Some((start, s.i));
            }
            s.ws();
            let c = s.peek();
            s.i += 1;
            match c {
                b'}' => break,
                b',' => {}
                _ => return 0,
            }
        }
    }
    s.ws();
    match raw {
        Some((start, end)) if s.i == policy.len() => parse_int(&policy[start..end]).unwrap_or(0),
        _ => 0,
    }
}

/// Parses `s` as Go's `strconv.ParseInt(s, 10, 64)` does: an optional
/// sign, then one or more ASCII digits, in range.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate the magnitude; -2^63 is one more than i64::MAX.
    let limit = if neg { i64::MAX as u64 + 1 } else { i64::MAX as u64 };
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u64::from(c - b'0');
        if v > (limit - d) / 10 {
            return None;
        }
        v = v * 10 + d;
    }
    Some(if neg { (v as i64).wrapping_neg() } else { v as i64 })
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    /// One flag per open container below the top-level object: true for an object.
    objects: Vec<bool>,
}

impl Scanner<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), b' ' | b'\t' | b'\n' | b'\r') && self.i < self.s.len() {
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let mut v = 0;
        for &c in h {
            v = v << 4 | (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// Skips the string at `i` (its opening quote): `None` if it is invalid,
    /// else whether its unescaped text is exactly KEY. KEY is ASCII, so any
    /// byte or escape outside ASCII (even one that decodes to U+FFFD) rules
    /// a match out.
    fn string(&mut self) -> Option<bool> {
        let mut k = 0; // units compared so far
        let mut matches = true;
        self.i += 1; // '"'
        while self.i < self.s.len() {
            let mut c = u32::from(self.s[self.i]);
            self.i += 1;
            if c == u32::from(b'"') {
                return Some(matches && k == KEY.len());
            }
            if c < 0x20 {
                return None;
            }
            if c == u32::from(b'\\') {
                let e = *self.s.get(self.i)?;
                self.i += 1;
                c = match e {
                    b'"' | b'\\' | b'/' => u32::from(e),
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => u32::from(b'\n'),
                    b'r' => u32::from(b'\r'),
                    b't' => u32::from(b'\t'),
                    b'u' => self.hex4()?,
                    _ => return None,
                };
            }
            if c >= 0x80 || KEY.get(k).map(|&b| u32::from(b)) != Some(c) {
                matches = false;
            }
            k += 1;
        }
        None
    }

    fn digits(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_ascii_digit() && self.i < self.s.len() {
            self.i += 1;
        }
        self.i > start
    }

    /// Skips `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> bool {
        if self.peek() == b'-' {
            self.i += 1;
        }
        match self.peek() {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return false,
        }
        if self.peek() == b'.' {
            self.i += 1;
            if !self.digits() {
                return false;
            }
        }
        if matches!(self.peek(), b'e' | b'E') {
            self.i += 1;
            if matches!(self.peek(), b'+' | b'-') {
                self.i += 1;
            }
            if !self.digits() {
                return false;
            }
        }
        true
    }

    fn literal(&mut self) -> bool {
        for lit in [&b"true"[..], b"false", b"null"] {
            if self.s[self.i..].starts_with(lit) {
                self.i += lit.len();
                return true;
            }
        }
        false
    }

    /// Skips one value inside a container at level `base` (1 for a member
    /// of the top-level object), nested containers included, and reports
    /// whether it was valid.
    fn value(&mut self, base: usize) -> bool {
        self.objects.clear();
        let level = |s: &Self| base + s.objects.len();
        // What the scanner expects next.
        enum Want {
            Value,
            Member,
        }
        let mut want = Want::Value;
        loop {
            match want {
                Want::Member => {
                    // An object member ("key": value), after '{' or ','.
                    self.ws();
                    if self.peek() != b'"' || self.string().is_none() {
                        return false;
                    }
                    self.ws();
                    if self.peek() != b':' {
                        return false;
                    }
                    self.i += 1;
                    self.ws();
                    want = Want::Value;
                    continue;
                }
                Want::Value => {}
            }
            match self.peek() {
                c @ (b'{' | b'[') => {
                    if level(self) + 1 > MAX_DEPTH {
                        return false;
                    }
                    let object = c == b'{';
                    self.objects.push(object);
                    self.i += 1;
                    self.ws();
                    if self.peek() == if object { b'}' } else { b']' } {
                        self.i += 1;
                        self.objects.pop();
                    } else {
                        want = if object { Want::Member } else { Want::Value };
                        continue;
                    }
                }
                b'"' => {
                    if self.string().is_none() {
                        return false;
                    }
                }
                b'-' | b'0'..=b'9' => {
                    if !self.number() {
                        return false;
                    }
                }
                _ => {
                    if !self.literal() {
                        return false;
                    }
                }
            }
            // A value ended: close containers until one goes on, or the value is done.
            loop {
                let object = match self.objects.last() {
                    None => return true,
                    Some(&o) => o,
                };
                self.ws();
                match self.peek() {
                    b',' => {
                        self.i += 1;
                        if object {
                            want = Want::Member;
                        } else {
                            self.ws();
                            want = Want::Value;
                        }
                        break;
                    }
                    c if c == if object { b'}' } else { b']' } => {
                        self.i += 1;
                        self.objects.pop();
                    }
                    _ => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_go_cases() {
        for (policy, want) in [
            (r#"{"reset_interval_ms":60000}"#, 60000),
            (r#"{ "limits": {"tokens": 5}, "reset_interval_ms" : 86400000 }"#, 86400000),
            (r#"{"reset_interval_ms":9223372036854775807}"#, i64::MAX),
            (r#"{"reset_interval_ms":-9223372036854775808}"#, i64::MIN),
            (r#"{"reset_interval_ms":9223372036854775808}"#, 0),
            (r#"{"reset_interval_ms":-5}"#, -5),
            (r#"{"reset_interval_ms":-0}"#, 0),
            (r#"{"reset_interval_ms":1.5}"#, 0),
            (r#"{"reset_interval_ms":1e3}"#, 0),
            (r#"{"reset_interval_ms":"1000"}"#, 0),
            (r#"{"limits":{"reset_interval_ms":1000}}"#, 0),
            (r#"{"reset_interval_ms":1,"reset_interval_ms":2}"#, 2),
            (r#"{"reset\u005finterval_ms":7}"#, 7),
            (r#"{"a":[1,{"b":"\ud83d\ude00"}],"reset_interval_ms":3}"#, 3),
            (r#"{"reset_interval_ms":01}"#, 0),
            (r#"{"reset_interval_ms":1}x"#, 0),
            (r#"{"reset_interval_ms":5,}"#, 0),
            (r#"{"reset_interval_ms":1000"#, 0),
            ("", 0),
        ] {
            assert_eq!(reset_interval(policy.as_bytes()), want, "{}", policy);
        }
    }

    #[test]
    fn nests_up_to_ten_thousand() {
        let nested = |n: usize| format!(r#"{{"a":{}{},"reset_interval_ms":4}}"#, "[".repeat(n), "]".repeat(n));
        assert_eq!(reset_interval(nested(9_999).as_bytes()), 4);
        assert_eq!(reset_interval(nested(10_000).as_bytes()), 0);
    }

    #[test]
    fn parses_ints_as_go() {
        assert_eq!(parse_int(b"+5"), Some(5));
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"1_0"), None);
        assert_eq!(parse_int(b"-9223372036854775809"), None);
    }
}
