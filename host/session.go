package host

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// maxColumns is SQLite's column limit on plugin connections: of a result
// row, a table, an index. The reconciler tables have at most 13.
const maxColumns = 64

// valueLimit is SQLite's string and blob length limit on a plugin's
// connection: MaxResultBytes/maxColumns (256 KiB by default), and never
// more than one host call may carry.
func valueLimit(lim Limits) int {
	return int(min(lim.MaxCallBytes, lim.MaxResultBytes/maxColumns))
}

// maxCachedStmts bounds a plugin's prepared statement cache; past it the
// cache is emptied and refilled.
const maxCachedStmts = 64

// session is one plugin's own connection to the database: its authorizer,
// its prepared statements and its transaction state.
type session struct {
	busy  time.Duration // how long a statement waits on another writer
	db    *sql.DB
	conn  *sql.Conn
	auth  *authorizer
	glue  *sqlGlue    // the connection's VFS, functions, commit hook and heap cap
	dc    driver.Conn // the driver connection, set only inside run
	stmts map[string]driver.Stmt

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

	args []any
	nvs  []driver.NamedValue
	dest []driver.Value
}

// openSession opens a connection for plugin desc with defensive mode,
// trusted_schema off, SQLite limits from lim, ATTACH disabled, the host's
// VFS, functions, commit hook and heap cap, and the plugin's authorizer
// installed before the plugin runs anything. hold makes it a dry run's
// connection, on which nothing ever commits.
func openSession(ctx context.Context, db *DB, desc describe.Descriptor, lim Limits, hold bool, denied func(Denial)) (_ *session, err error) {
	glue, err := newSQLGlue()
	if err != nil {
		return nil, fmt.Errorf("prepare connection: %w", err)
	}
	sqldb, err := sql.Open("sqlite", db.dsn(glue.vfsName))
	if err != nil {
		glue.close()
		return nil, fmt.Errorf("open connection: %w", err)
	}
	sqldb.SetMaxOpenConns(1)
	sqldb.SetConnMaxLifetime(0)
	s := &session{busy: db.opts.BusyTimeout, db: sqldb, glue: glue, hold: hold, stmts: map[string]driver.Stmt{}, auth: newAuthorizer(desc, denied)}
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
		return nil, fmt.Errorf("open connection: %w", err)
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
		{sqlite3.SQLITE_LIMIT_SQL_LENGTH, int(lim.MaxCallBytes)},
		{sqlite3.SQLITE_LIMIT_LENGTH, valueLimit(lim)},
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
		if err := s.glue.attach(h.db, h.tlsID, db.opts.PluginHeapBytes); err != nil {
			return err
		}
		reg, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no authorizer", dc)
		}
		if err := reg.RegisterAuthorizer(s.auth.authorize); err != nil {
			return fmt.Errorf("install authorizer: %w", err)
		}
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

