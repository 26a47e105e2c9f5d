package guest

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// ErrNotInHost is returned by every database call made outside a wasm
// instance run by ffwasmhost.
var ErrNotInHost = errors.New("ffhost: not running inside ffwasmhost")

// ErrNoRows is returned by Row.Scan when the query returned no row.
var ErrNoRows = errors.New("ffhost: no rows in result set")

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

// Conn is the plugin's connection to the host's database: every statement
// is one host call with the SQL text and its arguments read in place (see
// ../ABI.md); the host keeps the prepared statement. Arguments may be nil,
// any integer type, bool, float64, string or []byte. A Conn runs one
// statement at a time and is not safe for concurrent use.
type Conn struct {
	out  []byte // host results land here
	args []byte // reused argument encoding
	inTx bool
}

// initialOut is the first size of the buffer host results are written to;
// it grows to the largest result seen.
const initialOut = 16 << 10

// NewConn returns a connection to the host's database. Plugins get theirs
// as Tick's argument; there is one host connection per instance, whatever
// the number of Conns.
func NewConn() *Conn { return &Conn{out: make([]byte, initialOut)} }

// Result is what an Exec did.
type Result struct {
	RowsAffected int64
	LastInsertID int64
}

func bytesPtr(b []byte) unsafe.Pointer          { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer         { return unsafe.Pointer(unsafe.StringData(s)) }
func outArgs(b []byte) (unsafe.Pointer, uint32) { return bytesPtr(b), uint32(len(b)) }

// finish turns a host call's packed result into its payload or an *Error,
// fetching a payload that did not fit into c.out. The payload aliases c.out
// until the next call.
func (c *Conn) finish(r uint64) ([]byte, error) {
	if !inHost {
		return nil, ErrNotInHost
	}
	st, n := abi.Unpack(r)
	if int(n) > len(c.out) {
		c.out = make([]byte, n)
		if got := hostFetch(bytesPtr(c.out), n); got != int32(n) {
			return nil, &Error{Status: abi.StatusInvalid, Message: "fetch returned " + strconv.Itoa(int(got)) + " bytes, want " + strconv.Itoa(int(n))}
		}
	}
	payload := c.out[:n]
	if st != abi.StatusOK {
		return nil, &Error{Status: st, Message: string(payload)}
	}
	return payload, nil
}

// encodeArgs encodes args into c.args as abi.AppendArgs does.
func (c *Conn) encodeArgs(args []any) error {
	c.args = c.args[:0]
	if len(args) == 0 {
		return nil
	}
	c.args = binary.LittleEndian.AppendUint32(c.args, uint32(len(args)))
	for i, a := range args {
		var err error
		if c.args, err = abi.AppendValue(c.args, a); err != nil {
			return errors.New("ffhost: argument " + strconv.Itoa(i+1) + ": " + err.Error())
		}
	}
	return nil
}

// Exec runs a statement that returns no rows.
func (c *Conn) Exec(query string, args ...any) (Result, error) {
	if err := c.encodeArgs(args); err != nil {
		return Result{}, err
	}
	out, n := outArgs(c.out)
	payload, err := c.finish(hostExec(stringPtr(query), uint32(len(query)), bytesPtr(c.args), uint32(len(c.args)), out, n))
	if err != nil {
		return Result{}, err
	}
	ra, id, err := abi.DecodeExecResult(payload)
	return Result{ra, id}, err
}

// query runs a statement that returns rows and returns the encoded
// result, which aliases c.out until the next call.
func (c *Conn) query(query string, args []any) ([]byte, error) {
	if err := c.encodeArgs(args); err != nil {
		return nil, err
	}
	out, n := outArgs(c.out)
	return c.finish(hostQuery(stringPtr(query), uint32(len(query)), bytesPtr(c.args), uint32(len(c.args)), out, n))
}

// Query runs a statement that returns rows. The host sends the whole
// result at once, within the plugin's output limit; the Rows own their
// bytes, so other statements may run while they are open.
func (c *Conn) Query(query string, args ...any) (*Rows, error) {
	payload, err := c.query(query, args)
	if err != nil {
		return nil, err
	}
	r := &Rows{}
	r.d.Reset(append([]byte(nil), payload...))
	if r.cols, r.left, err = abi.QueryHeader(&r.d); err != nil {
		return nil, err
	}
	r.vals = make([]any, len(r.cols))
	return r, nil
}

// QueryRow runs a query and keeps its first row; Row.Scan reports the
// query's error, or ErrNoRows. The row is decoded at once, so other
// statements may run before Scan.
func (c *Conn) QueryRow(query string, args ...any) *Row {
	r := &Row{}
	payload, err := c.query(query, args)
	if err != nil {
		r.err = err
		return r
	}
	var d abi.Decoder
	d.Reset(payload)
	cols, rows, err := abi.QueryShape(&d)
	if err != nil || rows == 0 {
		r.err = err
		return r
	}
	r.vals = r.small[:0]
	if cols > len(r.small) {
		r.vals = make([]any, 0, cols)
	}
	for range cols {
		v, err := d.Value()
		if err != nil {
			r.err = errors.New("ffhost: decode row: " + err.Error())
			return r
		}
		r.vals = append(r.vals, v)
	}
	return r
}

// Begin starts a BEGIN IMMEDIATE transaction: it takes the write lock, or
// fails busy. WithTx is the usual way to run one.
func (c *Conn) Begin() error {
	out, n := outArgs(c.out)
	if _, err := c.finish(hostBegin(out, n)); err != nil {
		return err
	}
	c.inTx = true
	return nil
}

// Commit commits the transaction Begin started. If it fails, the
// transaction is still open (ABI.md, section 7): retry the commit or roll
// back. WithTx rolls back.
func (c *Conn) Commit() error {
	out, n := outArgs(c.out)
	if _, err := c.finish(hostCommit(out, n)); err != nil {
		return err
	}
	c.inTx = false
	return nil
}

// Rollback rolls back the transaction Begin started. The transaction is
// closed even if the call fails.
func (c *Conn) Rollback() error {
	c.inTx = false
	out, n := outArgs(c.out)
	_, err := c.finish(hostRollback(out, n))
	return err
}

// InTx reports whether a transaction begun on c is open.
func (c *Conn) InTx() bool { return c.inTx }

// Rows is a query's result, walked with Next and Scan.
type Rows struct {
	d    abi.Decoder
	cols []string
	vals []any
	left int
	err  error
}

// Columns returns the result's column names.
func (r *Rows) Columns() []string { return r.cols }

// Next decodes the next row and reports whether there was one.
func (r *Rows) Next() bool {
	if r.left == 0 || r.err != nil {
		return false
	}
	r.left--
	for i := range r.vals {
		v, err := r.d.Value()
		if err != nil {
			r.err = errors.New("ffhost: decode row: " + err.Error())
			return false
		}
		r.vals[i] = v
	}
	return true
}

// Scan copies the current row's columns into dest, one pointer per column
// (see Scan for the types).
func (r *Rows) Scan(dest ...any) error { return scanRow(r.vals, r.cols, dest) }

// scanRow scans vals into dest; cols, if not nil, names the columns in
// errors.
func scanRow(vals []any, cols []string, dest []any) error {
	if len(dest) != len(vals) {
		return errors.New("ffhost: Scan: " + strconv.Itoa(len(dest)) + " destinations for " + strconv.Itoa(len(vals)) + " columns")
	}
	for i, d := range dest {
		if err := Scan(vals[i], d); err != nil {
			col := "ffhost: Scan column " + strconv.Itoa(i+1)
			if cols != nil {
				col += " (" + cols[i] + ")"
			}
			return errors.New(col + ": " + err.Error())
		}
	}
	return nil
}

// Err returns the error that stopped Next, if any.
func (r *Rows) Err() error { return r.err }

// Close discards the rows not read yet.
func (r *Rows) Close() error { r.left = 0; return nil }

// Row is QueryRow's result.
type Row struct {
	err   error
	vals  []any // nil: no row
	small [4]any
}

// Scan copies the row's columns into dest, one pointer per column (see
// Scan for the types), or returns the query's error or ErrNoRows.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if r.vals == nil {
		return ErrNoRows
	}
	return scanRow(r.vals, nil, dest)
}

