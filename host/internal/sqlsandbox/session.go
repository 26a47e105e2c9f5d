package sqlsandbox

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Synchronous values of File.Synchronous.
const (
	SyncNormal = "NORMAL"
	SyncFull   = "FULL"
)

// File is a database file and the settings every connection to it shares:
// the host's own pool and each plugin's connection.
type File struct {
	Path        string
	Synchronous string        // SyncNormal or SyncFull
	BusyTimeout time.Duration // how long a statement waits on another writer
	MaxPages    int64         // SQLite's max_page_count; 0: no cap
	// PluginHeapBytes caps what SQLite allocates for one plugin's
	// connection.
	PluginHeapBytes int64
}

// HostDSN is the modernc.org/sqlite data source name of the host's own
// connections to the file.
func (f File) HostDSN() string { return f.dsn("") }

// dsn builds the modernc.org/sqlite data source name: of the host's own
// connections if vfs is "", else of a plugin's connection through the VFS
// of that name, which also gets defensive mode, trusted_schema off and
// temp_store MEMORY before its first statement.
func (f File) dsn(vfs string) string {
	plugin := vfs != ""
	q := url.Values{}
	if f.MaxPages > 0 {
		q.Add("_pragma", fmt.Sprintf("max_page_count(%d)", f.MaxPages))
	}
	// A plugin connection waits for locks in the host (Session.busyWait),
	// where the tick's deadline can interrupt the wait; SQLite's own busy
	// handler sleeps where nothing can.
	busy := f.BusyTimeout
	if plugin {
		busy = 0
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+f.Synchronous+")")
	q.Add("_txlock", "immediate")
	if plugin {
		q.Add("vfs", vfs)
		q.Add("_defensive", "1")
		q.Add("_pragma", "trusted_schema(OFF)")
		// Sorts, temporary tables and statement journals stay in memory,
		// under the connection's heap cap; its VFS opens no temporary file.
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	return f.Path + "?" + q.Encode()
}

// maxColumns is SQLite's column limit on plugin connections: of a result
// row, a table, an index. The reconciler tables have at most 13.
const maxColumns = 64

// valueLimit is SQLite's string and blob length limit on a plugin's
// connection: MaxResultBytes/maxColumns (256 KiB by default), and never
// more than one host call may carry.
func valueLimit(spec store.ConnSpec) int {
	return int(min(spec.MaxCallBytes, spec.MaxResultBytes/maxColumns))
}

// maxCachedStmts bounds a plugin's prepared statement cache; past it the
// cache is emptied and refilled.
const maxCachedStmts = 64

// Session is one plugin's own connection to the database: its authorizer,
// its prepared statements and its transaction state. It implements
// store.Conn.
type Session struct {
	busy    time.Duration // how long a statement waits on another writer
	db      *sql.DB
	conn    *sql.Conn
	auth    *authorizer
	glue    *sqlGlue    // the connection's VFS, functions, commit hook and heap cap
	changed *changes    // the rows the tick's writes changed, from the pre-update hook
	dc      driver.Conn // the driver connection, set only inside run
	stmts   map[string]driver.Stmt

	// intr interrupts the connection's statement once the context of the
	// host call that runs it is done.
	intr     *interrupter
	watching <-chan struct{} // the Done channel intr is armed for
	disarm   func()

	schemaVersion int64 // of the table names the authorizer knows

	// The plugin's transaction as the plugin sees it: tx_begin succeeded
	// and neither tx_commit nor tx_rollback has since. Whether SQLite
	// still has it open is asked of SQLite (glue.autocommit) after every
	// statement: txLost once SQLite rolled it back on its own.
	inTx       bool
	txLost     bool
	committing bool                // the host runs the plugin's COMMIT
	txStart    time.Time           // when the open transaction got the write lock
	lockHeld   func(time.Duration) // told how long each transaction held it

	hold     bool // dry run: one outer transaction spans every tick
	holdOpen bool // the outer transaction was begun
	holdLost bool // SQLite rolled the outer transaction back: nothing runs any more

	closed bool

	args []any
	nvs  []driver.NamedValue
	dest []driver.Value
}

// Open opens a connection to f for the plugin spec describes, with
// defensive mode, trusted_schema off, SQLite limits from spec, ATTACH
// disabled, the host's VFS, functions, commit hook and heap cap, and the
// plugin's authorizer installed before the plugin runs anything. A dry
// run's connection (spec.DryRun) never commits.
func Open(ctx context.Context, f File, spec store.ConnSpec) (_ *Session, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("open connection for plugin %s: %w", spec.Plugin, err)
		}
	}()
	glue, err := newSQLGlue()
	if err != nil {
		return nil, fmt.Errorf("prepare connection: %w", err)
	}
	sqldb, err := sql.Open("sqlite", f.dsn(glue.vfsName))
	if err != nil {
		glue.close()
		return nil, err
	}
	sqldb.SetMaxOpenConns(1)
	sqldb.SetConnMaxLifetime(0)
	s := &Session{busy: f.BusyTimeout, db: sqldb, glue: glue, hold: spec.DryRun, lockHeld: spec.LockHeld,
		stmts: map[string]driver.Stmt{}, auth: newAuthorizer(spec.Plugin, spec.Reads, spec.Writes, spec.Denied),
		changed: newChanges(spec.Diff, cmp.Or(spec.MaxDiffRows, defaultMaxDiffRows))}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// Before the connection opens, so that it gets connIDFunc.
	if err := installConnIDs(); err != nil {
		return nil, fmt.Errorf("find connection handle: %w", err)
	}
	if s.conn, err = sqldb.Conn(ctx); err != nil {
		return nil, err
	}
	h, err := findHandle(ctx, s.conn)
	if err != nil {
		return nil, fmt.Errorf("find connection handle: %w", err)
	}
	s.intr = &interrupter{db: h.db}
	// A result row has at most maxColumns values and each value is at most
	// valueLimit bytes, so the one row the driver hands the host at a time
	// fits in MaxResultBytes however the statement is written, and long
	// strings cannot make one statement run for minutes between interrupt
	// checks.
	for _, l := range []struct{ id, v int }{
		{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
		{sqlite3.SQLITE_LIMIT_SQL_LENGTH, int(spec.MaxCallBytes)},
		{sqlite3.SQLITE_LIMIT_LENGTH, valueLimit(spec)},
		{sqlite3.SQLITE_LIMIT_COLUMN, maxColumns},
	} {
		if _, err := sqlite.Limit(s.conn, l.id, l.v); err != nil {
			return nil, fmt.Errorf("set sqlite limit %d: %w", l.id, err)
		}
	}
	if s.auth.modules, err = moduleNames(ctx, s.conn); err != nil {
		return nil, err
	}
	s.glue.mayCommit = s.mayCommit
	err = s.conn.Raw(func(dc any) error {
		if err := s.glue.attach(h.db, h.tlsID, f.PluginHeapBytes); err != nil {
			return err
		}
		reg, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no authorizer", dc)
		}
		if err := reg.RegisterAuthorizer(s.auth.authorize); err != nil {
			return fmt.Errorf("install authorizer: %w", err)
		}
		hooks, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no pre-update hook", dc)
		}
		hooks.RegisterPreUpdateHook(s.changed.hook)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// moduleNames returns the virtual table modules the connection has,
// lowercased: the authorizer refuses reads of any of them.
func moduleNames(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA module_list")
	if err != nil {
		return nil, fmt.Errorf("list sqlite modules: %w", err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list sqlite modules: %w", err)
		}
		names[strings.ToLower(n)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sqlite modules: %w", err)
	}
	return names, nil
}

// Tick runs one tick of the plugin at nowMS: it refreshes what the
// authorizer knows of the schema, begins a dry run's outer transaction,
// sets SQL's clock to nowMS and calls fn, with the driver connection
// available to the host calls fn makes. Then, whatever fn did and however
// ctx ended, it rolls back what the plugin left open under a context of
// its own, and says so with store.ErrLeftOpen; a dry run that SQLite ended
// fails with store.ErrDryRunLost.
func (s *Session) Tick(ctx context.Context, nowMS int64, fn func()) error {
	return s.run(func() error {
		if err := s.refreshSchema(ctx); err != nil {
			return err
		}
		if err := s.startHold(ctx); err != nil {
			return fmt.Errorf("begin dry-run transaction: %w", err)
		}
		s.glue.setNow(nowMS)
		s.changed.reset()
		fn()
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		err := s.endTick(cctx)
		if s.holdLost {
			err = errors.Join(err, store.ErrDryRunLost)
		}
		return err
	})
}

// Changes returns what the last tick wrote: counts by table, and with a
// diff the rows themselves.
func (s *Session) Changes() store.Changes { return s.changed.result() }

// defaultMaxDiffRows is ConnSpec.MaxDiffRows's default.
const defaultMaxDiffRows = 1000

// Close rolls back a dry run's outer transaction and closes the
// connection. Later calls do nothing.
func (s *Session) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.endHold(ctx)
	s.close()
	if err != nil {
		return fmt.Errorf("roll back dry run: %w", err)
	}
	return nil
}

// run calls fn with the session's driver connection available to the host
// functions.
func (s *Session) run(fn func() error) error {
	return s.conn.Raw(func(dc any) error {
		s.dc = dc.(driver.Conn)
		defer func() {
			s.dc = nil
			s.unwatch()
		}()
		return fn()
	})
}

// driverCtx returns the context to run a statement of a host call with ctx
// under: one that is never done, so that the driver adds no goroutine and
// no progress callback per statement, while intr interrupts the statement
// instead once ctx is done: one watcher per context, armed at its first
// statement and disarmed when another context takes over or run returns.
// A ctx that is done already fails the call before the statement starts,
// as the driver does.
func (s *Session) driverCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if done := ctx.Done(); done != s.watching {
		s.unwatch()
		if done != nil {
			s.watching, s.disarm = done, s.intr.arm(ctx)
		}
	}
	return context.Background(), nil
}

