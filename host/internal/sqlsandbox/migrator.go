package sqlsandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Migrator is the connection that applies one plugin's migrations to the
// tables it owns (abi/ABI.md, section 3.1). Each step runs in a transaction
// of its own under a DDL authorizer: CREATE TABLE, CREATE INDEX, ALTER
// TABLE ... ADD COLUMN and row writes on owned tables only, reads of owned
// and declared tables. After the step, the schema itself is compared with
// what it was: an object added, changed or removed must be a table or an
// index of an owned table, and none may be removed.
type Migrator struct {
	db      *sql.DB
	conn    *sql.Conn
	auth    *ddlAuthorizer
	heap    *heapBudget // nil without a cap
	timeout time.Duration
}

// MigratorSpec is what OpenMigrator needs: the plugin, the tables it owns,
// and the tables it declares (which a step may read).
type MigratorSpec struct {
	Plugin   string
	Owns     []string
	Declared []string
	// Timeout bounds each step; 0 means DefaultMigrationTimeout. A step
	// that runs longer is interrupted and rolled back.
	Timeout time.Duration
}

// DefaultMigrationTimeout is MigratorSpec.Timeout's default.
const DefaultMigrationTimeout = 30 * time.Second

// OpenMigrator opens a connection to f for spec's migrations: defensive
// mode, trusted_schema off, temporary storage in memory under the heap cap
// of a plugin's connection (f.PluginHeapBytes), ATTACH disabled, and the
// DDL authorizer installed before any step runs.
func OpenMigrator(ctx context.Context, f File, spec MigratorSpec) (_ *Migrator, err error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", f.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+f.Synchronous+")")
	if f.MaxPages > 0 {
		q.Add("_pragma", fmt.Sprintf("max_page_count(%d)", f.MaxPages))
	}
	q.Add("_txlock", "immediate")
	q.Add("_defensive", "1")
	q.Add("_pragma", "trusted_schema(OFF)")
	q.Add("_pragma", "temp_store(MEMORY)")
	db, err := sql.Open("sqlite", f.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open migration connection for plugin %s: %w", spec.Plugin, err)
	}
	db.SetMaxOpenConns(1)
	m := &Migrator{db: db, auth: newDDLAuthorizer(spec), timeout: spec.Timeout}
	if m.timeout <= 0 {
		m.timeout = DefaultMigrationTimeout
	}
	defer func() {
		if err != nil {
			m.Close()
			err = fmt.Errorf("open migration connection for plugin %s: %w", spec.Plugin, err)
		}
	}()
	// Before the connection opens, so that it gets connIDFunc.
	if err := installConnIDs(); err != nil {
		return nil, fmt.Errorf("find connection handle: %w", err)
	}
	if m.conn, err = db.Conn(ctx); err != nil {
		return nil, err
	}
	h, err := findHandle(ctx, m.conn)
	if err != nil {
		return nil, fmt.Errorf("find connection handle: %w", err)
	}
	if f.PluginHeapBytes > 0 {
		if m.heap, err = newHeapBudget(h.tlsID, h.db, f.PluginHeapBytes); err != nil {
			return nil, err
		}
	}
	if _, err := sqlite.Limit(m.conn, sqlite3.SQLITE_LIMIT_ATTACHED, 0); err != nil {
		return nil, fmt.Errorf("set sqlite limit: %w", err)
	}
	err = m.conn.Raw(func(dc any) error {
		reg, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no authorizer", dc)
		}
		return reg.RegisterAuthorizer(m.auth.authorize)
	})
	if err != nil {
		return nil, fmt.Errorf("install authorizer: %w", err)
	}
	return m, nil
}

// Close closes the connection.
func (m *Migrator) Close() error {
	if m.conn != nil {
		m.conn.Close()
	}
	err := m.db.Close()
	if m.heap != nil {
		m.heap.close()
	}
	return err
}

// HostTx is the host's own statements inside a migration step's
// transaction: the ledger, never the plugin's SQL.
type HostTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrSkip, returned by Step's before, ends the step without running it
// and without error: another host applied it meanwhile.
var ErrSkip = errors.New("step already applied")

