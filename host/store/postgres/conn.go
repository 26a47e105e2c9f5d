package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/internal/pgsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// ErrDryRun is returned by OpenConn for a dry run: a PostgreSQL session
// cannot yet hold every tick inside one outer transaction.
var ErrDryRun = errors.New("dry runs are not supported on postgres; run the tick on a copy of the database")

// EnsureRole creates or updates plugin's login role and its grants on the
// tables it reads and writes (docs/postgres.md, "Roles"). It fails wrapping
// pgsandbox.ErrInsufficientPrivilege, changing nothing, when the store's
// own role may not: RoleSQL is then what an operator runs instead.
func (s *Store) EnsureRole(ctx context.Context, plugin string, reads, writes []string) error {
	return s.roles.Ensure(ctx, s.pool, plugin, reads, writes)
}

// RoleReady reports whether plugin's role exists and holds every privilege
// its tables need: after an operator ran RoleSQL, say. It does not check
// what else the role may do; the plugin's session refuses a role unfit to
// be a sandbox when it opens.
func (s *Store) RoleReady(ctx context.Context, plugin string, reads, writes []string) (bool, error) {
	role, err := s.roles.Name(plugin)
	if err != nil {
		return false, err
	}
	var ok bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
  AND coalesce((SELECT bool_and(has_table_privilege($1, format('%I.%I', current_schema(), t), 'SELECT'))
       FROM unnest($2::text[]) t), true)
  AND coalesce((SELECT bool_and(has_table_privilege($1, format('%I.%I', current_schema(), t), 'SELECT, INSERT, UPDATE, DELETE'))
       FROM unnest($3::text[]) t), true)`, role, lower(reads), lower(writes)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check role %s: %w", role, oneLine(err))
	}
	return ok, nil
}

// lower lowercases table names as PostgreSQL folds unquoted ones.
func lower(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.ToLower(t)
	}
	return out
}

// ErrInsufficientPrivilege is wrapped by EnsureRole (and OpenConn) when the
// store's role may not create the plugin's role or grant on its tables.
var ErrInsufficientPrivilege = pgsandbox.ErrInsufficientPrivilege

// RoleSQL returns the idempotent SQL that creates or updates plugin's
// role and grants, for an operator to run.
func (s *Store) RoleSQL(plugin string, reads, writes []string) (string, error) {
	return s.roles.SQL(plugin, reads, writes)
}

// RoleName returns the name of plugin's role.
func (s *Store) RoleName(plugin string) (string, error) { return s.roles.Name(plugin) }

// pluginDSN is the store's URL logging in as role, without a password: the
// server authenticates plugin roles by pg_hba.conf or .pgpass.
func (s *Store) pluginDSN(role string) (string, error) {
	u, err := url.Parse(s.dsn)
	if err != nil {
		return "", fmt.Errorf("parse the database URL: %w", err)
	}
	u.User = url.User(role)
	q := u.Query()
	if q.Has("user") || q.Has("password") {
		q.Del("user")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// OpenConn makes sure the plugin's role exists with the grants spec asks
// (EnsureRole), then opens the plugin's session, logged in as that role.
// Where the store may not create roles, a role an operator created is used
// as it is. A dry run is refused (ErrDryRun).
func (s *Store) OpenConn(ctx context.Context, spec store.ConnSpec) (store.Conn, error) {
	if spec.DryRun {
		return nil, fmt.Errorf("plugin %s: %w", spec.Plugin, ErrDryRun)
	}
	role, err := s.roles.Name(spec.Plugin)
	if err != nil {
		return nil, err
	}
	ensureErr := s.EnsureRole(ctx, spec.Plugin, spec.Reads, spec.Writes)
	if ensureErr != nil && !errors.Is(ensureErr, ErrInsufficientPrivilege) {
		return nil, fmt.Errorf("plugin %s: %w", spec.Plugin, oneLine(ensureErr))
	}
	dsn, err := s.pluginDSN(role)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", spec.Plugin, err)
	}
	opts := pgsandbox.Options{
		Plugin:                   spec.Plugin,
		Role:                     role,
		Isolation:                pgx.Serializable,
		LockTimeout:              s.opts.LockTimeout,
		IdleInTransactionTimeout: s.opts.IdleInTransactionTimeout,
	}
	if spec.MaxResultBytes > 0 {
		// One row fits in a result; a larger message is refused unread.
		opts.MaxMessageBytes = int(spec.MaxResultBytes) + 1<<20
	}
	if spec.Denied != nil {
		opts.OnDenied = func(d pgsandbox.Denial) {
			spec.Denied(store.Denial{Plugin: d.Plugin, Action: d.Action, Object: d.Object, Reason: d.Reason})
		}
	}
	sess, err := pgsandbox.Open(ctx, dsn, opts)
	if err != nil {
		if ensureErr != nil {
			return nil, fmt.Errorf("plugin %s: %w (and: %w; have an operator run the SQL of: ffwasmhost migrate --print-roles)",
				spec.Plugin, oneLine(err), ensureErr)
		}
		return nil, fmt.Errorf("plugin %s: %w", spec.Plugin, oneLine(err))
	}
	return &conn{Session: sess}, nil
}

// conn is a plugin's store.Conn on PostgreSQL: its pgsandbox session.
// Every plugin transaction runs SERIALIZABLE, which budget_reset's reset
// needs and every other plugin can afford (a serialization failure is
// busy, and the SDK retries the transaction); a statement outside a
// transaction runs on its own, READ COMMITTED.
type conn struct {
	*pgsandbox.Session
}

// Tick runs fn, then rolls back what the plugin left open and resets the
// session (pgsandbox.Session.EndTick).
func (c *conn) Tick(ctx context.Context, _ int64, fn func()) error {
	fn()
	leftOpen, err := c.EndTick(ctx)
	if leftOpen {
		err = errors.Join(store.ErrLeftOpen, err)
	}
	return err
}

// SetFence makes every later commit, and every statement outside a
// transaction, pass f on the plugin's connection first (nil: no fence).
func (c *conn) SetFence(f store.Fence) {
	if f == nil {
		c.Session.SetFence(nil)
		return
	}
	c.Session.SetFence(func(ctx context.Context, pc *pgx.Conn) error { return f(ctx, pc) })
}

// Explain maps an error of the session's calls to its ABI status and
// message.
func (c *conn) Explain(err error) (abi.Status, string) { return c.Session.Explain(err) }

// Changes returns none: the PostgreSQL session does not count the rows a
// tick changes.
func (c *conn) Changes() store.Changes { return store.Changes{} }

// Close closes the session.
func (c *conn) Close(context.Context) error {
	c.Session.Close()
	return nil
}

// Columns lists a table of the store's schema, its columns in order and
// which are its primary key's.
func (s *Store) Columns(ctx context.Context, table string) ([]store.Column, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.attname, coalesce(a.attnum = ANY (i.indkey), false)
FROM pg_attribute a
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = to_regclass(format('%I.%I', current_schema(), $1::text)) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, oneLine(err))
	}
	cols, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Column, error) {
		var c store.Column
		return c, row.Scan(&c.Name, &c.Key)
	})
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, oneLine(err))
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("columns of %s: no such table", table)
	}
	return cols, nil
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Fencer = (*conn)(nil)
)