// unwatch disarms the interrupter, if it is armed.
func (s *Session) unwatch() {
	if s.disarm != nil {
		s.disarm()
	}
	s.watching, s.disarm = nil, nil
}

// interrupted reports a statement's failure once ctx is done as ctx's
// error: the interrupter's SQLITE_INTERRUPT, or whatever else it ran into,
// reads as the driver's cancellation did.
func (s *Session) interrupted(ctx context.Context, err error) error {
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	return err
}

// close closes the connection and frees its VFS and heap budget.
func (s *Session) close() {
	s.unwatch()
	if s.intr != nil {
		s.intr.close()
	}
	if s.conn != nil {
		_ = s.conn.Raw(func(any) error {
			for _, st := range s.stmts {
				st.Close()
			}
			return nil
		})
		s.stmts = nil
		s.conn.Close()
	}
	s.db.Close() // closes the connection: the VFS is free to go
	s.glue.close()
}

// stmt returns the prepared statement for text, preparing it on first use.
func (s *Session) stmt(ctx context.Context, text []byte) (driver.Stmt, error) {
	if st, ok := s.stmts[string(text)]; ok {
		return st, nil
	}
	if len(s.stmts) >= maxCachedStmts {
		for k, st := range s.stmts {
			st.Close()
			delete(s.stmts, k)
		}
	}
	q := string(text)
	dctx, err := s.driverCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.dc.(driver.ConnPrepareContext).PrepareContext(dctx, q)
	if err != nil {
		return nil, s.interrupted(ctx, err)
	}
	s.stmts[q] = st
	return st, nil
}

