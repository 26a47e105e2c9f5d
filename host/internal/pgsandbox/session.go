package pgsandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Defaults of Options.
const (
	DefaultLockTimeout     = 5 * time.Second
	DefaultCancelGrace     = 2 * time.Second
	DefaultCleanupTimeout  = 5 * time.Second
	DefaultMaxMessageBytes = 16<<20 + 1<<20
)

// maxCachedStmts bounds a session's prepared statements; past it they are
// all deallocated and the cache refilled, as on SQLite.
const maxCachedStmts = 64

// maxCheckedTexts bounds the cache of statement check results.
const maxCheckedTexts = 256

// FenceFunc checks, inside the plugin's open transaction and just before
// it commits, that the plugin may still write: host/cluster's Fence with
// the tick's lease. It runs the host's own statements on conn, the
// plugin's connection, which the check does not apply to. An error rolls
// the transaction back and fails the commit with it.
type FenceFunc func(ctx context.Context, conn *pgx.Conn) error

// Options configure a Session.
type Options struct {
	// Plugin is the plugin's name, for messages and application_name.
	Plugin string
	// Role, if set, is the role the DSN must log in as; Open refuses any
	// other. RoleName gives the default one.
	Role string
	// Schema is the plugin's search_path: the schema its tables are in.
	// Default "public".
	Schema string
	// Isolation of the plugin's transactions: pgx.ReadCommitted (default),
	// pgx.RepeatableRead or pgx.Serializable (budget_reset).
	Isolation pgx.TxIsoLevel
	// LockTimeout is how long a statement waits for a lock before it
	// fails with busy (lock_not_available), as SQLite's busy timeout.
	// Default DefaultLockTimeout.
	LockTimeout time.Duration
	// IdleInTransactionTimeout, if positive, is the server's
	// idle_in_transaction_session_timeout for the session: a daemon that
	// stops between two statements of an open transaction loses its
	// connection, and the row locks and fence it held, after it. Keep it
	// below the lease TTL so a takeover is not held up. Default off.
	IdleInTransactionTimeout time.Duration
	// CancelGrace is how long a statement whose context ended may take to
	// answer the cancel request the session sends; past it the connection
	// is closed (the server rolls back) and the next call reconnects.
	// Default DefaultCancelGrace.
	CancelGrace time.Duration
	// CleanupTimeout bounds EndTick's rollback and reset, which run
	// whatever the state of the tick's context. Default
	// DefaultCleanupTimeout.
	CleanupTimeout time.Duration
	// MaxMessageBytes is the largest protocol message the session reads:
	// one row of a query result. A larger one closes the connection before
	// it is read into memory. Default DefaultMaxMessageBytes.
	MaxMessageBytes int
	// OnDenied, if set, is told of every statement the check refuses.
	OnDenied func(Denial)
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Isolation == "" {
		o.Isolation = pgx.ReadCommitted
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.CancelGrace <= 0 {
		o.CancelGrace = DefaultCancelGrace
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = DefaultCleanupTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return o
}

// txState is the plugin's transaction as the ABI sees it.
type txState int

const (
	txNone   txState = iota
	txOpen           // open on the server too (perhaps failed, 'E')
	txDoomed         // open for the ABI, but over on the server: only tx_rollback helps
)

// Session is one plugin's own connection to PostgreSQL, logged in as the
// plugin's role: the Postgres twin of the SQLite session. It runs the
// plugin's statements (SQL text plus wire-encoded arguments), its
// transactions, and the cleanup after each tick. A Session is used by one
// goroutine at a time, as a plugin's ticks never overlap.
type Session struct {
	opts  Options
	cfg   *pgx.ConnConfig
	conn  *pgx.Conn
	stmts map[string]*stmt
	seq   uint64           // names prepared statements
	check map[string]error // statement check results by SQL text

	tx    txState
	doom  error // why a txDoomed transaction ended
	fence FenceFunc

	// scratch, reused call to call
	args   []any
	params [][]byte
	pfmts  []int16
	oids   []uint32
	pbuf   []byte
	key    []byte
}

// stmt is one prepared statement of the plugin.
type stmt struct {
	name    string
	cols    []column
	names   []string
	formats []int16
}

// Open connects to dsn, the URL of the plugin's own login role, and
// checks that the role is fit to be a sandbox: no superuser, no
// CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, a member of no other
// role, and unable to create objects in its schema. It refuses anything
// else with an error naming the role and what is wrong.
func Open(ctx context.Context, dsn string, opts Options) (*Session, error) {
	opts = opts.withDefaults()
	switch opts.Isolation {
	case pgx.ReadCommitted, pgx.RepeatableRead, pgx.Serializable:
	default:
		return nil, fmt.Errorf("open session of plugin %s: isolation %q: want read committed, repeatable read or serializable", opts.Plugin, opts.Isolation)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open session of plugin %s: %w", opts.Plugin, err)
	}
	if opts.Role != "" && cfg.User != opts.Role {
		return nil, fmt.Errorf("open session of plugin %s: the URL logs in as %q, want its role %q", opts.Plugin, cfg.User, opts.Role)
	}
	rp := cfg.RuntimeParams
	rp["application_name"] = "ffwasmhost plugin " + opts.Plugin
	rp["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	// The lexer reads strings as the server does only with this on; it is
	// checked again before every statement.
	rp["standard_conforming_strings"] = "on"
	rp["lock_timeout"] = strconv.FormatInt(opts.LockTimeout.Milliseconds(), 10)
	if opts.IdleInTransactionTimeout > 0 {
		rp["idle_in_transaction_session_timeout"] = strconv.FormatInt(opts.IdleInTransactionTimeout.Milliseconds(), 10)
	}
	// When a call's context ends, cancel the statement on the server and
	// give it CancelGrace to stop before the connection is closed under it.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: opts.CancelGrace}
	}
	maxBody := opts.MaxMessageBytes
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		f := pgproto3.NewFrontend(r, w)
		f.SetMaxBodyLen(maxBody)
		return f
	}
	s := &Session{opts: opts, cfg: cfg, stmts: map[string]*stmt{}, check: map[string]error{}}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// connect opens the connection and checks the role it logged in as.
func (s *Session) connect(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return fmt.Errorf("connect plugin %s as %s: %w", s.opts.Plugin, s.cfg.User, err)
	}
	if err := checkRole(ctx, conn); err != nil {
		conn.Close(ctx)
		return fmt.Errorf("plugin %s: %w", s.opts.Plugin, err)
	}
	s.conn = conn
	clear(s.stmts)
	return nil
}

// checkRole refuses a connection whose role could step outside its grants.
func checkRole(ctx context.Context, conn *pgx.Conn) error {
	var (
		user                                           string
		super, createRole, createDB, repl, bypass, mem bool
		create                                         *bool
	)
	err := conn.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
  EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid),
  has_schema_privilege(current_schema(), 'CREATE')
FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &createRole, &createDB, &repl, &bypass, &mem, &create)
	if err != nil {
		return fmt.Errorf("read the session's role: %w", err)
	}
	var bad []string
	for _, b := range []struct {
		on   bool
		what string
	}{
		{super, "is a superuser"}, {createRole, "has CREATEROLE"}, {createDB, "has CREATEDB"},
		{repl, "has REPLICATION"}, {bypass, "has BYPASSRLS"}, {mem, "is a member of other roles"},
		{create != nil && *create, "may CREATE in its schema (REVOKE CREATE ON SCHEMA ... FROM PUBLIC)"},
		{create == nil, "has no schema: the search_path names none that exists"},
	} {
		if b.on {
			bad = append(bad, b.what)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("role %s cannot be a plugin sandbox: it %s", user, strings.Join(bad, ", "))
	}
	if v := conn.PgConn().ParameterStatus("standard_conforming_strings"); v != "on" {
		return fmt.Errorf("standard_conforming_strings is %q, want on", v)
	}
	return nil
}

