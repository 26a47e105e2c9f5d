package sqlsandbox

import (
	"fmt"
	"slices"
	"strings"

	"modernc.org/sqlite"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// readPragmas are the only pragmas a plugin may run, and only to read. The
// schema pragmas are further limited to the plugin's declared tables.
var readPragmas = map[string]bool{
	"data_version": false, "user_version": false, "schema_version": false,
	"table_info": true, "table_xinfo": true, "index_list": true, "foreign_key_list": true,
}

// sqlFunction is one SQL function plugins may call.
type sqlFunction struct {
	name string // as SQLite names it, lowercase
	kind string // core, aggregate, window, date, json or math, as SQLite's documentation groups them
}

// allowedFunctions are the only SQL functions a plugin may call, sorted by
// name: SQLite's core scalar functions, its aggregate and window
// functions, its date and time, JSON and math functions. random() and
// randomblob() are the host's deterministic replacements (sqlconn.go).
// Left out: load_extension, the sqlite_ introspection functions
// (sqlite_version, sqlite_source_id, sqlite_compileoption_get and _used,
// sqlite_offset, sqlite_log), the FTS5, R-Tree and Geopoly functions,
// subtype, and whatever the driver, an extension or a later SQLite adds.
var allowedFunctions = []sqlFunction{
	{"->", "json"}, {"->>", "json"},
	{"abs", "core"}, {"acos", "math"}, {"acosh", "math"}, {"asin", "math"}, {"asinh", "math"},
	{"atan", "math"}, {"atan2", "math"}, {"atanh", "math"}, {"avg", "aggregate"},
	{"ceil", "math"}, {"ceiling", "math"}, {"changes", "core"}, {"char", "core"},
	{"coalesce", "core"}, {"concat", "core"}, {"concat_ws", "core"}, {"cos", "math"},
	{"cosh", "math"}, {"count", "aggregate"}, {"cume_dist", "window"},
	{"current_date", "date"}, {"current_time", "date"}, {"current_timestamp", "date"},
	{"date", "date"}, {"datetime", "date"}, {"degrees", "math"}, {"dense_rank", "window"},
	{"exp", "math"}, {"first_value", "window"}, {"floor", "math"}, {"format", "core"},
	{"glob", "core"}, {"group_concat", "aggregate"}, {"hex", "core"}, {"if", "core"},
	{"ifnull", "core"}, {"iif", "core"}, {"instr", "core"},
	{"json", "json"}, {"json_array", "json"}, {"json_array_insert", "json"},
	{"json_array_length", "json"}, {"json_error_position", "json"}, {"json_extract", "json"},
	{"json_group_array", "json"}, {"json_group_object", "json"}, {"json_insert", "json"},
	{"json_object", "json"}, {"json_patch", "json"}, {"json_pretty", "json"},
	{"json_quote", "json"}, {"json_remove", "json"}, {"json_replace", "json"},
	{"json_set", "json"}, {"json_type", "json"}, {"json_valid", "json"},
	{"jsonb", "json"}, {"jsonb_array", "json"}, {"jsonb_array_insert", "json"},
	{"jsonb_extract", "json"}, {"jsonb_group_array", "json"}, {"jsonb_group_object", "json"},
	{"jsonb_insert", "json"}, {"jsonb_object", "json"}, {"jsonb_patch", "json"},
	{"jsonb_remove", "json"}, {"jsonb_replace", "json"}, {"jsonb_set", "json"},
	{"julianday", "date"}, {"lag", "window"}, {"last_insert_rowid", "core"},
	{"last_value", "window"}, {"lead", "window"}, {"length", "core"}, {"like", "core"},
	{"likelihood", "core"}, {"likely", "core"}, {"ln", "math"}, {"log", "math"},
	{"log10", "math"}, {"log2", "math"}, {"lower", "core"}, {"ltrim", "core"},
	{"max", "core"}, {"min", "core"}, {"mod", "math"}, {"nth_value", "window"},
	{"ntile", "window"}, {"nullif", "core"}, {"octet_length", "core"},
	{"percent_rank", "window"}, {"pi", "math"}, {"pow", "math"}, {"power", "math"},
	{"printf", "core"}, {"quote", "core"}, {"radians", "math"}, {"random", "core"},
	{"randomblob", "core"}, {"rank", "window"}, {"replace", "core"}, {"round", "core"},
	{"row_number", "window"}, {"rtrim", "core"}, {"sign", "core"}, {"sin", "math"},
	{"sinh", "math"}, {"soundex", "core"}, {"sqrt", "math"}, {"strftime", "date"},
	{"string_agg", "aggregate"}, {"substr", "core"}, {"substring", "core"},
	{"sum", "aggregate"}, {"tan", "math"}, {"tanh", "math"}, {"time", "date"},
	{"timediff", "date"}, {"total", "aggregate"}, {"total_changes", "core"},
	{"trim", "core"}, {"trunc", "math"}, {"typeof", "core"}, {"unhex", "core"},
	{"unicode", "core"}, {"unistr", "core"}, {"unistr_quote", "core"},
	{"unixepoch", "date"}, {"unlikely", "core"}, {"upper", "core"}, {"zeroblob", "core"},
}

// functionAllowed reports whether name, lowercase, is in allowedFunctions.
func functionAllowed(name string) bool {
	_, ok := slices.BinarySearchFunc(allowedFunctions, name, func(f sqlFunction, n string) int {
		return strings.Compare(f.name, n)
	})
	return ok
}

// tableFunctions are the table-valued functions, SQLite's eponymous
// virtual tables, a plugin may read; pragma_NAME functions follow the
// pragma rules instead.
var tableFunctions = map[string]bool{"json_each": true, "json_tree": true, "jsonb_each": true, "jsonb_tree": true}

// authorizer is the SQLite authorizer of one plugin's connection. It is
// deny-by-default: only reads of declared tables, writes of tables declared
// for writing, plain SELECT, recursive CTEs, harmless functions and a few
// read-only pragmas pass. Transactions pass only while the host itself runs
// BEGIN, COMMIT, ROLLBACK or SAVEPOINT.
//
// A read is allowed only of a declared table, wherever it appears: in a
// subquery, a CTE body, a view or a trigger alike (the tables an operator's
// view or trigger reads must be declared too). A name that is no table or
// view of the database, read with no database name, is a CTE or subquery
// of the statement itself and is allowed, unless it is SQLite's: a name
// starting with sqlite_, a virtual table module of the connection (dbstat
// and the like, which read the database's pages) or a pragma_ function.
// SQLite reports a read with no column (count(*), SELECT 1 FROM x) without
// a database name whatever x is, so the name alone decides. Inserts, updates and deletes
// inside a trigger (the schema owner's code, which no plugin can create)
// are allowed, so a declared write may fire an operator's trigger; a CTE
// body cannot write, so nothing else reaches that rule.
type authorizer struct {
	plugin  string
	reads   map[string]bool // every declared table, lowercased
	writes  map[string]bool // tables declared for writing, lowercased
	real    map[string]bool // the database's tables and views, lowercased
	modules map[string]bool // the connection's virtual table modules, lowercased
	host    bool            // the host is running its own statement
	last    store.Denial    // the most recent denial, for the error message
	denied  func(store.Denial)
}

func newAuthorizer(plugin string, reads, writes []string, denied func(store.Denial)) *authorizer {
	a := &authorizer{plugin: plugin, reads: map[string]bool{}, writes: map[string]bool{}, denied: denied}
	for _, t := range reads {
		a.reads[strings.ToLower(t)] = true
	}
	for _, t := range writes {
		a.reads[strings.ToLower(t)] = true
		a.writes[strings.ToLower(t)] = true
	}
	return a
}

func (a *authorizer) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, inside string) sqlite.AuthorizerReturnCode {
	reason, object := a.check(action, arg1, arg2, dbName, inside)
	if reason == "" {
		return sqlite.AuthorizerOK
	}
	a.last = keepDenial(a.last, store.Denial{Plugin: a.plugin, Action: actionName(action), Object: object, Reason: reason})
	return sqlite.AuthorizerDeny
}

