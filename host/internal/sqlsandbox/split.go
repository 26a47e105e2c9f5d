package sqlsandbox

import (
	"fmt"
	"strings"
)

// sqlToken is one token of a migration step: a word (a keyword or a plain
// or quoted identifier, unquoted), a string literal, or one character.
type sqlToken struct {
	text   string
	word   bool
	quoted bool
}

// splitStatements splits a migration step into its statements at the
// semicolons outside string literals, quoted identifiers and comments,
// each with its tokens; statements without tokens are dropped. It does not
// know CREATE TRIGGER bodies: a trigger splits into pieces that are
// refused, as triggers are anyway.
func splitStatements(src string) ([]string, [][]sqlToken, error) {
	var stmts []string
	var toks [][]sqlToken
	var cur []sqlToken
	start := 0
	flush := func(end int) {
		if len(cur) > 0 {
			stmts = append(stmts, src[start:end])
			toks = append(toks, cur)
		}
		cur, start = nil, end+1
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j + 1
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				i = len(src) // SQLite ends an unterminated comment at the end
			} else {
				i += j + 4
			}
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			j, text, ok := quoted(src, i+1, end)
			if !ok {
				return nil, nil, fmt.Errorf("unterminated %c at byte %d", c, i)
			}
			cur = append(cur, sqlToken{text: text, word: c != '\'', quoted: true})
			i = j
		case c == ';':
			flush(i)
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= 0x80:
			j := i
			for j < len(src) && (src[j] == '_' || src[j] == '$' || src[j] >= '0' && src[j] <= '9' ||
				src[j] >= 'A' && src[j] <= 'Z' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 0x80) {
				j++
			}
			cur = append(cur, sqlToken{text: src[i:j], word: true})
			i = j
		default:
			cur = append(cur, sqlToken{text: src[i : i+1]})
			i++
		}
	}
	flush(len(src))
	return stmts, toks, nil
}

// quoted reads a quoted token from src[i:] up to end, a doubled end
// standing for itself (not for ']'), and returns the index after it.
func quoted(src string, i int, end byte) (int, string, bool) {
	var b strings.Builder
	for i < len(src) {
		if src[i] == end {
			if end != ']' && i+1 < len(src) && src[i+1] == end {
				b.WriteByte(end)
				i += 2
				continue
			}
			return i + 1, b.String(), true
		}
		b.WriteByte(src[i])
		i++
	}
	return i, "", false
}

// checkStatementKind refuses what the authorizer cannot tell apart or
// never sees: an ALTER TABLE other than ADD [COLUMN] (SQLite reports every
// ALTER TABLE alike), and VACUUM (which SQLite does not authorize; it
// fails inside the step's transaction anyway).
func checkStatementKind(toks []sqlToken) error {
	kw := func(i int, want string) bool {
		return i < len(toks) && toks[i].word && !toks[i].quoted && strings.EqualFold(toks[i].text, want)
	}
	if kw(0, "vacuum") {
		return fmt.Errorf("VACUUM is not allowed in a migration")
	}
	if !kw(0, "alter") {
		return nil
	}
	i := 2 // ALTER TABLE name
	if !kw(1, "table") || len(toks) < 3 || !toks[2].word {
		return fmt.Errorf("only ALTER TABLE ... ADD COLUMN is allowed")
	}
	if len(toks) > 4 && toks[3].text == "." && !toks[3].word {
		i = 4 // ALTER TABLE schema.name
	}
	if !kw(i+1, "add") {
		return fmt.Errorf("only ALTER TABLE ... ADD COLUMN is allowed")
	}
	return nil
}