// run calls fn with the session's driver connection available to the host
// functions.
func (s *session) run(fn func() error) error {
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
func (s *session) driverCtx(ctx context.Context) (context.Context, error) {
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
func (s *session) unwatch() {
	if s.disarm != nil {
		s.disarm()
	}
	s.watching, s.disarm = nil, nil
}

// interrupted reports a statement's failure once ctx is done as ctx's
// error: the interrupter's SQLITE_INTERRUPT, or whatever else it ran into,
// reads as the driver's cancellation did.
func (s *session) interrupted(ctx context.Context, err error) error {
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	return err
}

func (s *session) close() {
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
func (s *session) stmt(ctx context.Context, text []byte) (driver.Stmt, error) {
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
func (s *session) refreshSchema(ctx context.Context) error {
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
func (s *session) bind(args []byte) error {
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

// exec runs one statement and appends its exec result to buf.
func (s *session) exec(ctx context.Context, buf, text, args []byte) ([]byte, error) {
	if err := s.guard(); err != nil {
		return buf, err
	}
	s.glue.heap.reset()
	buf, err := s.execStmt(ctx, buf, text, args)
	return buf, s.track(s.overHeap(err))
}

func (s *session) execStmt(ctx context.Context, buf, text, args []byte) ([]byte, error) {
	s.auth.last = Denial{}
	st, err := s.stmt(ctx, text)
	if err != nil {
		return buf, err
	}
	if err := s.bind(args); err != nil {
		return buf, err
	}
	dctx, err := s.driverCtx(ctx)
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

// query runs one statement and appends every row to buf, failing once the
// encoding passes limit bytes.
func (s *session) query(ctx context.Context, buf, text, args []byte, limit uint32) ([]byte, error) {
	if err := s.guard(); err != nil {
		return buf, err
	}
	s.glue.heap.reset()
	buf, err := s.queryStmt(ctx, buf, text, args, limit)
	return buf, s.track(s.overHeap(err))
}

func (s *session) queryStmt(ctx context.Context, buf, text, args []byte, limit uint32) ([]byte, error) {
	s.auth.last = Denial{}
	st, err := s.stmt(ctx, text)
	if err != nil {
		return buf, err
	}
	if err := s.bind(args); err != nil {
		return buf, err
	}
	dctx, err := s.driverCtx(ctx)
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
func (s *session) overHeap(err error) error {
	if err != nil && s.glue.heap.tripped.Load() {
		return &heapError{limit: s.glue.heap.limit}
	}
	return err
}

// control runs one of the host's own statements, which the authorizer lets
// through only while it runs.
func (s *session) control(ctx context.Context, stmt string) error {
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
func (s *session) busyWait(ctx context.Context, fn func() error) error {
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

// ErrDryRunLost is wrapped by every tick, and every statement, of a dry
// run after SQLite rolled back the dry run's outer transaction on its own
// (as it does for ON CONFLICT ROLLBACK): the changes of earlier ticks are
// gone and nothing more may run, since it would write to the database.
var ErrDryRunLost = errors.New("the dry run's transaction was rolled back by SQLite; the dry run runs nothing more")

// lostError is a statement's result (nil if it succeeded) after which
// SQLite had rolled back the transaction it ran in.
type lostError struct {
	cause error
	lost  error // errTxLost or ErrDryRunLost
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
func (s *session) guard() error {
	if s.hold && s.holdOpen && !s.holdLost && s.glue.autocommit() {
		s.holdLost = true
	}
	switch {
	case s.holdLost:
		return ErrDryRunLost
	case s.txLost:
		return errTxLost
	}
	return nil
}

// track asks SQLite, after a plugin's statement, whether it still has the
// transaction the statement ran in, and makes the statement's result say
// so when SQLite rolled it back.
func (s *session) track(err error) error {
	if !s.glue.autocommit() {
		return err
	}
	var lost error
	if s.hold && s.holdOpen && !s.holdLost {
		s.holdLost, lost = true, ErrDryRunLost
	}
	if s.inTx && !s.txLost {
		s.txLost = true
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
func (s *session) mayCommit() bool {
	return !s.hold && (!s.inTx || s.committing)
}

// savepoint is the name plugin transactions take inside a dry run.
const savepoint = "ffwasmhost_plugin_tx"

func (s *session) begin(ctx context.Context) error {
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

func (s *session) commit(ctx context.Context) error {
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
	s.endTx()
	return nil
}

// endTx marks the transaction ended and reports how long it was open.
func (s *session) endTx() {
	s.inTx, s.txLost = false, false
	if s.lockHeld != nil {
		s.lockHeld(time.Since(s.txStart))
	}
}

// rollback is tx_rollback: it closes the plugin's transaction whatever
// happens, and rolls back what SQLite still has of it under a context of
// its own, so that a tick past its deadline still releases the write lock.
func (s *session) rollback(ctx context.Context) error {
	if !s.inTx {
		return invalidf("no transaction is open")
	}
	s.endTx()
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	return s.rollbackOpen(cctx)
}

// cleanupContext returns a context for statements that must run even when
// ctx is done: not canceled with it, bounded by cleanupTimeout.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// rollbackOpen rolls back what SQLite has open of the plugin's
// transaction: the whole transaction, or in a dry run the plugin's
// savepoint.
func (s *session) rollbackOpen(ctx context.Context) error {
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
// sees it, and reports that with ErrLeftOpen.
func (s *session) endTick(ctx context.Context) error {
	s.unwatch()
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
	return ErrLeftOpen
}

// startHold begins the outer transaction of a dry run, before its first
// tick, and refuses every later tick once SQLite rolled it back.
func (s *session) startHold(ctx context.Context) error {
	if !s.hold {
		return nil
	}
	if s.holdLost {
		return ErrDryRunLost
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
func (s *session) endHold(ctx context.Context) error {
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

// explain maps a host call's error to its status and message. A denial by
// the authorizer is reported to the denied hook and named in the message.
func (s *session) explain(err error) (abi.Status, string) {
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