// ensureConn reconnects after a connection was lost or closed. A
// transaction open on the lost connection is over: the ABI's stays open,
// doomed, until the plugin rolls it back.
func (s *Session) ensureConn(ctx context.Context) error {
	if s.conn != nil && !s.conn.IsClosed() {
		return nil
	}
	if s.tx == txOpen {
		s.doomTx(errors.New("the connection was lost, and the transaction with it"))
	}
	s.conn = nil
	return s.connect(ctx)
}

func (s *Session) doomTx(err error) {
	s.tx = txDoomed
	s.doom = err
}

// doomedError is a call in a transaction the server has already ended.
type doomedError struct{ cause error }

func (e *doomedError) Error() string {
	return "the transaction is over (" + e.cause.Error() + "); roll it back"
}
func (e *doomedError) Unwrap() error { return e.cause }

// ready checks what every statement needs: a connection, a live
// transaction if one is open, standard_conforming_strings on, and a
// statement that passes the check.
func (s *Session) ready(ctx context.Context, sql []byte) error {
	if err := ctx.Err(); err != nil {
		return &interruptedError{err}
	}
	if err := s.ensureConn(ctx); err != nil {
		return err
	}
	if s.tx == txDoomed {
		return &doomedError{s.doom}
	}
	if v := s.conn.PgConn().ParameterStatus("standard_conforming_strings"); v != "on" {
		// Nothing a plugin may run changes it; if it changed anyway, the
		// lexer can no longer be trusted on this connection.
		s.closeConn()
		return fmt.Errorf("standard_conforming_strings became %q; connection closed", v)
	}
	text := string(sql)
	err, ok := s.check[text]
	if !ok {
		if d := checkStatement(text); d != nil {
			d.Plugin = s.opts.Plugin
			err = &deniedError{*d}
		}
		if len(s.check) >= maxCheckedTexts {
			clear(s.check)
		}
		s.check[text] = err
	}
	var de *deniedError
	if errors.As(err, &de) && s.opts.OnDenied != nil {
		s.opts.OnDenied(de.d)
	}
	return err
}