// keepDenial returns the denial to report for a statement: the first,
// unless it was on SQLite's own schema table and next names what the
// statement is about (DROP TABLE is refused as a delete from sqlite_master
// first).
func keepDenial(last, next store.Denial) store.Denial {
	if last.Action == "" || (strings.HasPrefix(strings.ToLower(last.Object), "sqlite_") && !strings.HasPrefix(strings.ToLower(next.Object), "sqlite_")) {
		return next
	}
	return last
}

// check returns "" to allow, or the reason and the object denied.
func (a *authorizer) check(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, inside string) (reason, object string) {
	if a.host {
		return "", ""
	}
	table := strings.ToLower(arg1)
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRecursive:
		return "", ""
	case sqlite.AuthRead:
		switch {
		case dbName != "main" && dbName != "":
			return "only the main database may be read", arg1
		case strings.HasPrefix(table, "sqlite_"):
			return "SQLite's own table", arg1
		case a.reads[table]:
			return "", ""
		case a.real[table]:
			return "table not declared", arg1
		case tableFunctions[table]:
			return "", ""
		case strings.HasPrefix(table, "pragma_"):
			if _, ok := readPragmas[strings.TrimPrefix(table, "pragma_")]; ok {
				return "", "" // SQLite checks the pragma next, with its argument
			}
			return "pragma not allowed", arg1
		case a.modules[table]:
			return "virtual table not allowed", arg1
		case dbName == "":
			return "", "" // the statement's own CTE or subquery
		}
		// A column of main that is no table, view or known function: a
		// table created since the tick began, or a virtual table of
		// SQLite's.
		return "table not declared", arg1
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		if inside != "" || (dbName == "main" && a.writes[table]) {
			return "", ""
		}
		if a.reads[table] {
			return "table declared read-only", arg1
		}
		return "table not declared for writing", arg1
	case sqlite.AuthFunction:
		if !functionAllowed(strings.ToLower(arg2)) {
			return "function not allowed", arg2
		}
		return "", ""
	case sqlite.AuthPragma:
		schemaPragma, ok := readPragmas[table]
		switch {
		case !ok:
			return "pragma not allowed", arg1
		case schemaPragma && !a.reads[strings.ToLower(arg2)]:
			return "pragma on a table not declared", arg1 + "(" + arg2 + ")"
		case !schemaPragma && arg2 != "":
			return "pragma may only be read", arg1
		}
		return "", ""
	case sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return "transactions go through tx_begin, tx_commit and tx_rollback", arg1
	case sqlite.AuthAlterTable:
		return "never allowed to plugins", arg2 // arg1 is the database
	}
	return "never allowed to plugins", arg1
}

