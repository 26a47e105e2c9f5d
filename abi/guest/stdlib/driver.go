// Package stdlib adapts the guest SDK to the standard library: a
// database/sql driver over guest.Conn and a log/slog Logger over the host's
// log, for plugins written against those interfaces.
//
// The price is size and speed: database/sql, log/slog and the fmt and
// reflect they link add about a megabyte to a plugin (load time and memory
// in the host), and database/sql's own work costs ~10 µs of guest CPU per
// statement, several times the host call itself. Plugins on a hot path use
// guest.Conn directly.
package stdlib

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// DriverName is the database/sql driver name this package registers.
const DriverName = "ffhost"

func init() { sql.Register(DriverName, drv{}) }

var db *sql.DB

// DB returns a *sql.DB on the plugin's host connection, opening it on first
// use. It shares the connection with guest.DB(): one statement at a time,
// and a transaction begun on either is the connection's transaction.
func DB() *sql.DB {
	if db == nil {
		var err error
		if db, err = sql.Open(DriverName, ""); err != nil {
			panic(err) // sql.Open only fails for an unknown driver
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
	}
	return db
}

// WithTx runs fn in one BEGIN IMMEDIATE transaction and commits it; if fn
// fails the transaction is rolled back. A busy or locked failure of the
// whole transaction is retried as guest.Retry does.
func WithTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return guest.Retry(ctx, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

type drv struct{}

func (drv) Open(string) (driver.Conn, error) { return &conn{c: guest.DB()}, nil }

// conn is the guest's only connection, over guest.Conn.
type conn struct {
	c    *guest.Conn
	args []any // reused
}

var (
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
)

func (c *conn) values(args []driver.NamedValue) ([]any, error) {
	c.args = c.args[:0]
	for _, a := range args {
		if a.Name != "" {
			return nil, fmt.Errorf("ffhost: named argument %q: only positional arguments are supported", a.Name)
		}
		c.args = append(c.args, a.Value)
	}
	return c.args, nil
}

func (c *conn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	vals, err := c.values(args)
	if err != nil {
		return nil, err
	}
	res, err := c.c.Exec(query, vals...)
	if err != nil {
		return nil, err
	}
	return result{res}, nil
}

func (c *conn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	vals, err := c.values(args)
	if err != nil {
		return nil, err
	}
	r, err := c.c.Query(query, vals...)
	if err != nil {
		return nil, err
	}
	n := len(r.Columns())
	rs := &rows{r: r, vals: make([]any, n), ptrs: make([]any, n)}
	for i := range rs.vals {
		rs.ptrs[i] = &rs.vals[i]
	}
	return rs, nil
}

// CheckNamedValue accepts what database/sql's default converter accepts and
// stores time.Time as RFC 3339 text with nanoseconds.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if t, ok := v.(time.Time); ok {
		v = t.Format(time.RFC3339Nano)
	}
	nv.Value = v
	return nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement that sends its SQL with every call;
// the host keeps the prepared statement, so nothing is lost.
func (c *conn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &stmt{c: c, query: query}, nil
}

func (c *conn) Close() error { return nil }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a BEGIN IMMEDIATE transaction on the host connection.
func (c *conn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	if err := c.c.Begin(); err != nil {
		return nil, err
	}
	return tx{c.c}, nil
}

type tx struct{ c *guest.Conn }

// Commit commits. database/sql ends a Tx whatever Commit returns, so a
// failed commit, which leaves the host's transaction open, is rolled back
// here: the connection is never left inside a transaction.
func (t tx) Commit() error {
	err := t.c.Commit()
	if err != nil {
		_ = t.c.Rollback()
	}
	return err
}

func (t tx) Rollback() error { return t.c.Rollback() }

type stmt struct {
	c     *conn
	query string
}

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

type result struct{ r guest.Result }

func (r result) LastInsertId() (int64, error) { return r.r.LastInsertID, nil }
func (r result) RowsAffected() (int64, error) { return r.r.RowsAffected, nil }

// rows walks a query result the host sent whole.
type rows struct {
	r    *guest.Rows
	vals []any // the current row
	ptrs []any // &vals[i], for Scan
}

func (r *rows) Columns() []string { return r.r.Columns() }
func (r *rows) Close() error      { return r.r.Close() }

func (r *rows) Next(dest []driver.Value) error {
	if !r.r.Next() {
		if err := r.r.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	if err := r.r.Scan(r.ptrs...); err != nil {
		return err
	}
	for i := range dest {
		dest[i] = r.vals[i]
	}
	return nil
}