// Step runs one migration step in a transaction of its own (BEGIN
// IMMEDIATE): before, the host's; then the step's SQL under the DDL
// authorizer; then the schema check; then after, the host's (recording the
// step); then COMMIT. Any error rolls the whole step back.
func (m *Migrator) Step(ctx context.Context, stepSQL string, before, after func(ctx context.Context, tx HostTx) error) (err error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	defer func() {
		switch {
		case err == nil:
		case m.heap != nil && m.heap.tripped.Load():
			err = fmt.Errorf("out of memory: the step needs more than the %d-byte SQLite heap of a plugin's connection", m.heap.limit)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = fmt.Errorf("interrupted after %v (%w)", m.timeout, err)
		}
	}()
	if m.heap != nil {
		m.heap.reset()
	}
	m.auth.host.Store(true)
	defer func() { m.auth.host.Store(true) }()
	// The transaction outlives ctx: database/sql would otherwise roll it
	// back from a goroutine of its own when the deadline passes, racing
	// the authorizer's state. Each statement still runs under ctx (a
	// deadline interrupts it), and the deferred Rollback below ends the
	// transaction on this goroutine, as the host's statement.
	tx, err := m.conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			m.auth.host.Store(true)
			tx.Rollback()
		}
	}()
	if err := before(ctx, tx); err != nil {
		return err
	}
	was, err := schemaObjects(ctx, tx)
	if err != nil {
		return err
	}
	stmts, toks, err := splitStatements(stepSQL)
	if err != nil {
		return err
	}
	for i, stmt := range stmts {
		if err := checkStatementKind(toks[i]); err != nil {
			return fmt.Errorf("refused: statement %d: %w", i+1, err)
		}
		m.auth.create, m.auth.alter, m.auth.last = false, false, store.Denial{}
		m.auth.host.Store(false)
		_, err = tx.ExecContext(ctx, stmt)
		m.auth.host.Store(true)
		if err != nil {
			if d, ok := m.auth.take(); ok {
				return fmt.Errorf("refused: statement %d: %s", i+1, d)
			}
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	now, err := schemaObjects(ctx, tx)
	if err != nil {
		return err
	}
	if err := m.auth.checkSchema(was, now); err != nil {
		return err
	}
	if err := m.auth.checkForeignKeys(ctx, tx); err != nil {
		return err
	}
	if err := after(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// schemaObject is one row of sqlite_schema.
type schemaObject struct{ typ, name, table, sql string }

func schemaObjects(ctx context.Context, tx HostTx) (map[string]schemaObject, error) {
	rows, err := tx.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema`)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	defer rows.Close()
	out := map[string]schemaObject{}
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.typ, &o.name, &o.table, &o.sql); err != nil {
			return nil, fmt.Errorf("read schema: %w", err)
		}
		out[strings.ToLower(o.name)] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	return out, nil
}

// ddlAuthorizer is the authorizer of a migration step (see Migrator).
// CREATE TABLE and ALTER TABLE write SQLite's schema table, which SQLite
// reports as an insert or update of sqlite_master: those pass, since SQLite
// itself refuses any statement that writes sqlite_master directly
// (writable_schema is off and cannot be set: no pragma passes).
type ddlAuthorizer struct {
	plugin   string
	owns     map[string]bool // lowercased
	declared map[string]bool // lowercased: owned and declared tables, readable
	indexes  map[string]bool // indexes the step created, lowercased: SQLite reindexes them
	// create and alter are set by an allowed CREATE and ALTER TABLE, and
	// cleared before each statement: they let through the reads of
	// sqlite_master SQLite makes for them, which come after, and no other.
	// CREATE reads only the rowid of the row it wrote; ALTER TABLE ... ADD
	// COLUMN rewrites the table's row, and takes no subquery of the plugin.
	create, alter bool
	// host is true while the host runs its own statements: the ledger,
	// the schema reads, and the ROLLBACK database/sql may run from its own
	// goroutine when the step's context ends, hence atomic.
	host atomic.Bool
	last store.Denial
}

func newDDLAuthorizer(spec MigratorSpec) *ddlAuthorizer {
	a := &ddlAuthorizer{plugin: spec.Plugin, owns: map[string]bool{}, declared: map[string]bool{}, indexes: map[string]bool{}}
	a.host.Store(true)
	for _, t := range spec.Owns {
		a.owns[strings.ToLower(t)] = true
		a.declared[strings.ToLower(t)] = true
	}
	for _, t := range spec.Declared {
		a.declared[strings.ToLower(t)] = true
	}
	return a
}

func (a *ddlAuthorizer) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, inside string) sqlite.AuthorizerReturnCode {
	reason, object := a.check(action, arg1, arg2, dbName, inside)
	if reason == "" {
		return sqlite.AuthorizerOK
	}
	a.last = keepDenial(a.last, store.Denial{Plugin: a.plugin, Action: actionName(action), Object: object, Reason: reason})
	return sqlite.AuthorizerDeny
}

// reservedPrefix reports a name that belongs to FlowFabric or the host.
// SQLite refuses names starting with sqlite_ itself, except for the
// indexes it makes for a table's UNIQUE and PRIMARY KEY constraints.
func reservedPrefix(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "ff_") || strings.HasPrefix(n, "ffwasmhost_")
}

func (a *ddlAuthorizer) check(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, inside string) (reason, object string) {
	if a.host.Load() {
		return "", ""
	}
	// inside names the trigger, view or CTE an action comes from; SQLite
	// reports a CTE body as it reports a view, so each action is judged by
	// its own table alone, wherever it appears: a write only of an owned
	// table, even from a trigger.
	table := strings.ToLower(arg1)
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRecursive:
		return "", ""
	case sqlite.AuthCreateTable:
		if dbName != "main" || !a.owns[table] {
			return "not a table the plugin owns", arg1
		}
		a.create = true
		return "", ""
	case sqlite.AuthCreateIndex:
		switch {
		case dbName != "main" || !a.owns[strings.ToLower(arg2)]:
			return "not on a table the plugin owns", arg2
		case reservedPrefix(arg1):
			return "index name is reserved", arg1
		}
		a.indexes[table] = true
		a.create = true
		return "", ""
	case sqlite.AuthReindex:
		if a.indexes[table] {
			return "", "" // SQLite fills the index the step just created
		}
		return "never allowed in a migration", arg1
	case sqlite.AuthAlterTable:
		// arg1 is the database, arg2 the table; the third argument names the
		// column of a DROP COLUMN. RENAME goes through sqlite_rename_*
		// functions, refused below.
		switch {
		case arg1 != "main" || !a.owns[strings.ToLower(arg2)]:
			return "not a table the plugin owns", arg2
		case dbName != "":
			return "only ALTER TABLE ... ADD COLUMN is allowed", arg2 + "." + dbName
		}
		a.alter = true
		return "", ""
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		switch {
		case dbName == "main" && a.owns[table]:
			return "", ""
		case table == "sqlite_temp_master":
			return "temporary objects are not allowed", arg1
		case dbName == "main" && table == "sqlite_master" && action == sqlite.AuthDelete:
			return "migrations may not drop", arg1 // DROP deletes its schema row first
		case dbName == "main" && table == "sqlite_master":
			return "", "" // CREATE and ALTER writing the schema; see the type's comment
		}
		return "not a table the plugin owns", arg1
	case sqlite.AuthRead:
		switch {
		case dbName == "main" && a.declared[table]:
			return "", ""
		case dbName == "main" && table == "sqlite_master" && (a.alter || (a.create && strings.EqualFold(arg2, "rowid"))):
			return "", "" // SQLite's own reads for the DDL; see the type's fields
		case dbName == "" && !strings.HasPrefix(table, "sqlite_") && !strings.HasPrefix(table, "pragma_"):
			return "", "" // the statement's own CTE or subquery
		}
		return "table not declared", arg1
	case sqlite.AuthFunction:
		name := strings.ToLower(arg2)
		if strings.HasPrefix(name, "sqlite_rename") || strings.HasPrefix(name, "sqlite_drop") {
			return "only ALTER TABLE ... ADD COLUMN is allowed", arg2
		}
		if !functionAllowed(name) {
			return "function not allowed", arg2
		}
		return "", ""
	case sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return "each migration runs in a transaction of the host's", arg1
	case sqlite.AuthDropTable, sqlite.AuthDropIndex:
		return "migrations may not drop", arg1
	}
	return "never allowed in a migration", arg1
}

// checkSchema compares the schema after a step (now) with before it
// (was): an object added or changed must be a table or an index of an
// owned table, and nothing may be removed.
func (a *ddlAuthorizer) checkSchema(was, now map[string]schemaObject) error {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range was {
			if !yield(k) {
				return
			}
		}
		for k := range now {
			if _, ok := was[k]; !ok && !yield(k) {
				return
			}
		}
	})
	for _, k := range names {
		o, n := was[k], now[k]
		switch {
		case o == n:
			continue
		case n.name == "":
			return fmt.Errorf("refused: the step removed %s %s", o.typ, o.name)
		case n.typ != "table" && n.typ != "index":
			return fmt.Errorf("refused: the step created %s %s; migrations create only tables and indexes", n.typ, n.name)
		case !a.owns[strings.ToLower(n.table)]:
			return fmt.Errorf("refused: the step changed %s %s of table %s, which the plugin does not own", n.typ, n.name, n.table)
		case o.name != "" && o.table != n.table:
			return fmt.Errorf("refused: the step moved %s %s from table %s", o.typ, o.name, o.table)
		}
	}
	return nil
}

// checkForeignKeys refuses a foreign key from an owned table to one the
// plugin does not own: with foreign keys on, it could block or cascade
// into the writes of FlowFabric or another plugin.
func (a *ddlAuthorizer) checkForeignKeys(ctx context.Context, tx HostTx) error {
	for _, t := range slices.Sorted(maps.Keys(a.owns)) {
		rows, err := tx.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return fmt.Errorf("read foreign keys of %s: %w", t, err)
		}
		var refs []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return fmt.Errorf("read foreign keys of %s: %w", t, err)
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read foreign keys of %s: %w", t, err)
		}
		for _, r := range refs {
			if !a.owns[strings.ToLower(r)] {
				return fmt.Errorf("refused: table %s references %s, which the plugin does not own; an owned table may reference only owned tables", t, r)
			}
		}
	}
	return nil
}

// take returns and clears the last denial.
func (a *ddlAuthorizer) take() (store.Denial, bool) {
	d := a.last
	a.last = store.Denial{}
	return d, d.Action != ""
}
