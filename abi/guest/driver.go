package guest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// DriverName is the database/sql driver name this package registers.
const DriverName = "ffhost"

// ErrNotInHost is returned by every database call made outside a wasm
// instance run by ffwasmhost.
var ErrNotInHost = errors.New("ffhost: not running inside ffwasmhost")

// Error is a failed host call. Its Status says what the plugin can do about
// it: StatusBusy is worth retrying, the others are not.
type Error struct {
	Status  abi.Status
	Message string
}

func (e *Error) Error() string { return "ffhost " + e.Status.String() + ": " + e.Message }

// StatusOf returns the status class of err: StatusOK for nil, the class of
// an *Error anywhere in err's chain, and StatusOther for anything else.
func StatusOf(err error) abi.Status {
	if err == nil {
		return abi.StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return abi.StatusOther
}

// IsRetryable reports whether err is a busy or locked database error.
func IsRetryable(err error) bool { return StatusOf(err).Retryable() }

func init() { sql.Register(DriverName, drv{}) }

type drv struct{}

func (drv) Open(string) (driver.Conn, error) {
	return &conn{out: make([]byte, initialOut)}, nil
}

// initialOut is the first size of the buffer host results are written to;
// it grows to the largest result seen.
const initialOut = 16 << 10

// conn is the guest's only connection. The host holds the real one.
type conn struct {
	out  []byte // host results land here
	args []byte // reused argument encoding
	inTx bool
}

var (
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
)

func bytesPtr(b []byte) unsafe.Pointer          { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer         { return unsafe.Pointer(unsafe.StringData(s)) }
func outArgs(b []byte) (unsafe.Pointer, uint32) { return bytesPtr(b), uint32(len(b)) }

// finish turns a host call's packed result into its payload or an *Error,
// fetching a payload that did not fit into c.out.
func (c *conn) finish(r uint64) ([]byte, error) {
	if !inHost {
		return nil, ErrNotInHost
	}
	st, n := abi.Unpack(r)
	if int(n) > len(c.out) {
		c.out = make([]byte, n)
		if got := hostFetch(bytesPtr(c.out), n); got != int32(n) {
			return nil, &Error{Status: abi.StatusInvalid, Message: fmt.Sprintf("fetch returned %d bytes, want %d", got, n)}
		}
	}
	payload := c.out[:n]
	if st != abi.StatusOK {
		return nil, &Error{Status: st, Message: string(payload)}
	}
	return payload, nil
}

// encodeArgs encodes args into c.args as abi.AppendArgs does, without
// gathering them into a []any first: every allocation is Go run in wasm.
func (c *conn) encodeArgs(args []driver.NamedValue) error {
	c.args = c.args[:0]
	if len(args) == 0 {
		return nil
	}
	c.args = binary.LittleEndian.AppendUint32(c.args, uint32(len(args)))
	for i, a := range args {
		if a.Name != "" {
			return fmt.Errorf("ffhost: named argument %q: only positional arguments are supported", a.Name)
		}
		var err error
		if c.args, err = abi.AppendValue(c.args, a.Value); err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return nil
}

func (c *conn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.encodeArgs(args); err != nil {
		return nil, err
	}
	out, n := outArgs(c.out)
	payload, err := c.finish(hostExec(stringPtr(query), uint32(len(query)), bytesPtr(c.args), uint32(len(c.args)), out, n))
	if err != nil {
		return nil, err
	}
	ra, id, err := abi.DecodeExecResult(payload)
	if err != nil {
		return nil, err
	}
	return result{ra, id}, nil
}

func (c *conn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.encodeArgs(args); err != nil {
		return nil, err
	}
	out, n := outArgs(c.out)
	payload, err := c.finish(hostQuery(stringPtr(query), uint32(len(query)), bytesPtr(c.args), uint32(len(c.args)), out, n))
	if err != nil {
		return nil, err
	}
	// The payload aliases c.out, which the next call overwrites; the rows
	// must own their bytes.
	r := &rows{}
	r.d.Reset(append([]byte(nil), payload...))
	if r.cols, r.left, err = abi.QueryHeader(&r.d); err != nil {
		return nil, err
	}
	return r, nil
}

// CheckNamedValue accepts what database/sql's default converter accepts and
// stores time.Time as RFC 3339 text with nanoseconds.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if t, ok := nv.Value.(time.Time); ok {
		nv.Value = t.Format(time.RFC3339Nano)
		return nil
	}
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
	out, n := outArgs(c.out)
	if _, err := c.finish(hostBegin(out, n)); err != nil {
		return nil, err
	}
	c.inTx = true
	return tx{c}, nil
}

type tx struct{ c *conn }

func (t tx) Commit() error {
	t.c.inTx = false
	out, n := outArgs(t.c.out)
	_, err := t.c.finish(hostCommit(out, n))
	return err
}

func (t tx) Rollback() error {
	t.c.inTx = false
	out, n := outArgs(t.c.out)
	_, err := t.c.finish(hostRollback(out, n))
	return err
}

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

type result struct{ rowsAffected, lastInsertID int64 }

func (r result) LastInsertId() (int64, error) { return r.lastInsertID, nil }
func (r result) RowsAffected() (int64, error) { return r.rowsAffected, nil }

// rows walks a query result the host sent whole.
type rows struct {
	d    abi.Decoder
	cols []string
	left int
}

func (r *rows) Columns() []string { return r.cols }
func (r *rows) Close() error      { r.left = 0; return nil }

func (r *rows) Next(dest []driver.Value) error {
	if r.left == 0 {
		return io.EOF
	}
	r.left--
	for i := range r.cols {
		v, err := r.d.Value()
		if err != nil {
			return fmt.Errorf("ffhost: decode row: %w", err)
		}
		dest[i] = v
	}
	return nil
}
