package host

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Synchronous values accepted in DBOptions.
const (
	// SyncNormal is the default: with WAL it never corrupts the database and
	// survives a crash of the process, but the last commits before a power
	// loss may be lost. A reset is ~56 µs instead of ~436 µs (DESIGN.md).
	SyncNormal = "NORMAL"
	// SyncFull fsyncs the WAL on every commit: nothing committed is lost on
	// power loss, at about eight times the cost per transaction.
	SyncFull = "FULL"
)

// DBOptions are the database settings shared by the host's connection and
// every plugin's connection.
type DBOptions struct {
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// BusyTimeout is how long a statement waits on another writer's lock
	// before it fails with busy. Default 5 s.
	BusyTimeout time.Duration
}

// DefaultBusyTimeout is DBOptions.BusyTimeout's default.
const DefaultBusyTimeout = 5 * time.Second

func (o DBOptions) withDefaults() (DBOptions, error) {
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
	return o, nil
}

// DB is the host's handle on the database file.
type DB struct {
	// SQL is the host's own pool: migrations, admin queries, harness checks.
	// Plugins never use it; each gets a connection of its own.
	SQL  *sql.DB
	path string
	opts DBOptions
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Options returns the settings the database was opened with.
func (db *DB) Options() DBOptions { return db.opts }

// Close closes the host's pool.
func (db *DB) Close() error { return db.SQL.Close() }

// ErrNotSQLite is wrapped by OpenDB when the file exists but is not a SQLite
// database.
var ErrNotSQLite = errors.New("not a SQLite database")

// OpenDB opens (creating if needed) the SQLite database at path in WAL mode
// and checks that it is usable. The file must be a path, not ":memory:":
// plugins reach the same database through connections of their own.
func OpenDB(ctx context.Context, path string, opts DBOptions) (*DB, error) {
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
	sqldb, err := sql.Open("sqlite", dsn(path, opts, false))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{SQL: sqldb, path: path, opts: opts}
	if err := db.check(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// check runs the first statements on a new pool: they fail at once on a
// file that is not SQLite, unreadable, or read-only.
func (db *DB) check(ctx context.Context) error {
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

// dsn builds the modernc.org/sqlite data source name. A plugin connection
// also gets defensive mode and trusted_schema off before its first statement.
func dsn(path string, o DBOptions, plugin bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	q.Add("_txlock", "immediate")
	if plugin {
		q.Add("_defensive", "1")
		q.Add("_pragma", "trusted_schema(OFF)")
	}
	return path + "?" + q.Encode()
}
