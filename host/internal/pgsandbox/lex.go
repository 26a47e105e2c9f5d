package pgsandbox

import (
	"errors"
	"fmt"
	"strings"
)

// tokenKind is the class of a lexical token of PostgreSQL SQL.
type tokenKind int

const (
	tokIdent       tokenKind = iota // an unquoted identifier or keyword; text is lowercased
	tokQuotedIdent                  // a "quoted" identifier; text is its name
	tokString                       // any string constant: '', E'', B'', X'', N'', U&'', $$ $$
	tokNumber
	tokParam     // $1
	tokSemicolon // ;
	tokOpen      // (
	tokPunct     // any other operator or punctuation character
)

// token is one token; comments and white space are not tokens.
type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the statement
}

// errSyntax is wrapped by every error of the lexer: text the server would
// refuse as well, or that the lexer cannot read the way the server does
// and so refuses.
var errSyntax = errors.New("syntax error")

// lex splits a statement into tokens the way PostgreSQL 15 and later's
// scanner does with standard_conforming_strings on (the session forces it
// on and checks it before every statement). It must never see code where
// the server sees a string or a comment, or the reverse; where the two
// could differ, it fails instead:
//
//   - '...' strings, where a doubled quote is the only escape; E'...'
//     strings, where a backslash escapes any character; B'...', X'...',
//     N'...' and U&'...' strings;
//     each continued by another '...' after white space holding a newline,
//     in the same mode, as the server does;
//   - $tag$...$tag$ dollar quoting ($ inside an identifier is part of it;
//     $1 is a parameter);
//   - -- comments to the end of the line and nested /* */ comments, even
//     in the middle of an operator;
//   - "quoted identifiers" with "" as the escape. U&"..." identifiers, whose
//     escapes would hide a name from the checks, are refused;
//   - a number or a parameter followed at once by a letter (trailing junk,
//     which PostgreSQL 15 refuses and older versions read differently),
//     and characters that are no part of SQL (a NUL byte, a backslash
//     outside strings), are refused.
func lex(sql string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		start := i
		switch {
		case isSpace(c):
			i++
		case c == '-' && at(sql, i+1) == '-':
			i = lineEnd(sql, i)
		case c == '/' && at(sql, i+1) == '*':
			end, err := blockComment(sql, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '\'':
			end, err := stringConst(sql, i, false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, sql[start:end], start})
			i = end
		case c == '"':
			name, end, err := quotedIdent(sql, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokQuotedIdent, name, start})
			i = end
		case c == '$':
			switch d := at(sql, i+1); {
			case isDigit(d):
				i++
				for i < len(sql) && isDigit(sql[i]) {
					i++
				}
				if i < len(sql) && isIdentStart(sql[i]) {
					return nil, fmt.Errorf("%w at byte %d: trailing junk after parameter", errSyntax, start)
				}
				toks = append(toks, token{tokParam, sql[start:i], start})
			default:
				end, err := dollarQuoted(sql, i)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{tokString, sql[start:end], start})
				i = end
			}
		case isIdentStart(c):
			i++
			for i < len(sql) && isIdentCont(sql[i]) {
				i++
			}
			word := sql[start:i]
			if len(word) == 1 {
				switch lower(c) {
				case 'e', 'b', 'x', 'n':
					if at(sql, i) == '\'' {
						end, err := stringConst(sql, i, lower(c) == 'e')
						if err != nil {
							return nil, err
						}
						toks = append(toks, token{tokString, sql[start:end], start})
						i = end
						continue
					}
				case 'u':
					if at(sql, i) == '&' && at(sql, i+1) == '\'' {
						end, err := stringConst(sql, i+1, false)
						if err != nil {
							return nil, err
						}
						toks = append(toks, token{tokString, sql[start:end], start})
						i = end
						continue
					}
					if at(sql, i) == '&' && at(sql, i+1) == '"' {
						return nil, fmt.Errorf("%w at byte %d: U&\"...\" identifiers are not allowed: write the name plainly", errSyntax, start)
					}
				}
			}
			toks = append(toks, token{tokIdent, strings.ToLower(word), start})
		case isDigit(c) || (c == '.' && isDigit(at(sql, i+1))):
			i = number(sql, i)
			if i < len(sql) && isIdentStart(sql[i]) {
				return nil, fmt.Errorf("%w at byte %d: trailing junk after numeric literal", errSyntax, start)
			}
			toks = append(toks, token{tokNumber, sql[start:i], start})
		case c == ';':
			toks = append(toks, token{tokSemicolon, ";", start})
			i++
		case c == '(':
			toks = append(toks, token{tokOpen, "(", start})
			i++
		case strings.IndexByte("~!@#^&|`?+-*/%<>=)[],:.", c) >= 0:
			toks = append(toks, token{tokPunct, sql[i : i+1], start})
			i++
		default:
			return nil, fmt.Errorf("%w at byte %d: unexpected character %q", errSyntax, start, rune(c))
		}
	}
	return toks, nil
}

