package abi

import "strings"

// Structured log messages (ABI 1.2, ABI.md section 4.4): a log message
// whose first byte is LogStructured is the message text, then for each
// attribute LogAttr, its key, LogValue and its value. The three bytes are
// ASCII control characters no text contains: AppendLog replaces them, in
// the text, keys and values, by spaces.
const (
	LogStructured = '\x1e' // record separator: the message is structured
	LogAttr       = '\x1f' // unit separator: an attribute follows
	LogValue      = '\x1d' // group separator: between a key and its value
)

// AppendLog appends the structured encoding of msg and its attributes,
// kv holding key, value, key, value...; a key without a value gets an
// empty one.
func AppendLog(b []byte, msg string, kv ...string) []byte {
	b = append(b, LogStructured)
	b = appendLogText(b, msg)
	for i := 0; i < len(kv); i += 2 {
		b = append(b, LogAttr)
		b = appendLogText(b, kv[i])
		b = append(b, LogValue)
		if i+1 < len(kv) {
			b = appendLogText(b, kv[i+1])
		}
	}
	return b
}

func appendLogText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == LogStructured || c == LogAttr || c == LogValue {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// ParseLog splits a log message into its text and attributes, as pairs of
// key and value. A message that does not start with LogStructured is all
// text. An attribute without LogValue has an empty value.
func ParseLog(s string) (msg string, attrs [][2]string) {
	if s == "" || s[0] != LogStructured {
		return s, nil
	}
	parts := strings.Split(s[1:], string(rune(LogAttr)))
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, string(rune(LogValue)))
		attrs = append(attrs, [2]string{k, v})
	}
	return parts[0], attrs
}
