package pgsandbox

import (
	"strconv"
	"strings"
)

// Denial is one statement the check refused to a plugin, before anything
// reached the server.
type Denial struct {
	Plugin string // the plugin's name
	Action string // what was refused: "statement", "name", "select into", "multiple statements"
	Object string // the keyword or name at fault, if any
	Reason string // why, in a few words
}

// String returns the denial as "action object: reason".
func (d Denial) String() string {
	if d.Object == "" {
		return d.Action + ": " + d.Reason
	}
	return d.Action + " " + d.Object + ": " + d.Reason
}

// deniedError is a statement the check refused; it maps to
// abi.StatusNotAuthorized.
type deniedError struct{ d Denial }

func (e *deniedError) Error() string { return "not authorized: " + e.d.String() }

// allowedFirst are the statement kinds a plugin may run.
var allowedFirst = map[string]bool{
	"select": true, "with": true, "insert": true, "update": true, "delete": true, "values": true, "table": true,
}

// allowedPg are the only names starting with pg_ a plugin may use: every
// other pg_ name is a catalog, a schema (pg_catalog, pg_temp) or a function
// that reaches outside the plugin's tables. pg_sleep is harmless under the
// tick's deadline, which cancels it.
var allowedPg = map[string]bool{
	"pg_sleep": true, "pg_sleep_for": true, "pg_sleep_until": true, "pg_typeof": true,
	"pg_column_size": true, "pg_size_pretty": true, "pg_size_bytes": true,
}

// deniedNames are functions and relations a plugin may not name, with
// why. Names are matched lowercased, quoted or not, wherever they appear:
// as a function, a relation, a schema or a column.
var deniedNames = map[string]string{
	"set_config":         "changes a session setting",
	"current_setting":    "reads a session setting",
	"loread":             "large objects are outside the plugin's tables",
	"lowrite":            "large objects are outside the plugin's tables",
	"ts_stat":            "runs the SQL text it is given",
	"ts_rewrite":         "runs the SQL text it is given",
	"xpath_table":        "runs the SQL text it is given",
	"connectby":          "runs the SQL text it is given",
	"information_schema": "the catalog is not the plugin's",
}

// deniedPrefixes are name prefixes a plugin may not use, with why.
var deniedPrefixes = []struct{ prefix, reason string }{
	{"pg_advisory", "advisory locks are the host's to take"},
	{"pg_try_advisory", "advisory locks are the host's to take"},
	{"pg_", "system catalogs and functions are not the plugin's"},
	{"lo_", "large objects are outside the plugin's tables"},
	{"dblink", "reaches other databases"},
	{"postgres_fdw", "reaches other databases"},
	{"crosstab", "runs the SQL text it is given"},
	{"ffwasmhost_", "the host's own objects"},
}

// checkStatement refuses, before the statement is prepared, everything but
// one plain query or DML statement: SELECT, WITH, INSERT, UPDATE, DELETE,
// VALUES or TABLE (after any opening parentheses), with no ; but one at the
// very end, no SELECT ... INTO (which creates a table), and none of the
// names in deniedNames, deniedPrefixes or pg_ names outside allowedPg.
// Everything else is left to the server and the role's privileges.
func checkStatement(sql string) *Denial {
	toks, err := lex(sql)
	if err != nil {
		return &Denial{Action: "statement", Reason: err.Error()}
	}
	// One ; is allowed, as the last token.
	if n := len(toks); n > 0 && toks[n-1].kind == tokSemicolon {
		toks = toks[:n-1]
	}
	first := -1
	for i, t := range toks {
		if t.kind == tokSemicolon {
			return &Denial{Action: "multiple statements", Reason: "send one statement per call (a ; at byte " + strconv.Itoa(t.pos) + ")"}
		}
		if first < 0 && t.kind != tokOpen {
			first = i
		}
	}
	if first < 0 {
		return &Denial{Action: "statement", Reason: "no statement: the SQL is empty or only comments"}
	}
	if t := toks[first]; t.kind != tokIdent || !allowedFirst[t.text] {
		return &Denial{Action: "statement", Object: keyword(t), Reason: "only SELECT, WITH, INSERT, UPDATE, DELETE, VALUES and TABLE statements may run"}
	}
	for i, t := range toks {
		switch t.kind {
		case tokIdent:
			if t.text == "into" && (i == 0 || toks[i-1].kind != tokIdent || toks[i-1].text != "insert") {
				return &Denial{Action: "select into", Object: "INTO", Reason: "creates a table; only INSERT INTO may name a target"}
			}
			fallthrough
		case tokQuotedIdent:
			if reason := deniedName(strings.ToLower(t.text)); reason != "" {
				return &Denial{Action: "name", Object: t.text, Reason: reason}
			}
		}
	}
	return nil
}

// deniedName returns why name may not be used, or "".
func deniedName(name string) string {
	if r, ok := deniedNames[name]; ok {
		return r
	}
	if strings.Contains(name, "_to_xml") { // query_to_xml, table_to_xml, ...: run or read by text
		return "runs the SQL text or reads the relation it is given"
	}
	if allowedPg[name] {
		return ""
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.reason
		}
	}
	return ""
}

// keyword names token t in a message: a keyword in capitals.
func keyword(t token) string {
	switch t.kind {
	case tokIdent:
		return strings.ToUpper(t.text)
	case tokQuotedIdent:
		return `"` + t.text + `"`
	case tokString:
		return "a string constant"
	}
	return t.text
}