// at returns s[i], or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isSpace is the scanner's {space}: [ \t\n\r\f\v].
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isIdentStart is the scanner's {ident_start}: [A-Za-z\200-\377_].
func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

// isIdentCont is the scanner's {ident_cont}: [A-Za-z\200-\377_0-9\$].
func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// lineEnd returns the offset of the newline that ends the -- comment at i,
// or the end of s.
func lineEnd(s string, i int) int {
	for i < len(s) && s[i] != '\n' && s[i] != '\r' {
		i++
	}
	return i
}

// blockComment returns the offset just past the /* */ comment at i, which
// may nest.
func blockComment(s string, i int) (int, error) {
	start, depth := i, 0
	for i < len(s) {
		switch {
		case s[i] == '/' && at(s, i+1) == '*':
			depth++
			i += 2
		case s[i] == '*' && at(s, i+1) == '/':
			depth--
			i += 2
			if depth == 0 {
				return i, nil
			}
		default:
			i++
		}
	}
	return 0, fmt.Errorf("%w at byte %d: unterminated /* comment", errSyntax, start)
}

// stringConst returns the offset just past the string constant whose
// opening quote is at i, continuations included. In an escape string
// (E'...'), a backslash escapes the next character, a quote too.
func stringConst(s string, i int, escapes bool) (int, error) {
	start := i
	for {
		i++ // past the opening quote
		for {
			if i >= len(s) {
				return 0, fmt.Errorf("%w at byte %d: unterminated quoted string", errSyntax, start)
			}
			c := s[i]
			if escapes && c == '\\' {
				i += 2
				continue
			}
			if c == '\'' {
				if at(s, i+1) == '\'' {
					i += 2
					continue
				}
				i++
				break
			}
			i++
		}
		next, ok := continuation(s, i)
		if !ok {
			return i, nil
		}
		i = next // at the quote that continues the constant
	}
}

// continuation reports whether the string constant that ends at i goes on:
// white space holding at least one newline, then a quote (the scanner's
// {quotecontinue}: horizontal space and -- comments, a newline, then
// spaces, newlines and -- comments each ended by a newline). It returns
// the offset of that quote.
func continuation(s string, i int) (int, bool) {
	// {horiz_whitespace}*: [ \t\f\v] and -- comments.
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\f' || s[i] == '\v':
			i++
			continue
		case s[i] == '-' && at(s, i+1) == '-':
			i = lineEnd(s, i)
			continue
		}
		break
	}
	if i >= len(s) || (s[i] != '\n' && s[i] != '\r') {
		return 0, false
	}
	i++
	// {special_whitespace}*: runs of {space}, or a -- comment and its newline.
	for i < len(s) {
		switch {
		case isSpace(s[i]):
			i++
			continue
		case s[i] == '-' && at(s, i+1) == '-':
			end := lineEnd(s, i)
			if end >= len(s) {
				return 0, false // a comment must end with a newline here
			}
			i = end + 1
			continue
		}
		break
	}
	return i, at(s, i) == '\''
}

// quotedIdent returns the name of the "quoted identifier" at i and the
// offset just past it.
func quotedIdent(s string, i int) (string, int, error) {
	start := i
	var b strings.Builder
	i++
	for i < len(s) {
		if s[i] == '"' {
			if at(s, i+1) == '"' {
				b.WriteByte('"')
				i += 2
				continue
			}
			if b.Len() == 0 {
				return "", 0, fmt.Errorf("%w at byte %d: zero-length delimited identifier", errSyntax, start)
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(s[i])
		i++
	}
	return "", 0, fmt.Errorf("%w at byte %d: unterminated quoted identifier", errSyntax, start)
}

// dollarQuoted returns the offset just past the dollar-quoted string whose
// opening delimiter starts at i: $$ or $tag$, where the tag is an
// identifier without $. The string ends at the first later occurrence of
// the same delimiter.
func dollarQuoted(s string, i int) (int, error) {
	j := i + 1
	if j < len(s) && isIdentStart(s[j]) {
		j++
		for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
			j++
		}
	}
	if at(s, j) != '$' {
		return 0, fmt.Errorf("%w at byte %d: $ is not a parameter or a dollar quote", errSyntax, i)
	}
	delim := s[i : j+1]
	end := strings.Index(s[j+1:], delim)
	if end < 0 {
		return 0, fmt.Errorf("%w at byte %d: unterminated dollar-quoted string", errSyntax, i)
	}
	return j + 1 + end + len(delim), nil
}

// number returns the offset just past the numeric constant at i: digits,
// an optional fraction and an optional exponent. A ".." after the digits
// (an array slice such as a[1..2]) ends the number before the dots.
func number(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if at(s, i) == '.' && at(s, i+1) != '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if e := at(s, i); e == 'e' || e == 'E' {
		j := i + 1
		if sign := at(s, j); sign == '+' || sign == '-' {
			j++
		}
		if isDigit(at(s, j)) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			return j
		}
	}
	return i
}