// bind decodes the wire arguments into the parameter slices, and the
// statement cache key (SQL text and the argument types) into s.key.
func (s *Session) bind(sql, args []byte) error {
	var err error
	if s.args, err = abi.DecodeArgs(args, s.args[:0]); err != nil {
		return &invalidError{err.Error()}
	}
	s.params, s.pfmts, s.oids, s.pbuf = s.params[:0], s.pfmts[:0], s.oids[:0], s.pbuf[:0]
	s.key = append(s.key[:0], sql...)
	s.key = append(s.key, 0)
	for _, a := range s.args {
		var v []byte
		s.pbuf, v = encodeParam(s.pbuf, a)
		s.params = append(s.params, v)
		s.pfmts = append(s.pfmts, binaryFormat)
		oid := paramOID(a)
		s.oids = append(s.oids, oid)
		s.key = strconv.AppendUint(s.key, uint64(oid), 10)
		s.key = append(s.key, ',')
	}
	return nil
}

// prepare returns the prepared statement for s.key, preparing it with
// the argument types of s.oids on first use.
func (s *Session) prepare(ctx context.Context, sql []byte) (*stmt, error) {
	if st, ok := s.stmts[string(s.key)]; ok {
		return st, nil
	}
	pc := s.conn.PgConn()
	if len(s.stmts) >= maxCachedStmts {
		for k, st := range s.stmts {
			if err := pc.Deallocate(ctx, st.name); err != nil {
				return nil, s.failed(ctx, err)
			}
			delete(s.stmts, k)
		}
	}
	s.seq++
	name := "ffwasmhost_" + strconv.FormatUint(s.seq, 10)
	desc, err := pc.Prepare(ctx, name, string(sql), s.oids)
	if err != nil {
		return nil, s.failed(ctx, err)
	}
	st := &stmt{name: name}
	for _, f := range desc.Fields {
		c := column{name: f.Name, oid: f.DataTypeOID, format: resultFormat(f.DataTypeOID)}
		st.cols = append(st.cols, c)
		st.names = append(st.names, c.name)
		st.formats = append(st.formats, c.format)
	}
	s.stmts[string(s.key)] = st
	return st, nil
}

