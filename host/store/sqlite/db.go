package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/internal/sqlsandbox"
)

// Synchronous values accepted in Options.
const (
	// SyncNormal is the default: with WAL it never corrupts the database and
	// survives a crash of the process, but the last commits before a power
	// loss may be lost. A budget reset costs ~56 µs instead of ~436 µs.
	SyncNormal = sqlsandbox.SyncNormal
	// SyncFull fsyncs the WAL on every commit: nothing committed is lost on
	// power loss, at about eight times the cost per transaction.
	SyncFull = sqlsandbox.SyncFull
)

// Options are the database settings shared by the host's connection and
// every plugin's connection.
type Options struct {
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// BusyTimeout is how long a statement waits on another writer's lock
	// before it fails with busy. Default 5 s.
	BusyTimeout time.Duration
	// MaxSizeBytes caps the database file (SQLite's max_page_count on every
	// connection): a write past it fails with "database or disk is full"
	// and its transaction rolls back. Zero means no cap beyond SQLite's.
	MaxSizeBytes int64
	// PluginHeapBytes caps the memory SQLite allocates for one plugin's
	// connection: its page cache, schema and prepared statements, and what
	// its statements build (sorts, temporary tables, aggregates, values),
	// which never spill to temporary files. A statement that needs more
	// fails with "out of memory". Default DefaultPluginHeapBytes.
	PluginHeapBytes int64
	// MigrationTimeout bounds each step of a plugin's migrations
	// (ApplyMigrations); a step that runs longer is rolled back. Default
	// DefaultMigrationTimeout.
	MigrationTimeout time.Duration
}

// DefaultMigrationTimeout is Options.MigrationTimeout's default.
const DefaultMigrationTimeout = sqlsandbox.DefaultMigrationTimeout

// DefaultBusyTimeout is Options.BusyTimeout's default.
const DefaultBusyTimeout = 5 * time.Second

// DefaultPluginHeapBytes is Options.PluginHeapBytes's default. The
// shipped reconcilers peak at 2.0 MiB (the page cache) over 200,000
// workers, and a full sort, GROUP BY or DISTINCT of those 200,000 rows at
// 7.5 to 8.6 MiB (BenchmarkSessionStatement reports the peak); 64 MiB
// leaves seven times that, and stops a runaway statement well before it
// hurts the host.
const DefaultPluginHeapBytes = 64 << 20

// minPluginHeapBytes is the least PluginHeapBytes: a connection's page
// cache (2 MiB), schema and statement cache need a few MiB.
const minPluginHeapBytes = 8 << 20

func (o Options) withDefaults() (Options, error) {
	if o.Synchronous == "" {
		o.Synchronous = SyncNormal
	}
	o.Synchronous = strings.ToUpper(o.Synchronous)
	if o.Synchronous != SyncNormal && o.Synchronous != SyncFull {
		return o, fmt.Errorf("synchronous %q: want NORMAL or FULL", o.Synchronous)
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.BusyTimeout < 0 {
		return o, fmt.Errorf("busy timeout %v is negative", o.BusyTimeout)
	}
	if o.MaxSizeBytes < 0 {
		return o, fmt.Errorf("max size %d bytes is negative", o.MaxSizeBytes)
	}
	if o.PluginHeapBytes == 0 {
		o.PluginHeapBytes = DefaultPluginHeapBytes
	}
	if o.PluginHeapBytes < minPluginHeapBytes {
		return o, fmt.Errorf("plugin heap %d bytes: want at least %d", o.PluginHeapBytes, minPluginHeapBytes)
	}
	return o, nil
}

// Store is the host's handle on a SQLite database file. It implements
// store.Store and store.ActiveLocker.
type Store struct {
	// SQL is the host's own pool: migrations, admin queries, harness checks.
	// Plugins never use it; each gets a connection of its own.
	SQL  *sql.DB
	path string
	opts Options
	file sqlsandbox.File // the settings every connection to the file shares
}

// Path returns the database file's path.
func (db *Store) Path() string { return db.path }

// Options returns the settings the database was opened with.
func (db *Store) Options() Options { return db.opts }

// Close closes the host's pool.
func (db *Store) Close() error { return db.SQL.Close() }

// ErrNotSQLite is wrapped by Open when the file exists but is not a SQLite
// database.
var ErrNotSQLite = errors.New("not a SQLite database")

// Open opens (creating if needed) the SQLite database at path in WAL mode
// and checks that it is usable. The file must be a path, not ":memory:":
// plugins reach the same database through connections of their own.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open database %q: need a file path", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open database %s: path may not contain '?' or '#'", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open database %s: is a directory", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open database %s: directory %s does not exist (create it first)", path, dir)
		} else if err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("open database %s: %s is not a directory", path, dir)
		}
	}
	db := &Store{path: path, opts: opts, file: sqlsandbox.File{Path: path, Synchronous: opts.Synchronous,
		BusyTimeout: opts.BusyTimeout, PluginHeapBytes: opts.PluginHeapBytes}}
	if err := db.open(ctx); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if opts.MaxSizeBytes > 0 {
		// max_page_count counts pages, whose size only the file knows:
		// reopen the pool with the cap in every connection's settings.
		var pageSize int64
		if err := db.SQL.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
			db.SQL.Close()
			return nil, fmt.Errorf("open database %s: read page size: %w", path, err)
		}
		db.SQL.Close()
		db.file.MaxPages = max(opts.MaxSizeBytes/pageSize, 1)
		if err := db.open(ctx); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	return db, nil
}

func (db *Store) open(ctx context.Context) error {
	sqldb, err := sql.Open("sqlite", db.file.HostDSN())
	if err != nil {
		return err
	}
	db.SQL = sqldb
	if err := db.check(ctx); err != nil {
		sqldb.Close()
		return err
	}
	return nil
}

// check runs the first statements on a new pool: they fail at once on a
// file that is not SQLite, unreadable, or read-only.
func (db *Store) check(ctx context.Context) error {
	var mode string
	if err := db.SQL.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		if strings.Contains(err.Error(), "file is not a database") {
			return ErrNotSQLite
		}
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %s, want wal (is the file read-only?)", mode)
	}
	return nil
}
