// Package pgtest gives tests a PostgreSQL server to work on: the admin DSN,
// a fresh database per test (cloned from a per-process template when the
// schema is expensive to build), and uniquely named roles, all dropped when
// the test ends so that tests and packages can run in parallel on one
// server.
//
// The server is FFWASMHOST_TEST_PG (a postgres:// URL of a role that may
// create databases and roles), or DefaultDSN when that answers. With no
// server, tests skip with one line saying how to enable them, unless
// FFWASMHOST_REQUIRE_PG=1 (CI sets it), which makes them fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the helpers read.
const (
	// EnvDSN names the admin DSN of the test server.
	EnvDSN = "FFWASMHOST_TEST_PG"
	// EnvRequire, set to 1, turns a missing server into a failure.
	EnvRequire = "FFWASMHOST_REQUIRE_PG"
)

// DefaultDSN is tried when EnvDSN is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// probeTimeout bounds the first connection to the server.
const probeTimeout = 3 * time.Second

var probe struct {
	once sync.Once
	dsn  string
	err  error
	set  bool // EnvDSN was set
}

// DSN returns the admin DSN of the test server, or skips the test (fails it
// under FFWASMHOST_REQUIRE_PG=1) when no server answers. A DSN set in
// FFWASMHOST_TEST_PG that does not answer always fails the test.
func DSN(tb testing.TB) string {
	tb.Helper()
	probe.once.Do(func() {
		probe.dsn = os.Getenv(EnvDSN)
		probe.set = probe.dsn != ""
		if !probe.set {
			probe.dsn = DefaultDSN
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, probe.dsn)
		if err != nil {
			probe.err = err
			return
		}
		probe.err = conn.Close(ctx)
	})
	switch act, msg := verdict(probe.dsn, probe.err, probe.set, os.Getenv(EnvRequire) == "1"); act {
	case fail:
		tb.Fatal(msg)
	case skip:
		tb.Skip(msg)
	default:
		return probe.dsn
	}
	return ""
}

type action int

const (
	run action = iota
	skip
	fail
)

// verdict decides what a test does given the probe of dsn: run, skip with
// one line saying how to enable it, or fail.
func verdict(dsn string, err error, set, require bool) (action, string) {
	switch {
	case err == nil:
		return run, ""
	case set:
		return fail, fmt.Sprintf("postgres at %s=%s: %v", EnvDSN, Redact(dsn), err)
	case require:
		return fail, fmt.Sprintf("postgres required (%s=1) but %s does not answer (%v); set %s=postgres://...", EnvRequire, Redact(dsn), err, EnvDSN)
	}
	return skip, fmt.Sprintf("postgres tests skipped: no server at %s; set %s=postgres://user@host:port/db?sslmode=disable to run them", Redact(dsn), EnvDSN)
}

// Redact returns dsn with its password, if any, replaced by "xxxxx".
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable dsn)"
	}
	return u.Redacted()
}

// WithDatabase returns dsn pointing at database db.
func WithDatabase(tb testing.TB, dsn, db string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse dsn: %v", err)
	}
	u.Path = "/" + db
	return u.String()
}

// WithUser returns dsn connecting as user, without a password.
func WithUser(tb testing.TB, dsn, user string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse dsn: %v", err)
	}
	u.User = url.User(user)
	return u.String()
}

// UniqueName returns prefix followed by 12 random hex digits: a name no
// other test, package or run uses.
func UniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// Admin opens a connection to the test server's admin database, closed at
// the end of the test.
func Admin(tb testing.TB) *pgx.Conn {
	tb.Helper()
	return Connect(tb, DSN(tb))
}

// Connect opens a connection to dsn, closed at the end of the test.
func Connect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to %s: %v", Redact(dsn), err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// cleanupTimeout bounds each drop at the end of a test.
const cleanupTimeout = 30 * time.Second

// NewDatabase creates an empty database with a unique name and returns its
// DSN. At the end of the test the database is dropped, its connections
// terminated first.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, "")
}

// NewDatabaseFrom is NewDatabase with a copy of template, a database made
// by Template: much faster than building a large schema again.
func NewDatabaseFrom(tb testing.TB, template string) string {
	tb.Helper()
	return newDatabase(tb, template)
}

// cloneMu serializes clones in this process: CREATE DATABASE ... TEMPLATE
// refuses while anything else is connected to the template, and clones
// running together would only compete for the same disk.
var cloneMu sync.Mutex

func newDatabase(tb testing.TB, template string) string {
	tb.Helper()
	admin := DSN(tb)
	name := UniqueName("ffwt_")
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
		cloneMu.Lock()
		defer cloneMu.Unlock()
	}
	if err := adminExec(admin, stmt); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := dropDatabase(admin, name); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return WithDatabase(tb, admin, name)
}

