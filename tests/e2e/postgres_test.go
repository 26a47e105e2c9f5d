package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// TestPostgresMigrateAndStatus: migrate on an empty database creates the
// tables and the plugins' roles, a second migrate changes nothing, and
// status reads the ledger; status before migrate says how to migrate.
func TestPostgresMigrateAndStatus(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	prefix := pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "budget_reset", "worker_ttl")

	r := ffwasmhost(t, nil, "status", "--db", dsn)
	if r.code != 1 || !strings.Contains(r.stderr, "not migrated (run: ffwasmhost migrate --db ") {
		t.Fatalf("status before migrate: exit %d, stderr %q", r.code, r.stderr)
	}
	for i := range 2 {
		r = ffwasmhost(t, nil, "migrate", "--db", dsn, "--plugins", plugins, "--role-prefix", prefix)
		if r.code != 0 || !strings.Contains(r.stdout, "role "+prefix+"budget_reset of plugin budget_reset") ||
			!strings.Contains(r.stdout, "role "+prefix+"worker_ttl of plugin worker_ttl") {
			t.Fatalf("migrate %d: exit %d\nstdout: %s\nstderr: %s", i+1, r.code, r.stdout, r.stderr)
		}
	}
	conn := pgtest.Connect(t, dsn)
	var children int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_inherits WHERE inhparent = 'ff_worker_registry'::regclass`).Scan(&children); err != nil || children != 256 {
		t.Errorf("ff_worker_registry has %d partitions (%v), want 256", children, err)
	}
	r = ffwasmhost(t, nil, "status", "--db", dsn, "--json")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("status of a fresh database: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestPostgresMigrateWithoutCreateRole: a role that owns the database but
// may not create roles gets the tables, and the roles' SQL on stdout with
// exit 1; once an operator ran it, migrate succeeds.
func TestPostgresMigrateWithoutCreateRole(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewRole(t, "NOINHERIT")
	dsn := pgtest.NewDatabase(t)
	admin := pgtest.Connect(t, dsn)
	ctx := context.Background()
	var db string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + pgx.Identifier{db}.Sanitize() + " OWNER TO " + pgx.Identifier{owner}.Sanitize(),
		"ALTER SCHEMA public OWNER TO " + pgx.Identifier{owner}.Sanitize(),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	ownerDSN := pgtest.WithUser(t, dsn, owner)
	prefix := pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "worker_ttl")
	args := []string{"migrate", "--db", ownerDSN, "--plugins", plugins, "--role-prefix", prefix}

	r := ffwasmhost(t, nil, args...)
	if r.code != 1 || !strings.Contains(r.stdout, "CREATE ROLE") ||
		!strings.Contains(r.stdout, `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."ff_worker_registry" TO "`+prefix+`worker_ttl"`) ||
		!strings.Contains(r.stderr, "may not create the roles of 1 plugins: have an operator run the SQL above") {
		t.Fatalf("migrate without CREATEROLE: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	p := ffwasmhost(t, nil, "migrate", "--db", ownerDSN, "--plugins", plugins, "--role-prefix", prefix, "--print-roles")
	if p.code != 0 || p.stdout != r.stdout {
		t.Errorf("--print-roles: exit %d, output differs from migrate's:\n%s", p.code, p.stdout)
	}
	if _, err := admin.Exec(ctx, r.stdout); err != nil {
		t.Fatalf("the operator's SQL: %v", err)
	}
	r = ffwasmhost(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "of plugin worker_ttl (made by an operator)") {
		t.Fatalf("migrate after the operator: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
