// Package store is the seam between the plugin runtime and a database: the
// Store a daemon runs plugins against, and the sandboxed Conn each plugin
// gets. Its implementations are host/store/sqlite (one file, FlowFabric's
// SQLite schema) and host/store/postgres (FlowFabric's Postgres schema).
//
// It holds interfaces and the types they share, nothing else: it must not
// import an implementation, wazero, or the plugin runtime.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Dialect names the SQL a store speaks.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a database the host runs plugins against.
type Store interface {
	// Dialect is the SQL the store speaks.
	Dialect() Dialect
	// Location names the database in messages: a file path, or a DSN
	// without its password.
	Location() string
	// Migrate brings the host's schema up to date: idempotent, and
	// changing nothing a schema owner (FlowFabric) created.
	Migrate(ctx context.Context) error
	// SchemaVersion is the host schema version the database has, 0 before
	// the first Migrate.
	SchemaVersion(ctx context.Context) (int, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// OpenConn opens the sandboxed connection of one plugin.
	OpenConn(ctx context.Context, spec ConnSpec) (Conn, error)
	// RecordTick writes a finished tick to the tick ledger, a host-owned
	// table in the same database: one row per plugin and partition, which
	// keeps its last tick and its counts across restarts.
	RecordTick(ctx context.Context, t Tick) error
	// Ticks returns the ledger, sorted by plugin and partition.
	Ticks(ctx context.Context) ([]TickRecord, error)
	// Columns lists a table's columns in order, as RowChange's values are,
	// so that a diff can name them.
	Columns(ctx context.Context, table string) ([]Column, error)
	// Close closes the store's own connections. Conns are closed first.
	Close() error
}

// Tick is one finished tick, as RecordTick writes it.
type Tick struct {
	Plugin    string
	Partition int // 0 where plugins are not partitioned (SQLite)
	Start     time.Time
	End       time.Time
	Err       string // "" for a tick that succeeded
	Processed int64
	Errors    int64 // items that failed inside the tick
	Version   string
	SHA256    string
	Daemon    string // the daemon that ran it
	// Interval is the plugin's interval when it ticked, so that staleness
	// can be judged without a running daemon.
	Interval time.Duration
	// Changes counts the rows the tick changed, by table.
	Changes []TableChanges
}

// TickRecord is one ledger row: the last tick of a plugin and partition,
// and what the ledger has counted across its ticks.
type TickRecord struct {
	Tick
	// Since is when the ledger first recorded the plugin and partition.
	Since time.Time
	// LastSuccess is the end of the last tick that succeeded; zero if none
	// has.
	LastSuccess         time.Time
	ConsecutiveFailures int64
	Ticks, Failures     int64
}

// Stale reports whether a plugin that ticks every interval, and whose
// ledger row r is, has gone more than k intervals without a success at
// now: counted from its last success, or from its first tick if it never
// succeeded. A disabled plugin (interval 0) is never stale.
func (r TickRecord) Stale(now time.Time, interval time.Duration, k int) bool {
	if interval <= 0 {
		return false
	}
	since := r.Since
	if !r.LastSuccess.IsZero() {
		since = r.LastSuccess
	}
	return now.Sub(since) > time.Duration(k)*interval
}

// ActiveLocker is implemented by a store that allows one active daemon at a
// time (SQLite: one writer, one file).
type ActiveLocker interface {
	// WaitActive takes the store's active lock, waiting while another
	// daemon holds it: waiting is called once before the first wait, and
	// the lock is retried every poll until ctx ends. release gives it up.
	WaitActive(ctx context.Context, poll time.Duration, waiting func()) (release func() error, err error)
	// TryActive takes the lock without waiting; it fails wrapping
	// ErrActive (naming the holder) while another daemon holds it.
	TryActive() (release func() error, err error)
}

// Snapshotter is implemented by a store that can read tables as they stood
// at one moment while writers go on: the daemon pins the database before a
// tick, so that a tick that fails can be written down as a replay fixture
// with the rows it started from.
type Snapshotter interface {
	// Snapshot pins the database as it is now. It holds no write lock and
	// blocks no writer; reads through it see this moment until Close.
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Snapshot is a pinned, read-only view of the database.
type Snapshot interface {
	// Rows reads every row of table as of the snapshot, with the names of
	// its columns. It fails wrapping ErrTooBig once the values pass
	// maxBytes.
	Rows(ctx context.Context, table string, maxBytes int64) (columns []string, rows [][]any, err error)
	// Close releases the snapshot.
	Close() error
}

// ErrTooBig is wrapped by Snapshot.Rows when a table's rows pass the bound.
var ErrTooBig = errors.New("too big")

// ValueBytes is what a column value counts against a Snapshot.Rows bound:
// about its size written down as JSON.
func ValueBytes(v any) int64 {
	switch v := v.(type) {
	case string:
		return int64(len(v)) + 2
	case []byte:
		return int64(len(v))*4/3 + 12
	}
	return 8
}

// ErrActive is wrapped by ActiveLocker.TryActive while another daemon holds
// the store's active lock.
var ErrActive = errors.New("another daemon is active on this database")

// ConnSpec is what a store needs to open a plugin's connection.
type ConnSpec struct {
	// Plugin is the plugin's name, for errors and denials.
	Plugin string
	// Reads and Writes are the tables the plugin may read, and read and
	// write (its descriptor, capped by the operator's grant).
	Reads, Writes []string
	// MaxCallBytes caps the SQL text and arguments of one call, and
	// MaxResultBytes one query's encoded result; the store derives its own
	// per-value limits from them.
	MaxCallBytes, MaxResultBytes uint32
	// DryRun runs every tick inside one outer transaction that Close rolls
	// back; nothing the plugin does persists.
	DryRun bool
	// Denied, if set, is called for every statement the sandbox refuses.
	Denied func(Denial)
	// LockHeld, if set, is told how long each plugin transaction held the
	// database's write lock.
	LockHeld func(time.Duration)
	// Diff keeps the rows each tick changes (Changes.Rows), up to
	// MaxDiffRows a tick.
	Diff        bool
	MaxDiffRows int
}

// Denial is one statement a plugin's sandbox refused.
type Denial struct {
	Plugin string // the plugin's name
	Action string // what it tried, e.g. "insert", "pragma", "attach"
	Object string // the table, pragma or function it was for, if any
	Reason string // why, in a few words
}

func (d Denial) String() string {
	if d.Object == "" {
		return d.Action + ": " + d.Reason
	}
	return d.Action + " " + d.Object + ": " + d.Reason
}

// Conn is one plugin's sandboxed connection. The runtime calls Tick once
// per tick, and the plugin's host calls (Exec, Query, Begin, Commit,
// Rollback, Explain) only from inside Tick's fn; a Conn serves one tick at
// a time.
type Conn interface {
	// Tick prepares the connection for a tick at nowMS under ctx, the
	// tick's context, and runs fn. Then, under a context of its own
	// whatever ctx has become, it rolls back what the plugin left open.
	// It returns an error wrapping ErrLeftOpen if a transaction was left
	// open, ErrDryRunLost once a dry run can run nothing more, or the
	// error that kept it from preparing the tick, in which case fn did not
	// run.
	Tick(ctx context.Context, nowMS int64, fn func()) error
	// Exec runs one statement with wire-encoded args (abi.DecodeArgs) and
	// appends its wire exec result to buf.
	Exec(ctx context.Context, buf, sql, args []byte) ([]byte, error)
	// Query runs one statement and appends its wire-encoded rows to buf,
	// failing once the encoding passes limit bytes.
	Query(ctx context.Context, buf, sql, args []byte, limit uint32) ([]byte, error)
	// Begin, Commit and Rollback are the plugin's transaction calls, with
	// the ABI's semantics (abi/ABI.md, section 7).
	Begin(ctx context.Context) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	// Explain maps an error of the calls above to its ABI status and the
	// message the plugin sees; a denial is reported to ConnSpec.Denied.
	Explain(err error) (abi.Status, string)
	// Changes is what the last tick wrote, counted when it committed (or,
	// in a dry run, would have); a store that cannot tell returns none.
	Changes() Changes
	// Close rolls back a dry run and closes the connection. It is safe to
	// call more than once.
	Close(ctx context.Context) error
}

// Fence checks, inside a plugin's write transaction and just before it
// commits, that the tick may still write: that its cluster lease is still
// held at the epoch it ran under (host/cluster). db is the store's handle
// on the transaction (PostgreSQL: the plugin's *pgx.Conn). An error rolls
// the transaction back and fails its commit.
type Fence func(ctx context.Context, db any) error

// Fencer is implemented by a Conn whose writes can be fenced
// (PostgreSQL): every commit, and every statement run outside a
// transaction, passes the fence first.
type Fencer interface {
	// SetFence sets the fence of the ticks that follow; nil removes it.
	SetFence(f Fence)
}

// Changes is what one tick wrote.
type Changes struct {
	// Tables counts the rows inserted, updated and deleted, by table,
	// sorted by table.
	Tables []TableChanges
	// Rows are the changed rows themselves, in order, when ConnSpec.Diff is
	// set: at most ConnSpec.MaxDiffRows, the rest counted in Omitted.
	Rows    []RowChange
	Omitted int64
}

// TableChanges counts one table's changed rows.
type TableChanges struct {
	Table    string `json:"table"`
	Inserted int64  `json:"inserted"`
	Updated  int64  `json:"updated"`
	Deleted  int64  `json:"deleted"`
}

// Add adds b's counts to a's, table by table, keeping them sorted.
func Add(a, b []TableChanges) []TableChanges {
	out := slices.Clone(a)
	for _, tc := range b {
		i, found := slices.BinarySearchFunc(out, tc.Table, func(x TableChanges, t string) int { return strings.Compare(x.Table, t) })
		if !found {
			out = slices.Insert(out, i, TableChanges{Table: tc.Table})
		}
		out[i].Inserted += tc.Inserted
		out[i].Updated += tc.Updated
		out[i].Deleted += tc.Deleted
	}
	return out
}

// Column is one column of a table, as Store.Columns lists it.
type Column struct {
	Name string
	Key  bool // part of the primary key
}

// Row change operations.
const (
	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// RowChange is one changed row: its table, the operation, and its column
// values before (update, delete) and after (insert, update), in the
// table's column order.
type RowChange struct {
	Table    string
	Op       string
	Old, New []any
}

// ErrLeftOpen is wrapped by Conn.Tick when a tick ended with its
// transaction open; the store rolled it back.
var ErrLeftOpen = errors.New("transaction left open; rolled back")

// ErrDryRunLost is wrapped by every tick, and every statement, of a dry run
// after the database ended the dry run's outer transaction on its own:
// the changes of earlier ticks are gone and nothing more may run, since it
// would persist.
var ErrDryRunLost = errors.New("the dry run's transaction was rolled back by the database; the dry run runs nothing more")

// PluginMigrator is implemented by a store that applies plugins'
// migrations to the tables they own (abi/ABI.md, section 3.1), recorded in
// a host-owned ledger.
type PluginMigrator interface {
	// PendingMigrations returns the steps of s the database has not had,
	// in order, changing nothing. It fails with a *ChecksumError if an
	// applied step has changed, a *MissingMigrationError if the database
	// has applied a step s lacks, and an *OwnerError if another plugin
	// owns one of s's tables.
	PendingMigrations(ctx context.Context, s PluginSchema) ([]PluginMigration, error)
	// ApplyMigrations applies the pending steps of s, each in a
	// transaction of its own, and returns those it applied; it records s's
	// plugin as the owner of its tables if none is yet. It fails as
	// PendingMigrations does, changing nothing then, or naming the step
	// that failed, after which the steps before it stay applied.
	ApplyMigrations(ctx context.Context, s PluginSchema) ([]PluginMigration, error)
	// AppliedMigrations returns the ledger: every plugin's applied steps,
	// by plugin and id.
	AppliedMigrations(ctx context.Context) ([]AppliedMigration, error)
}

// PluginSchema is one plugin's owned tables and migrations, in the store's
// dialect.
type PluginSchema struct {
	Plugin string
	// Owns are the tables the plugin owns; Declared the other tables it
	// declares, which a step may read.
	Owns, Declared []string
	Migrations     []PluginMigration
}

// PluginMigration is one step of a plugin's migrations.
type PluginMigration struct {
	ID   int64
	Name string
	SQL  string
}

// AppliedMigration is one ledger row: a step applied to the database.
type AppliedMigration struct {
	Plugin    string    `json:"plugin"`
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Checksum  string    `json:"checksum"` // hex SHA-256 of the step's SQL
	AppliedAt time.Time `json:"applied_at"`
}

// MigrationChecksum is a step's checksum as the ledger records it: the hex
// SHA-256 of its SQL.
func MigrationChecksum(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(sum[:])
}

// ChecksumError refuses a plugin whose applied migration has changed.
type ChecksumError struct {
	Plugin       string
	ID           int64
	Name         string
	Applied, Now string // checksums: recorded, and of the step the plugin declares now
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %s: migration %d (%s) was applied with checksum %s but the plugin now declares checksum %s; an applied migration must never change, add a new one instead",
		e.Plugin, e.ID, e.Name, e.Applied, e.Now)
}

// MissingMigrationError refuses a plugin that declares fewer migrations
// than the database has applied for it: most likely an older version.
type MissingMigrationError struct {
	Plugin string
	ID     int64
	Name   string
}

func (e *MissingMigrationError) Error() string {
	return fmt.Sprintf("plugin %s: the database has migration %d (%s) applied, which the plugin does not declare (an older version of the plugin?)", e.Plugin, e.ID, e.Name)
}

// OwnerError refuses a plugin that claims a table another plugin owns.
type OwnerError struct {
	Table, Owner, Plugin string
}

func (e *OwnerError) Error() string {
	return fmt.Sprintf("plugin %s: table %s is owned by plugin %s; a table has one owner (to hand it over, delete its row from ffwasmhost_owned_tables)", e.Plugin, e.Table, e.Owner)
}
