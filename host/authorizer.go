package host

import (
	"fmt"
	"strings"

	"modernc.org/sqlite"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// Denial is one statement the authorizer refused to a plugin.
type Denial struct {
	Plugin string // the plugin's name
	Action string // the SQLite action, e.g. "insert", "pragma", "attach"
	Object string // the table, pragma or function it was for, if any
	Reason string // why, in a few words
}

func (d Denial) String() string {
	if d.Object == "" {
		return d.Action + ": " + d.Reason
	}
	return d.Action + " " + d.Object + ": " + d.Reason
}

// readPragmas are the only pragmas a plugin may run, and only to read. The
// schema pragmas are further limited to the plugin's declared tables.
var readPragmas = map[string]bool{
	"data_version": false, "user_version": false, "schema_version": false,
	"table_info": true, "table_xinfo": true, "index_list": true, "foreign_key_list": true,
}

// deniedFunctions reach outside the database or change how it is read.
var deniedFunctions = map[string]bool{
	"load_extension": true, "fts3_tokenizer": true, "readfile": true, "writefile": true,
	"edit": true, "sqlite_dbpage": true,
}

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
// of the statement itself and is allowed. Inserts, updates and deletes
// inside a trigger (the schema owner's code, which no plugin can create)
// are allowed, so a declared write may fire an operator's trigger; a CTE
// body cannot write, so nothing else reaches that rule.
type authorizer struct {
	plugin string
	reads  map[string]bool // every declared table, lowercased
	writes map[string]bool // tables declared for writing, lowercased
	real   map[string]bool // the database's tables and views, lowercased
	host   bool            // the host is running its own statement
	last   Denial          // the most recent denial, for the error message
	denied func(Denial)
}

func newAuthorizer(d describe.Descriptor, denied func(Denial)) *authorizer {
	a := &authorizer{plugin: d.Name, reads: map[string]bool{}, writes: map[string]bool{}, denied: denied}
	for _, t := range d.Reads {
		a.reads[strings.ToLower(t)] = true
	}
	for _, t := range d.Writes {
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
	// Keep the first denial of a statement, unless it was on SQLite's own
	// schema table and this one names what the statement is about (DROP
	// TABLE is refused as a delete from sqlite_master first).
	if a.last.Action == "" || (strings.HasPrefix(strings.ToLower(a.last.Object), "sqlite_") && !strings.HasPrefix(strings.ToLower(object), "sqlite_")) {
		a.last = Denial{Plugin: a.plugin, Action: actionName(action), Object: object, Reason: reason}
	}
	return sqlite.AuthorizerDeny
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
		case a.reads[table]:
			return "", ""
		case dbName == "" && !a.real[table]:
			return "", "" // the statement's own CTE or subquery
		}
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
		if deniedFunctions[strings.ToLower(arg2)] {
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
func (a *authorizer) take() (Denial, bool) {
	d := a.last
	a.last = Denial{}
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