// failed turns the error of a call on the server into the session's: an
// interruption if ctx ended, with the statement cache forgotten if the
// connection is gone.
func (s *Session) failed(ctx context.Context, err error) error {
	if s.conn != nil && s.conn.IsClosed() {
		clear(s.stmts)
	}
	if ctx.Err() != nil {
		return &interruptedError{err}
	}
	if isStalePlan(err) {
		// The schema changed under a prepared statement: prepare them all
		// again. Close messages work even in an aborted transaction.
		for k, st := range s.stmts {
			if s.conn.PgConn().Deallocate(ctx, st.name) != nil {
				s.closeConn()
				break
			}
			delete(s.stmts, k)
		}
	}
	return err
}

// Exec runs one statement with wire-encoded arguments and appends the wire
// exec result to buf: the rows its command tag reports (affected rows; a
// SELECT's row count) and a last insert id of 0, which Postgres does not
// have (use RETURNING).
func (s *Session) Exec(ctx context.Context, buf, sql, args []byte) ([]byte, error) {
	var n int64
	err := s.run(ctx, sql, args, func(st *stmt) error {
		rr := s.conn.PgConn().ExecPrepared(ctx, st.name, s.params, s.pfmts, nil)
		tag, err := rr.Close()
		if err != nil {
			return s.failed(ctx, err)
		}
		n = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return buf, err
	}
	return abi.AppendExecResult(buf, n, 0), nil
}

// Query runs one statement with wire-encoded arguments and appends the wire
// query result to buf: column names, then every row, each value mapped as
// appendResult describes. It fails (invalid) once the encoding passes
// limit bytes; the rest of the rows are read and dropped.
func (s *Session) Query(ctx context.Context, buf, sql, args []byte, limit uint32) ([]byte, error) {
	start := len(buf)
	err := s.run(ctx, sql, args, func(st *stmt) error {
		var at int
		buf, at = abi.AppendColumns(buf[:start], st.names)
		rr := s.conn.PgConn().ExecPrepared(ctx, st.name, s.params, s.pfmts, st.formats)
		var rows uint32
		var ferr error
		for rr.NextRow() {
			if ferr != nil {
				continue // drain
			}
			for i, v := range rr.Values() {
				if buf, ferr = appendResult(buf, st.cols[i], v); ferr != nil {
					break
				}
			}
			if ferr == nil && uint64(len(buf)-start) > uint64(limit) {
				ferr = &invalidError{fmt.Sprintf("query result exceeds the %d-byte limit", limit)}
			}
			rows++
		}
		if _, err := rr.Close(); err != nil {
			return s.failed(ctx, err)
		}
		if ferr != nil {
			return ferr
		}
		abi.SetRowCount(buf, at, rows)
		return nil
	})
	if err != nil {
		return buf[:start], err
	}
	return buf, nil
}

// run checks, binds and prepares a plugin statement and calls do with it.
// With a fence set and no transaction open, the statement runs in a
// transaction of its own that is fenced before it commits. A statement
// outside a transaction whose prepared form the schema outdated is
// prepared and run once more, as SQLite does; inside one, PostgreSQL has
// aborted the transaction already.
func (s *Session) run(ctx context.Context, sql, args []byte, do func(*stmt) error) error {
	if err := s.ready(ctx, sql); err != nil {
		return err
	}
	if err := s.bind(sql, args); err != nil {
		return err
	}
	err := s.runPrepared(ctx, sql, do)
	if s.tx == txNone && isStalePlan(err) {
		err = s.runPrepared(ctx, sql, do)
	}
	return err
}

func (s *Session) runPrepared(ctx context.Context, sql []byte, do func(*stmt) error) error {
	st, err := s.prepare(ctx, sql)
	if err != nil {
		return err
	}
	if s.fence == nil || s.tx != txNone {
		return do(st)
	}
	if err := s.control(ctx, "BEGIN"); err != nil {
		return err
	}
	if err := do(st); err != nil {
		s.abort(ctx)
		return err
	}
	if err := s.fence(ctx, s.conn); err != nil {
		s.abort(ctx)
		return s.failed(ctx, err)
	}
	return s.commitServer(ctx)
}

// isStalePlan reports an error of a prepared statement whose result type
// the schema changed since it was prepared.
func isStalePlan(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan")
}

// control runs one of the host's own statements on the connection.
func (s *Session) control(ctx context.Context, sql string) error {
	if err := ctx.Err(); err != nil {
		return &interruptedError{err}
	}
	if err := s.ensureConn(ctx); err != nil {
		return err
	}
	_, err := s.conn.PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return s.failed(ctx, err)
	}
	return nil
}

