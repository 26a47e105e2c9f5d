// Package postgres is the host's store on PostgreSQL: it opens a pool on
// the database, creates FlowFabric's reconciler tables where they are
// missing (and checks them where FlowFabric created them), creates the
// host's own tables (prefixed ffwasmhost_), and computes FlowFabric's
// partition keys.
//
// The reconciler tables are those of FlowFabric's Postgres backend:
// ff_budget_policy, ff_budget_usage, ff_worker_registry and
// ff_worker_registry_event, each PARTITION BY HASH (partition_key) with
// 256 children, partition_key smallint and first in every primary key,
// bigint for times and counters, jsonb policy_json and text[] lanes. The
// host's tables are ffwasmhost_migrations (which host migrations ran),
// ffwasmhost_member and ffwasmhost_lease (how daemons split the
// (plugin, partition) pairs; see host/cluster), and the function
// ffwasmhost_fence. docs/postgres.md has the whole layout.
//
// It implements host/store's interfaces; it must not import the plugin
// runtime, wazero, or another store.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/host/internal/pgsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Store is the host's handle on a PostgreSQL database.
type Store struct {
	pool  *pgxpool.Pool
	dsn   string
	where string // "database D on HOST:PORT", for messages
	opts  Options
	roles pgsandbox.Roles
}

// Options configure a Store. The zero value is the default.
type Options struct {
	// RolePrefix is the prefix of the plugins' role names (default
	// ffwasmhost_plugin_). Roles are global to a PostgreSQL cluster: two
	// deployments on one cluster need two prefixes.
	RolePrefix string
	// LockTimeout is how long a plugin's statement waits for a row lock
	// before it fails busy. Default pgsandbox.DefaultLockTimeout.
	LockTimeout time.Duration
	// IdleInTransactionTimeout, if positive, ends a plugin's connection
	// that sits idle inside a transaction for longer (a paused daemon),
	// releasing its row locks. Keep it below the lease TTL.
	IdleInTransactionTimeout time.Duration
}

// IsURL reports whether s names a PostgreSQL database: a postgres:// or
// postgresql:// URL, which Open takes.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open opens a pool on the database at dsn, a postgres:// or
// postgresql:// URL, and checks that it answers. An error names the host
// and the database on one line.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if !IsURL(dsn) {
		return nil, errors.New("open postgres database: want a postgres:// or postgresql:// URL")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres database: %w", oneLine(err))
	}
	s := &Store{dsn: dsn, where: Where(cfg.ConnConfig.Config), opts: opts,
		roles: pgsandbox.Roles{Prefix: opts.RolePrefix}}
	if _, err := s.roles.Name("p"); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", s.where, err)
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", s.where, oneLine(err))
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", s.where, connectCause(err))
	}
	return s, nil
}

// Where describes the database cfg connects to as "database D on
// HOST:PORT" (the socket directory for a Unix socket).
func Where(cfg pgconn.Config) string {
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	return fmt.Sprintf("database %s on %s", cfg.Database, host)
}

// connectCause strips pgx's own description of the attempt ("failed to
// connect to `user=... database=...`"), which the caller's message says
// better, and keeps the cause on one line.
func connectCause(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		if inner := ce.Unwrap(); inner != nil {
			return oneLine(inner)
		}
	}
	return oneLine(err)
}

// oneLine keeps err's chain but folds a multi-line message onto one line.
func oneLine(err error) error {
	if !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return &folded{err}
}

type folded struct{ err error }

func (f *folded) Error() string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", "; ").Replace(f.err.Error())), " ")
}
func (f *folded) Unwrap() error { return f.err }

// Pool returns the store's pool, for the host's own statements: migrations,
// leases, admin queries. Plugins never use it; each has a session of its
// own, connected as its own role.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DSN returns the URL the store was opened with, password included: the
// base of the plugins' own connection URLs. Never log it; String is the
// printable form.
func (s *Store) DSN() string { return s.dsn }

// String describes the database as "database D on HOST:PORT".
func (s *Store) String() string { return s.where }

// Dialect returns store.Postgres.
func (s *Store) Dialect() store.Dialect { return store.Postgres }

// Location names the database in messages: its URL without the password.
func (s *Store) Location() string { return withoutPassword(s.dsn) }

// withoutPassword returns the URL dsn with its password removed.
func withoutPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres %s: %w", s.where, oneLine(err))
	}
	return nil
}

// Close closes the pool. Plugin connections are closed first, by their
// runners.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
