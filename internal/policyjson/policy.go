// Package policyjson reads budget policies: the policy_json column of
// ff_budget_policy. It is shared by the budget_reset plugin and the
// benchmarks' native baseline, and links no encoding/json, which would
// double the plugin's size.
package policyjson

import (
	"strconv"
	"unicode/utf8"
)

// ResetInterval is policy_json's reset_interval_ms when that is an integer
// JSON number that fits in an int64, and 0 otherwise: a missing key, a
// fraction or exponent, a string, or malformed JSON anywhere in the text.
//
// It reads exactly as json.Unmarshal into a map[string]json.RawMessage and
// strconv.ParseInt of the value would (the last of duplicate keys wins;
// keys match after unescaping), without linking encoding/json.
// FuzzResetInterval holds it to that reference.
func ResetInterval(policy string) int64 {
	s := scanner{s: policy}
	s.ws()
	if s.peek() != '{' {
		return 0 // null, an array, a scalar or nothing: no top-level key
	}
	raw, ok := s.object(0, "reset_interval_ms")
	s.ws()
	if !ok || s.i != len(s.s) {
		return 0
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// scanner validates JSON text as encoding/json does.
type scanner struct {
	s string
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

func (s *scanner) ws() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips one value at depth and reports whether it was valid.
func (s *scanner) value(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := s.peek(); {
	case c == '{':
		_, ok := s.object(depth, "")
		return ok
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(s.s)-s.i >= len(lit) && s.s[s.i:s.i+len(lit)] == lit {
			s.i += len(lit)
			return true
		}
	}
	return false
}

// object skips an object at depth and returns the raw text of the last
// value under key (none when key is empty).
func (s *scanner) object(depth int, key string) (raw string, ok bool) {
	if depth+1 > maxDepth {
		return "", false
	}
	s.i++ // '{'
	s.ws()
	if s.peek() == '}' {
		s.i++
		return "", true
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return "", false
		}
		k, ok := s.str()
		if !ok {
			return "", false
		}
		s.ws()
		if s.peek() != ':' {
			return "", false
		}
		s.i++
		s.ws()
		start := s.i
		if !s.value(depth + 1) {
			return "", false
		}
		if key != "" && k == key {
			raw = s.s[start:s.i]
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return raw, true
		default:
			return "", false
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth+1 > maxDepth {
		return false
	}
	s.i++ // '['
	s.ws()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		s.ws()
		if !s.value(depth + 1) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str skips a string and returns its unescaped text (invalid UTF-8 and
// lone surrogates become U+FFFD, as encoding/json does).
func (s *scanner) str() (string, bool) {
	s.i++ // '"'
	var b []byte
	start := s.i
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == '"':
			out := s.s[start:s.i]
			if b != nil {
				out = string(append(b, s.s[start:s.i]...))
			}
			s.i++
			return validUTF8(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			b = append(b, s.s[start:s.i]...)
			s.i++
			var ok bool
			if b, ok = s.escape(b); !ok {
				return "", false
			}
			start = s.i
		default:
			s.i++
		}
	}
	return "", false
}

// escape decodes the escape after a backslash onto b.
func (s *scanner) escape(b []byte) ([]byte, bool) {
	if s.i >= len(s.s) {
		return b, false
	}
	c := s.s[s.i]
	s.i++
	switch c {
	case '"', '\\', '/':
		return append(b, c), true
	case 'b':
		return append(b, '\b'), true
	case 'f':
		return append(b, '\f'), true
	case 'n':
		return append(b, '\n'), true
	case 'r':
		return append(b, '\r'), true
	case 't':
		return append(b, '\t'), true
	case 'u':
		r, ok := s.hex4()
		if !ok {
			return b, false
		}
		if r >= 0xD800 && r < 0xDC00 && len(s.s)-s.i >= 6 && s.s[s.i] == '\\' && s.s[s.i+1] == 'u' {
			save := s.i
			s.i += 2
			if lo, ok := s.hex4(); ok && lo >= 0xDC00 && lo < 0xE000 {
				return utf8.AppendRune(b, (r-0xD800)<<10+(lo-0xDC00)+0x10000), true
			}
			s.i = save
		}
		if r >= 0xD800 && r < 0xE000 {
			r = utf8.RuneError
		}
		return utf8.AppendRune(b, r), true
	}
	return b, false
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.s)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s.s[s.i : s.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.s) && s.s[s.i] >= '0' && s.s[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// validUTF8 replaces each invalid byte of s with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += n
	}
	return string(b)
}
