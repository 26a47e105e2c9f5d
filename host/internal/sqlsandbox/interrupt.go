package sqlsandbox

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// A tick's deadline interrupts the plugin's statements through one watcher
// per tick rather than the driver's per-statement context handling, which
// costs a goroutine per statement and a progress callback every 1,000
// SQLite VM steps, and which watches a query only until its first row.
//
// modernc.org/sqlite does not export sqlite3_interrupt on a connection nor
// the connection's sqlite3 handle. SQLite's own sqlite3_auto_extension,
// which modernc.org/sqlite/lib exports, hands every new connection's handle
// to a function of ours, called with the *libc.TLS the driver runs all of
// that connection's calls with: it gives the connection an SQL function
// that returns an id under which the handle and the TLS's id are kept.
// openSession calls it once on its new connection, takes them and drops
// the function again.

// connIDFunc is the SQL function that names a connection's handle.
const connIDFunc = "ffwasmhost_conn_id"

var (
	connHandles sync.Map // id (int64) -> connHandle of an open connection
	connIDs     atomic.Int64

	connIDsOnce sync.Once
	connIDsErr  error
	connIDName  uintptr // connIDFunc as a C string, never freed
)

// installConnIDs registers connOpened as an auto extension, once per
// process: from then on every connection SQLite opens gets the function.
func installConnIDs() error {
	connIDsOnce.Do(func() {
		name, err := libc.CString(connIDFunc)
		if err != nil {
			connIDsErr = err
			return
		}
		connIDName = name
		tls := libc.NewTLS()
		defer tls.Close()
		if rc := sqlite3.Xsqlite3_auto_extension(tls, cFunc(connOpened)); rc != sqlite3.SQLITE_OK {
			connIDsErr = fmt.Errorf("sqlite3_auto_extension: code %d", rc)
		}
	})
	return connIDsErr
}

// connOpened is the auto extension: SQLite calls it for every connection
// it opens, before the driver runs anything on it. It never fails the open.
func connOpened(tls *libc.TLS, db, _, _ uintptr) int32 {
	id := connIDs.Add(1)
	connHandles.Store(id, connHandle{db: db, tlsID: tls.ID})
	// If this fails, SQLite calls connClosed at once; the session then
	// finds no handle and does not open.
	sqlite3.Xsqlite3_create_function_v2(tls, db, connIDName, 0, sqlite3.SQLITE_UTF8|sqlite3.SQLITE_DIRECTONLY,
		uintptr(id), cFunc(connIDValue), 0, 0, cFunc(connClosed))
	return sqlite3.SQLITE_OK
}

// connIDValue implements connIDFunc(): the id given to the function's
// connection.
func connIDValue(tls *libc.TLS, ctx uintptr, _ int32, _ uintptr) {
	sqlite3.Xsqlite3_result_int64(tls, ctx, int64(sqlite3.Xsqlite3_user_data(tls, ctx)))
}

// connClosed is connIDFunc's destructor, called when its connection closes
// or the function is dropped: the handle is forgotten.
func connClosed(_ *libc.TLS, id uintptr) {
	connHandles.Delete(int64(id))
}

// cFunc is a Go function's address as SQLite, translated to Go by ccgo,
// calls it: a pointer to the func value (https://golang.org/s/go11func),
// which for a function declared at top level is static. modernc.org/sqlite
// passes its own callbacks the same way.
func cFunc[T any](f T) uintptr {
	return *(*uintptr)(unsafe.Pointer(&struct{ f T }{f}))
}

// connHandle is what the auto extension learnt of a connection.
type connHandle struct {
	db    uintptr // the sqlite3 handle
	tlsID int32   // the id of the TLS the driver calls SQLite with
}

// findHandle finds conn's sqlite3 handle and drops connIDFunc from the
// connection, so that the plugin cannot call it. It must run before the
// authorizer is installed and before any other statement is prepared.
func findHandle(ctx context.Context, conn *sql.Conn) (connHandle, error) {
	if err := installConnIDs(); err != nil {
		return connHandle{}, err
	}
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT "+connIDFunc+"()").Scan(&id); err != nil {
		// No function: the connection was opened before installConnIDs
		// could register it, or it failed on this connection.
		return connHandle{}, fmt.Errorf("call %s: %w", connIDFunc, err)
	}
	v, ok := connHandles.LoadAndDelete(id)
	if !ok {
		return connHandle{}, fmt.Errorf("connection %d has no handle", id)
	}
	h := v.(connHandle)
	err := conn.Raw(func(any) error {
		// The connection is ours alone inside Raw and runs no statement.
		tls := libc.NewTLS()
		defer tls.Close()
		if rc := sqlite3.Xsqlite3_create_function_v2(tls, h.db, connIDName, 0, sqlite3.SQLITE_UTF8, 0, 0, 0, 0, 0); rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("drop %s: code %d", connIDFunc, rc)
		}
		return nil
	})
	if err != nil {
		return connHandle{}, err
	}
	return h, nil
}

// reinterruptEvery is how often a watcher repeats its interrupt while it is
// armed: SQLite forgets an interrupt that arrives between statements when
// the next one starts, and one may start just after the deadline.
const reinterruptEvery = 5 * time.Millisecond

// interrupter delivers sqlite3_interrupt to one plugin connection.
type interrupter struct {
	mu sync.Mutex
	db uintptr // the connection's sqlite3 handle; 0 once it is closing
}

// arm interrupts the connection once ctx is done, and again every
// reinterruptEvery, until disarm is called. After disarm returns, no
// interrupt of this arming reaches the connection; one already delivered
// is forgotten by SQLite when the next statement starts, as the session
// never leaves a statement running between calls.
func (in *interrupter) arm(ctx context.Context) (disarm func()) {
	w := &watcher{in: in}
	stop := context.AfterFunc(ctx, w.fire)
	return func() {
		stop()
		in.mu.Lock()
		w.off = true
		if w.again != nil {
			w.again.Stop()
		}
		in.mu.Unlock()
	}
}

// close stops all interrupts for good; the caller disarms first and closes
// the connection after.
func (in *interrupter) close() {
	in.mu.Lock()
	in.db = 0
	in.mu.Unlock()
}

// watcher is one arming of an interrupter.
type watcher struct {
	in    *interrupter
	off   bool        // disarmed; guarded by in.mu
	again *time.Timer // the next repeat; guarded by in.mu
}

func (w *watcher) fire() {
	in := w.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if w.off || in.db == 0 {
		return
	}
	// A TLS of its own: the connection's may be in use by the statement
	// being interrupted.
	tls := libc.NewTLS()
	sqlite3.Xsqlite3_interrupt(tls, in.db)
	tls.Close()
	w.again = time.AfterFunc(reinterruptEvery, w.fire)
}