// abort rolls back the server's transaction after a failure, under a
// context of its own; if even that fails, the connection is closed, which
// rolls back too.
func (s *Session) abort(ctx context.Context) {
	if s.conn == nil || s.conn.IsClosed() {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	defer cancel()
	if _, err := s.conn.PgConn().Exec(cctx, "ROLLBACK").ReadAll(); err != nil {
		s.closeConn()
	}
}

// commitServer commits the server's transaction. COMMIT of a transaction
// that failed earlier answers ROLLBACK without an error; it is one here.
func (s *Session) commitServer(ctx context.Context) error {
	res, err := s.conn.PgConn().Exec(ctx, "COMMIT").ReadAll()
	if err != nil {
		err = s.failed(ctx, err)
		if s.conn != nil && !s.conn.IsClosed() && s.conn.PgConn().TxStatus() != 'I' {
			s.abort(ctx)
		}
		return err
	}
	if len(res) == 1 && res[0].CommandTag.String() == "ROLLBACK" {
		return errRolledBack
	}
	return nil
}

// errRolledBack is a commit of a transaction an earlier statement had
// failed: PostgreSQL rolls it back.
var errRolledBack = errors.New("commit: an earlier statement had failed, so the transaction was rolled back")

// SetFence makes every later commit of the plugin, and every statement it
// runs outside a transaction, pass fn first (nil: no fence). The runtime
// sets it to the lease of the (plugin, partition) each tick is for.
func (s *Session) SetFence(fn FenceFunc) { s.fence = fn }

// Begin begins the plugin's transaction at the session's isolation level.
// One may be open at a time. Unlike SQLite's BEGIN IMMEDIATE it takes no
// lock: contention shows at the statements (busy: lock_not_available,
// deadlock_detected) or, at SERIALIZABLE, at any statement or the commit
// (busy: serialization_failure).
func (s *Session) Begin(ctx context.Context) error {
	if s.tx != txNone {
		return &invalidError{"a transaction is already open"}
	}
	if err := s.control(ctx, "BEGIN ISOLATION LEVEL "+strings.ToUpper(string(s.opts.Isolation))); err != nil {
		return err
	}
	s.tx = txOpen
	return nil
}

// Commit commits the plugin's transaction, fenced first if a fence is set.
//
// On PostgreSQL a commit that fails ends the transaction all the same (a
// serialization failure, a deferred constraint, an earlier failed
// statement, a fence that no longer holds): nothing of it is committed and
// nothing stays open on the server. The ABI says a failed commit leaves
// the transaction open so the plugin may retry the commit or roll back;
// here it stays open for the ABI only, doomed: a retried commit and every
// statement fail with the status of what ended it, and tx_rollback
// succeeds and closes it. The SDK's WithTx rolls back after a failed
// commit and retries the whole transaction on busy, which is what
// PostgreSQL needs.
func (s *Session) Commit(ctx context.Context) error {
	switch s.tx {
	case txNone:
		return &invalidError{"no transaction is open"}
	case txDoomed:
		return &doomedError{s.doom}
	}
	if err := ctx.Err(); err != nil {
		return &interruptedError{err}
	}
	if s.conn == nil || s.conn.IsClosed() {
		s.doomTx(errors.New("the connection was lost, and the transaction with it"))
		return &doomedError{s.doom}
	}
	if s.fence != nil && s.conn.PgConn().TxStatus() == 'T' {
		if err := s.fence(ctx, s.conn); err != nil {
			err = s.failed(ctx, err)
			s.abort(ctx)
			s.doomTx(err)
			return err
		}
	}
	if err := s.commitServer(ctx); err != nil {
		s.doomTx(err)
		return err
	}
	s.tx = txNone
	return nil
}

// Rollback rolls back the plugin's transaction. The transaction is closed
// even if the rollback fails (the connection is then closed, which rolls
// back on the server).
func (s *Session) Rollback(ctx context.Context) error {
	if s.tx == txNone {
		return &invalidError{"no transaction is open"}
	}
	s.tx, s.doom = txNone, nil
	if s.conn == nil || s.conn.IsClosed() || s.conn.PgConn().TxStatus() == 'I' {
		return nil
	}
	if _, err := s.conn.PgConn().Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		err = s.failed(ctx, err)
		s.closeConn()
		return err
	}
	return nil
}