// refreshSchema tells the authorizer the database's table and view names,
// reading them again only when the schema has changed. The runner calls it
// at the start of every tick.
func (s *Session) refreshSchema(ctx context.Context) error {
	s.auth.host = true
	defer func() { s.auth.host = false }()
	q := s.dc.(driver.QueryerContext)
	dctx, err := s.driverCtx(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	var version int64
	err = s.busyWait(ctx, func() error {
		rows, err := q.QueryContext(dctx, "PRAGMA schema_version", nil)
		if err != nil {
			return s.interrupted(ctx, err)
		}
		defer rows.Close()
		dest := []driver.Value{nil}
		if err := rows.Next(dest); err != nil {
			return s.interrupted(ctx, err)
		}
		version, _ = dest[0].(int64)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if s.auth.real != nil && version == s.schemaVersion {
		return nil
	}
	rows, err := q.QueryContext(dctx, "SELECT lower(name) FROM sqlite_schema WHERE type IN ('table', 'view')", nil)
	if err != nil {
		return fmt.Errorf("read table names: %w", s.interrupted(ctx, err))
	}
	defer rows.Close()
	real := map[string]bool{}
	dest := []driver.Value{nil}
	for {
		if err := rows.Next(dest); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("read table names: %w", s.interrupted(ctx, err))
		}
		if name, ok := dest[0].(string); ok {
			real[name] = true
		}
	}
	s.auth.real, s.schemaVersion = real, version
	return nil
}

// bind decodes a call's encoded arguments into s.nvs.
func (s *Session) bind(args []byte) error {
	var err error
	s.args, err = abi.DecodeArgs(args, s.args[:0])
	if err != nil {
		return invalidf("%v", err)
	}
	s.nvs = s.nvs[:0]
	for i, a := range s.args {
		s.nvs = append(s.nvs, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return nil
}

// Exec runs one statement and appends its exec result to buf.
func (s *Session) Exec(ctx context.Context, buf, text, args []byte) ([]byte, error) {
	return s.statement(buf, func() ([]byte, error) { return s.exec(ctx, buf, text, args) })
}

// Query runs one statement and appends every row to buf, failing once the
// encoding passes limit bytes.
func (s *Session) Query(ctx context.Context, buf, text, args []byte, limit uint32) ([]byte, error) {
	return s.statement(buf, func() ([]byte, error) { return s.query(ctx, buf, text, args, limit) })
}

// statement runs one of a plugin's statements (run), then settles what it
// did: the heap cap, the transaction state, the rows it changed.
func (s *Session) statement(buf []byte, run func() ([]byte, error)) ([]byte, error) {
	if err := s.guard(); err != nil {
		return buf, err
	}
	s.glue.heap.reset()
	buf, err := run()
	err = s.track(s.overHeap(err))
	s.changed.endStatement(err == nil, s.inTx)
	return buf, err
}

// prepare readies text, with args bound, and the driver's context to run
// it in.
func (s *Session) prepare(ctx context.Context, text, args []byte) (driver.Stmt, context.Context, error) {
	s.auth.last = store.Denial{}
	st, err := s.stmt(ctx, text)
	if err != nil {
		return nil, nil, err
	}
	if err := s.bind(args); err != nil {
		return nil, nil, err
	}
	dctx, err := s.driverCtx(ctx)
	if err != nil {
		return nil, nil, err
	}
	return st, dctx, nil
}

func (s *Session) exec(ctx context.Context, buf, text, args []byte) ([]byte, error) {
	st, dctx, err := s.prepare(ctx, text, args)
	if err != nil {
		return buf, err
	}
	var res driver.Result
	err = s.busyWait(ctx, func() (err error) {
		res, err = st.(driver.StmtExecContext).ExecContext(dctx, s.nvs)
		return s.interrupted(ctx, err)
	})
	if err != nil {
		return buf, err
	}
	var ra, id int64
	if res != nil { // nil for SQL with no statement in it, e.g. only a comment
		ra, _ = res.RowsAffected()
		id, _ = res.LastInsertId()
	}
	return abi.AppendExecResult(buf, ra, id), nil
}

func (s *Session) query(ctx context.Context, buf, text, args []byte, limit uint32) ([]byte, error) {
	st, dctx, err := s.prepare(ctx, text, args)
	if err != nil {
		return buf, err
	}
	var rows driver.Rows
	err = s.busyWait(ctx, func() (err error) {
		rows, err = st.(driver.StmtQueryContext).QueryContext(dctx, s.nvs)
		return s.interrupted(ctx, err)
	})
	if err != nil {
		return buf, err
	}
	defer rows.Close()
	cols := rows.Columns()
	buf, at := abi.AppendColumns(buf, cols)
	s.dest = append(s.dest[:0], make([]driver.Value, len(cols))...)
	var n uint32
	for {
		if err := rows.Next(s.dest); err == io.EOF {
			break
		} else if err != nil {
			return buf, s.interrupted(ctx, err)
		}
		for _, v := range s.dest {
			switch x := v.(type) {
			case time.Time:
				v = x.Format(time.RFC3339Nano)
			case []byte:
				if x == nil { // the driver's empty BLOB; NULL arrives as untyped nil
					v = []byte{}
				}
			}
			if buf, err = abi.AppendValue(buf, v); err != nil {
				return buf, err
			}
			if uint32(len(buf)) > limit {
				return buf, invalidf("query result exceeds the %d-byte limit", limit)
			}
		}
		n++
	}
	abi.SetRowCount(buf, at, n)
	return buf, nil
}

// heapError is a statement that needed more SQLite heap than its plugin's
// connection may have.
type heapError struct{ limit int64 }

func (e *heapError) Error() string {
	return fmt.Sprintf("out of memory: the statement needs more than the plugin's %d-byte SQLite heap (DBOptions.PluginHeapBytes)", e.limit)
}

// overHeap reports a statement's failure after the heap cap refused an
// allocation as that refusal: the cap also interrupts the statement, and
// SQLite reports what it ran into first.
func (s *Session) overHeap(err error) error {
	if err != nil && s.glue.heap.tripped.Load() {
		return &heapError{limit: s.glue.heap.limit}
	}
	return err
}

// control runs one of the host's own statements, which the authorizer lets
// through only while it runs.
func (s *Session) control(ctx context.Context, stmt string) error {
	s.auth.host = true
	defer func() { s.auth.host = false }()
	s.glue.heap.reset()
	dctx, err := s.driverCtx(ctx)
	if err != nil {
		return err
	}
	err = s.busyWait(ctx, func() error {
		_, err := s.dc.(driver.ExecerContext).ExecContext(dctx, stmt, nil)
		return s.interrupted(ctx, err)
	})
	return s.overHeap(err)
}

// busyWaits are the pauses between attempts of a statement that found the
// database locked, as SQLite's own busy handler spaces them; the last one
// repeats until the busy timeout.
var busyWaits = []time.Duration{1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100}

// busyWait runs fn until it does not fail with busy or locked, pausing
// between attempts for up to the busy timeout in all. Unlike SQLite's busy
// handler, the pauses end as soon as ctx does: a tick past its deadline is
// never stuck behind another writer's lock.
func (s *Session) busyWait(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(s.busy)
	for i := 0; ; i++ {
		err := fn()
		if err == nil {
			return nil
		}
		if status, _ := classify(err); status != abi.StatusBusy || !time.Now().Before(deadline) {
			return err
		}
		wait := busyWaits[min(i, len(busyWaits)-1)] * time.Millisecond
		t := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// errTxLost fails a plugin's calls between SQLite rolling back its
// transaction (a statement's ON CONFLICT ROLLBACK or RAISE(ROLLBACK), an
// interrupted write, SQLITE_FULL, NOMEM and some IOERR) and the plugin's
// tx_rollback: the plugin must not go on as if its earlier statements
// still stood, nor write outside the transaction it thinks it is in.
var errTxLost = errors.New("the transaction was rolled back by SQLite; call tx_rollback")

// lostError is a statement's result (nil if it succeeded) after which
// SQLite had rolled back the transaction it ran in.
type lostError struct {
	cause error
	lost  error // errTxLost or store.ErrDryRunLost
}

func (e *lostError) Error() string {
	if e.cause == nil {
		return e.lost.Error()
	}
	return e.cause.Error() + "; " + e.lost.Error()
}

func (e *lostError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.lost}
	}
	return []error{e.cause, e.lost}
}

// guard refuses a plugin's call once SQLite has rolled back the plugin's
// transaction, or a dry run's. In a dry run it asks SQLite first: a write
// outside the outer transaction would reach the database.
func (s *Session) guard() error {
	if s.hold && s.holdOpen && !s.holdLost && s.glue.autocommit() {
		s.holdLost = true
	}
	switch {
	case s.holdLost:
		return store.ErrDryRunLost
	case s.txLost:
		return errTxLost
	}
	return nil
}

// track asks SQLite, after a plugin's statement, whether it still has the
// transaction the statement ran in, and makes the statement's result say
// so when SQLite rolled it back.
func (s *Session) track(err error) error {
	if !s.glue.autocommit() {
		return err
	}
	var lost error
	if s.hold && s.holdOpen && !s.holdLost {
		s.holdLost, lost = true, store.ErrDryRunLost
	}
	if s.inTx && !s.txLost {
		s.txLost = true
		s.changed.rollback()
		if lost == nil {
			lost = errTxLost
		}
	}
	if lost == nil {
		return err
	}
	return &lostError{cause: err, lost: lost}
}

// mayCommit is the commit hook's rule: nothing commits in a dry run, and
// while the plugin has a transaction only the host's COMMIT does. A write
// of the plugin can commit on its own there only after SQLite rolled the
// transaction back, in the rest of a text of several statements.
func (s *Session) mayCommit() bool {
	return !s.hold && (!s.inTx || s.committing)
}

// savepoint is the name plugin transactions take inside a dry run.
const savepoint = "ffwasmhost_plugin_tx"

// Begin is tx_begin: BEGIN IMMEDIATE, or in a dry run a savepoint.
func (s *Session) Begin(ctx context.Context) error {
	if err := s.guard(); err != nil {
		return err
	}
	if s.inTx {
		return invalidf("a transaction is already open")
	}
	stmt := "BEGIN IMMEDIATE"
	if s.hold { // startHold opened the outer transaction
		stmt = "SAVEPOINT " + savepoint
	}
	if err := s.control(ctx, stmt); err != nil {
		return err
	}
	s.inTx = true
	s.txStart = time.Now()
	return nil
}

// Commit is tx_commit. A commit that fails leaves the transaction open,
// unless SQLite rolled it back.
func (s *Session) Commit(ctx context.Context) error {
	if !s.inTx {
		return invalidf("no transaction is open")
	}
	if err := s.guard(); err != nil {
		return err
	}
	stmt := "COMMIT"
	if s.hold {
		stmt = "RELEASE " + savepoint
	}
	s.committing = true
	err := s.control(ctx, stmt)
	s.committing = false
	if err != nil { // the transaction is still open, unless SQLite rolled it back
		return s.track(err)
	}
	s.changed.commit()
	s.endTx()
	return nil
}

// endTx marks the transaction ended and reports how long it was open.
func (s *Session) endTx() {
	s.inTx, s.txLost = false, false
	if s.lockHeld != nil {
		s.lockHeld(time.Since(s.txStart))
	}
}

// Rollback is tx_rollback: it closes the plugin's transaction whatever
// happens, and rolls back what SQLite still has of it under a context of
// its own, so that a tick past its deadline still releases the write lock.
func (s *Session) Rollback(ctx context.Context) error {
	if !s.inTx {
		return invalidf("no transaction is open")
	}
	s.changed.rollback()
	s.endTx()
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	return s.rollbackOpen(cctx)
}

// cleanupTimeout bounds the rollback after a tick, which must run even when
// the tick's own context has expired.
const cleanupTimeout = 5 * time.Second

// cleanupContext returns a context for statements that must run even when
// ctx is done: not canceled with it, bounded by cleanupTimeout.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// rollbackOpen rolls back what SQLite has open of the plugin's
// transaction: the whole transaction, or in a dry run the plugin's
// savepoint.
func (s *Session) rollbackOpen(ctx context.Context) error {
	if s.hold {
		if s.holdLost || s.glue.autocommit() {
			return nil // SQLite rolled back the savepoint with the rest
		}
		if err := s.control(ctx, "ROLLBACK TO "+savepoint); err != nil {
			return err
		}
		return s.control(ctx, "RELEASE "+savepoint)
	}
	if s.glue.autocommit() {
		return nil
	}
	return s.control(ctx, "ROLLBACK")
}

// endTick runs after every tick, whatever the plugin did, under ctx, which
// is not the tick's: it disarms the tick's interrupter, rolls back the
// plugin's transaction if it is still open, as the plugin or as SQLite
// sees it, and reports that with store.ErrLeftOpen.
func (s *Session) endTick(ctx context.Context) error {
	s.unwatch()
	s.changed.rollback() // whatever the plugin left open is rolled back below
	left := s.inTx
	if left {
		s.endTx()
	}
	if !s.hold && !s.glue.autocommit() {
		left = true
	}
	if s.hold && s.holdOpen && !s.holdLost && s.glue.autocommit() {
		s.holdLost = true
	}
	if !left {
		return nil
	}
	if err := s.rollbackOpen(ctx); err != nil {
		return fmt.Errorf("transaction left open; rollback: %w", err)
	}
	return store.ErrLeftOpen
}

// startHold begins the outer transaction of a dry run, before its first
// tick, and refuses every later tick once SQLite rolled it back.
func (s *Session) startHold(ctx context.Context) error {
	if !s.hold {
		return nil
	}
	if s.holdLost {
		return store.ErrDryRunLost
	}
	if s.holdOpen {
		return nil
	}
	if err := s.control(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	s.holdOpen = true
	return nil
}

// endHold rolls back the outer transaction of a dry run, if SQLite still
// has it.
func (s *Session) endHold(ctx context.Context) error {
	if !s.holdOpen {
		return nil
	}
	s.holdOpen = false
	return s.run(func() error {
		if s.glue.autocommit() {
			return nil
		}
		return s.control(ctx, "ROLLBACK")
	})
}

// Explain maps a host call's error to its status and message. A denial by
// the authorizer is reported to the denied hook and named in the message.
func (s *Session) Explain(err error) (abi.Status, string) {
	// SQLite reports most denials as SQLITE_AUTH, but a refused function
	// as a plain SQLITE_ERROR: a denial recorded for this call decides.
	if d, ok := s.auth.take(); ok {
		if s.auth.denied != nil {
			s.auth.denied(d)
		}
		return abi.StatusNotAuthorized, "not authorized: " + d.String()
	}
	return classify(err)
}

// invalidError is a malformed host call; it maps to abi.StatusInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// classify maps an error from a host call to its ABI status and message.
func classify(err error) (abi.Status, string) {
	var lost *lostError
	if errors.As(err, &lost) {
		if lost.cause == nil {
			return abi.StatusOther, lost.lost.Error()
		}
		status, msg := classify(lost.cause)
		return status, msg + "; " + lost.lost.Error()
	}
	var inv *invalidError
	if errors.As(err, &inv) {
		return abi.StatusInvalid, inv.msg
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return abi.StatusBusy, se.Error()
		case sqlite3.SQLITE_CONSTRAINT:
			return abi.StatusConstraint, se.Error()
		case sqlite3.SQLITE_AUTH:
			return abi.StatusNotAuthorized, se.Error()
		case sqlite3.SQLITE_TOOBIG:
			return abi.StatusInvalid, "a value is over the plugin's length limit (max-result-bytes/64, at most max-call-bytes): " + se.Error()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return abi.StatusOther, "interrupted: " + err.Error()
	}
	return abi.StatusOther, err.Error()
}