// NullInt64 is an INTEGER column that may be NULL.
type NullInt64 struct {
	Int64 int64
	Valid bool // false: NULL
}

// NullString is a TEXT column that may be NULL.
type NullString struct {
	String string
	Valid  bool // false: NULL
}

// NullFloat64 is a REAL column that may be NULL.
type NullFloat64 struct {
	Float64 float64
	Valid   bool // false: NULL
}

// Scan stores the column value v (nil, int64, float64, string or []byte,
// as the host sends them) into dest, which is one of *int64, *int, *bool,
// *float64, *string, *[]byte (a copy; nil for NULL), *any, *NullInt64,
// *NullString or *NullFloat64. NULL into a type that cannot hold it, and a
// value that does not fit, are errors, as with database/sql.
func Scan(v any, dest any) error {
	switch d := dest.(type) {
	case *any:
		*d = v
		return nil
	case *[]byte:
		switch x := v.(type) {
		case nil:
			*d = nil
		case []byte:
			*d = append([]byte(nil), x...)
		case string:
			*d = []byte(x)
		default:
			return errors.New("cannot store " + kind(v) + " in *[]byte")
		}
		return nil
	case *NullInt64:
		d.Valid = v != nil
		if v == nil {
			d.Int64 = 0
			return nil
		}
		return Scan(v, &d.Int64)
	case *NullString:
		d.Valid = v != nil
		if v == nil {
			d.String = ""
			return nil
		}
		return Scan(v, &d.String)
	case *NullFloat64:
		d.Valid = v != nil
		if v == nil {
			d.Float64 = 0
			return nil
		}
		return Scan(v, &d.Float64)
	}
	if v == nil {
		return errors.New("cannot store NULL in " + destName(dest) + "; use a Null type or *any")
	}
	switch d := dest.(type) {
	case *int64:
		n, err := toInt(v)
		*d = n
		return err
	case *int:
		n, err := toInt(v)
		if err == nil && int64(int(n)) != n {
			err = errors.New(strconv.FormatInt(n, 10) + " overflows int")
		}
		*d = int(n)
		return err
	case *bool:
		n, err := toInt(v)
		*d = n != 0
		return err
	case *float64:
		switch x := v.(type) {
		case float64:
			*d = x
		case int64:
			*d = float64(x)
		default:
			f, err := strconv.ParseFloat(textOf(v), 64)
			if err != nil {
				return errors.New("cannot store " + kind(v) + " " + strconv.Quote(textOf(v)) + " in *float64")
			}
			*d = f
		}
		return nil
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
		case []byte:
			*d = string(x)
		case int64:
			*d = strconv.FormatInt(x, 10)
		case float64:
			*d = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return nil
	}
	return errors.New("unsupported destination " + destName(dest))
}

// toInt converts an INTEGER, or text holding an integer, as database/sql
// does; a REAL is refused rather than truncated.
func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string, []byte:
		n, err := strconv.ParseInt(textOf(v), 10, 64)
		if err != nil {
			return 0, errors.New("cannot store " + kind(v) + " " + strconv.Quote(textOf(v)) + " in an integer")
		}
		return n, nil
	}
	return 0, errors.New("cannot store " + kind(v) + " in an integer")
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// kind names a column value's SQLite storage class.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "INTEGER"
	case float64:
		return "REAL"
	case string:
		return "TEXT"
	case []byte:
		return "BLOB"
	}
	return "unknown value"
}

func destName(dest any) string {
	switch dest.(type) {
	case *int64:
		return "*int64"
	case *int:
		return "*int"
	case *bool:
		return "*bool"
	case *float64:
		return "*float64"
	case *string:
		return "*string"
	}
	return "this type (want *int64, *int, *bool, *float64, *string, *[]byte, *any or a Null type)"
}