// resetSQL ends every trace of a tick on the connection but the host's
// prepared statements: settings (those a SET in a function could have
// changed, the role, the session authorization), cursors, LISTEN, advisory
// locks, temporary tables and sequence state. It is DISCARD ALL without
// DEALLOCATE ALL, so the next tick reuses the prepared statements, and it
// ends by reading back who the session is.
const resetSQL = `RESET ALL; RESET ROLE; RESET SESSION AUTHORIZATION; CLOSE ALL; UNLISTEN *;
SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;
SELECT current_user, session_user`

// EndTick runs after every tick, whatever happened in it: it rolls back a
// transaction the plugin left open and resets the session, so nothing a
// plugin did survives its tick. It runs under a context of its own,
// bounded by Options.CleanupTimeout, as the tick's may have expired; it
// keeps ctx's values only. leftOpen reports whether the plugin left a
// transaction open (the ABI's tick then fails). If the reset fails the
// connection is closed, which ends everything on the server as well, and
// the next call reconnects.
func (s *Session) EndTick(ctx context.Context) (leftOpen bool, err error) {
	leftOpen = s.tx != txNone
	s.tx, s.doom = txNone, nil
	if s.conn == nil || s.conn.IsClosed() {
		s.conn = nil
		return leftOpen, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	defer cancel()
	pc := s.conn.PgConn()
	if pc.TxStatus() != 'I' {
		if _, err := pc.Exec(cctx, "ROLLBACK").ReadAll(); err != nil {
			s.closeConn()
			return leftOpen, fmt.Errorf("end tick of plugin %s: roll back: %w; connection closed", s.opts.Plugin, err)
		}
	}
	res, err := pc.Exec(cctx, resetSQL).ReadAll()
	if err == nil {
		last, user := res[len(res)-1], s.cfg.User
		if len(last.Rows) != 1 || len(last.Rows[0]) != 2 || string(last.Rows[0][0]) != user || string(last.Rows[0][1]) != user {
			err = fmt.Errorf("the session is no longer role %s", user)
		}
	}
	if err != nil {
		s.closeConn()
		return leftOpen, fmt.Errorf("end tick of plugin %s: reset session: %w; connection closed", s.opts.Plugin, err)
	}
	return leftOpen, nil
}

// closeConn closes the connection at once; the next call reconnects.
func (s *Session) closeConn() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.conn.Close(ctx)
	s.conn = nil
	clear(s.stmts)
}

// Close closes the session's connection; an open transaction is rolled
// back by the server.
func (s *Session) Close() {
	s.closeConn()
}

// Role returns the role the session logs in as.
func (s *Session) Role() string { return s.cfg.User }
