package sqlsandbox

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// testDB is a database file for the sandbox's tests: the settings plugin
// connections get, and a host pool to set up and check rows.
type testDB struct {
	File
	SQL *sql.DB
}

// Path returns the database file's path.
func (db *testDB) Path() string { return db.File.Path }

// testOptions are the database settings a test may change.
type testOptions struct {
	MaxSizeBytes int64 // caps the file as max_page_count does
}

// schemaSQL is the SQLite store's reconciler schema, read from its source
// so the tests never drift from it (the store imports this package, so
// this package's tests cannot import the store).
func schemaSQL(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "store", "sqlite", "schema.sql"))
	if err != nil {
		tb.Fatalf("read the reconciler schema: %v", err)
	}
	return string(b)
}

// mustDB creates a database file with the reconciler schema, closed when
// the test ends.
func mustDB(tb testing.TB, opts testOptions) *testDB {
	tb.Helper()
	db := &testDB{File: File{Path: filepath.Join(tb.TempDir(), "s.db"), Synchronous: SyncNormal,
		BusyTimeout: 5e9, PluginHeapBytes: 64 << 20}}
	pool, err := sql.Open("sqlite", db.HostDSN())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pool.Close() })
	if _, err := pool.Exec(schemaSQL(tb)); err != nil {
		tb.Fatalf("create the schema: %v", err)
	}
	if opts.MaxSizeBytes > 0 {
		var pageSize int64
		if err := pool.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
			tb.Fatal(err)
		}
		db.MaxPages = max(opts.MaxSizeBytes/pageSize, 1)
	}
	db.SQL = pool
	return db
}

// testLimits are the call and result limits a test session gets.
type testLimits struct{ MaxCallBytes, MaxResultBytes uint32 }

// DefaultLimits are the host's default call and result limits.
var DefaultLimits = testLimits{MaxCallBytes: 1 << 20, MaxResultBytes: 16 << 20}

// openSession opens a session on db for the plugin desc describes; hold
// makes it a dry run's.
func openSession(ctx context.Context, db *testDB, desc describe.Descriptor, lim testLimits, hold bool, denied func(store.Denial)) (*Session, error) {
	return Open(ctx, db.File, store.ConnSpec{Plugin: desc.Name, Reads: desc.Reads, Writes: desc.Writes,
		MaxCallBytes: lim.MaxCallBytes, MaxResultBytes: lim.MaxResultBytes, DryRun: hold, Denied: denied})
}