// take returns and clears the last denial.
func (a *authorizer) take() (store.Denial, bool) {
	d := a.last
	a.last = store.Denial{}
	return d, d.Action != ""
}

func actionName(action sqlite.AuthorizerActionCode) string {
	if n, ok := actionNames[action]; ok {
		return n
	}
	return fmt.Sprintf("action %d", action)
}

var actionNames = map[sqlite.AuthorizerActionCode]string{
	sqlite.AuthCreateIndex: "create index", sqlite.AuthCreateTable: "create table",
	sqlite.AuthCreateTempIndex: "create temp index", sqlite.AuthCreateTempTable: "create temp table",
	sqlite.AuthCreateTempTrigger: "create temp trigger", sqlite.AuthCreateTempView: "create temp view",
	sqlite.AuthCreateTrigger: "create trigger", sqlite.AuthCreateView: "create view",
	sqlite.AuthDelete: "delete", sqlite.AuthDropIndex: "drop index", sqlite.AuthDropTable: "drop table",
	sqlite.AuthDropTempIndex: "drop temp index", sqlite.AuthDropTempTable: "drop temp table",
	sqlite.AuthDropTempTrigger: "drop temp trigger", sqlite.AuthDropTempView: "drop temp view",
	sqlite.AuthDropTrigger: "drop trigger", sqlite.AuthDropView: "drop view", sqlite.AuthInsert: "insert",
	sqlite.AuthPragma: "pragma", sqlite.AuthRead: "read", sqlite.AuthSelect: "select",
	sqlite.AuthTransaction: "transaction", sqlite.AuthUpdate: "update", sqlite.AuthAttach: "attach",
	sqlite.AuthDetach: "detach", sqlite.AuthAlterTable: "alter table", sqlite.AuthReindex: "reindex",
	sqlite.AuthAnalyze: "analyze", sqlite.AuthCreateVTable: "create virtual table",
	sqlite.AuthDropVTable: "drop virtual table", sqlite.AuthFunction: "function",
	sqlite.AuthSavepoint: "savepoint", sqlite.AuthRecursive: "recursive",
}