// adminExec runs stmt on a connection of its own to the admin database.
func adminExec(admin, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func dropDatabase(admin, name string) error {
	return adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

var templates struct {
	mu    sync.Mutex
	made  map[string]*template
	names []string // every template database made, for Main to drop
}

type template struct {
	once sync.Once
	db   string
	err  error
}

// Template returns the name of a database that setup has filled, made once
// per process for each key and shared by every test that asks for the same
// key. Clone it with NewDatabaseFrom; never connect to it, or clones fail.
// A package that uses Template must drop the templates at exit by calling
// Main from its TestMain.
func Template(tb testing.TB, key string, setup func(ctx context.Context, dsn string) error) string {
	tb.Helper()
	admin := DSN(tb)
	templates.mu.Lock()
	if templates.made == nil {
		templates.made = map[string]*template{}
	}
	t := templates.made[key]
	if t == nil {
		t = &template{}
		templates.made[key] = t
	}
	templates.mu.Unlock()
	t.once.Do(func() {
		name := UniqueName("ffwt_tmpl_")
		if t.err = adminExec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); t.err != nil {
			return
		}
		templates.mu.Lock()
		templates.names = append(templates.names, name)
		templates.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dsn := WithDatabase(tb, admin, name)
		if t.err = setup(ctx, dsn); t.err != nil {
			return
		}
		// setup's pools may still be closing their connections.
		t.err = waitNoConnections(ctx, admin, name)
		t.db = name
	})
	if t.err != nil {
		tb.Fatalf("template %s: %v", key, t.err)
	}
	return t.db
}

// waitNoConnections waits until nothing is connected to database db.
func waitNoConnections(ctx context.Context, admin, db string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, db).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d connections to %s remain: %w", n, db, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Main runs the tests of a package that uses Template and then drops the
// templates it made. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	templates.mu.Lock()
	names := templates.names
	templates.mu.Unlock()
	for _, name := range names {
		if err := dropDatabase(probe.dsn, name); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop template %s: %v\n", name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// RolePrefix returns a prefix of 18 bytes unique to this test for the names
// of the roles it creates (so a role name may add 45 bytes of its own).
// At the end of the test every role whose name starts with it is dropped,
// with its privileges and objects in every database that has any.
func RolePrefix(tb testing.TB) string {
	tb.Helper()
	admin := DSN(tb)
	prefix := UniqueName("ffwt_") + "_"
	tb.Cleanup(func() {
		if err := DropRoles(admin, prefix); err != nil {
			tb.Errorf("drop roles %s*: %v", prefix, err)
		}
	})
	return prefix
}

// NewRole creates a login role with a unique name, no privileges and the
// attributes given (such as "NOINHERIT"), and drops it at the end of the
// test.
func NewRole(tb testing.TB, attributes string) string {
	tb.Helper()
	prefix := RolePrefix(tb)
	name := prefix + "role"
	if err := adminExec(DSN(tb), "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN "+attributes); err != nil {
		tb.Fatalf("create role %s: %v", name, err)
	}
	return name
}

// DropRoles drops every role whose name starts with prefix. A role cannot
// be dropped while it holds privileges or owns objects anywhere, so first,
// in the admin database (for shared objects) and in each database that
// records such a dependency, DROP OWNED BY revokes and drops them.
func DropRoles(admin, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r.rolname, coalesce(array_agg(DISTINCT d.datname) FILTER (WHERE d.datname IS NOT NULL), '{}')
FROM pg_roles r
LEFT JOIN pg_shdepend s ON s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE starts_with(r.rolname, $1)
GROUP BY r.rolname`, prefix)
	if err != nil {
		return err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var role string
		var dbs []string
		if err := rows.Scan(&role, &dbs); err != nil {
			return err
		}
		deps[role] = dbs
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var errs []error
	for role, dbs := range deps {
		// Here first: privileges on shared objects, such as databases,
		// are revoked by DROP OWNED in any database.
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{role}.Sanitize()); err != nil {
			errs = append(errs, fmt.Errorf("drop owned by %s: %w", role, err))
		}
		for _, db := range dbs {
			if err := dropOwned(ctx, admin, db, role); err != nil {
				errs = append(errs, fmt.Errorf("drop owned by %s in %s: %w", role, db, err))
			}
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			errs = append(errs, fmt.Errorf("drop role %s: %w", role, err))
		}
	}
	return errors.Join(errs...)
}

func dropOwned(ctx context.Context, admin, db, role string) error {
	u, err := url.Parse(admin)
	if err != nil {
		return err
	}
	u.Path = "/" + db
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil // dropped meanwhile: so are the dependencies
		}
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{role}.Sanitize())
	return err
}
