package pgsandbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// privileges returns, for each table, the privileges role holds on it, as
// "SELECT,INSERT,UPDATE,DELETE" in that order, and what it holds on the
// database and schema.
func privileges(t *testing.T, e *env, role string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"items", "shelf", "secret"} {
		var have []string
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} {
			var ok bool
			if err := e.admin.QueryRow(context.Background(), `SELECT has_table_privilege($1, $2, $3)`, role, table, p).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if ok {
				have = append(have, p)
			}
		}
		out[table] = strings.Join(have, ",")
	}
	var conn, temp, usage, create, inherit bool
	err := e.admin.QueryRow(context.Background(), `SELECT has_database_privilege($1, current_database(), 'CONNECT'),
  has_database_privilege($1, current_database(), 'TEMP'), has_schema_privilege($1, 'public', 'USAGE'),
  has_schema_privilege($1, 'public', 'CREATE'), (SELECT rolinherit FROM pg_roles WHERE rolname = $1)`, role).Scan(&conn, &temp, &usage, &create, &inherit)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{"connect": conn, "temp": temp, "usage": usage, "create": create, "inherit": inherit}
	var on []string
	for _, f := range []string{"connect", "temp", "usage", "create", "inherit"} {
		if flags[f] {
			on = append(on, f)
		}
	}
	out["*"] = strings.Join(on, ",")
	return out
}

func TestEnsureRoleGrantsExactly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	role, err := e.roles.Name("p")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name          string
		reads, writes []string
		revokeTemp    bool
		want          map[string]string
	}{
		{"reads and writes", []string{"shelf"}, []string{"ITEMS"}, false, map[string]string{
			"items": "SELECT,INSERT,UPDATE,DELETE", "shelf": "SELECT", "secret": "", "*": "connect,temp,usage"}},
		{"again, unchanged", []string{"shelf"}, []string{"items"}, false, map[string]string{
			"items": "SELECT,INSERT,UPDATE,DELETE", "shelf": "SELECT", "secret": "", "*": "connect,temp,usage"}},
		{"declaration narrowed", []string{"items"}, nil, false, map[string]string{
			"items": "SELECT", "shelf": "", "secret": "", "*": "connect,temp,usage"}},
		{"a table in both lists is a write; TEMP revoked from PUBLIC", []string{"shelf"}, []string{"shelf"}, true, map[string]string{
			"items": "", "shelf": "SELECT,INSERT,UPDATE,DELETE", "secret": "", "*": "connect,usage"}},
	}
	for _, st := range steps {
		e.roles.RevokePublicTemp = st.revokeTemp
		if err := e.roles.Ensure(ctx, e.admin, "p", st.reads, st.writes); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := privileges(t, e, role)
		for k, w := range st.want {
			if got[k] != w {
				t.Errorf("%s: %s holds %q, want %q", st.name, k, got[k], w)
			}
		}
	}
}

// TestRoleSQLIsWhatEnsureRuns: an operator running RoleSQL's output gets
// the role Ensure makes, and can run it twice.
func TestRoleSQLIsWhatEnsureRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.exec(t, `CREATE FUNCTION ffwasmhost_fence(text, integer, bigint, timestamptz) RETURNS boolean
LANGUAGE sql AS 'SELECT true'; REVOKE ALL ON FUNCTION ffwasmhost_fence(text, integer, bigint, timestamptz) FROM PUBLIC`)
	script, err := e.roles.SQL("p", []string{"shelf"}, []string{"items"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		e.exec(t, script)
	}
	role, _ := e.roles.Name("p")
	got := privileges(t, e, role)
	if got["items"] != "SELECT,INSERT,UPDATE,DELETE" || got["shelf"] != "SELECT" || got["secret"] != "" {
		t.Errorf("after the operator's SQL: %v", got)
	}
	var fence, public bool
	if err := e.admin.QueryRow(ctx, `SELECT has_function_privilege($1, 'ffwasmhost_fence(text, integer, bigint, timestamptz)', 'EXECUTE'),
  has_function_privilege('public', 'ffwasmhost_fence(text, integer, bigint, timestamptz)', 'EXECUTE')`, role).Scan(&fence, &public); err != nil {
		t.Fatal(err)
	}
	if !fence || public {
		t.Errorf("fence EXECUTE: role %v, PUBLIC %v; want true, false", fence, public)
	}
	if _, err := Open(ctx, pgtest.WithUser(t, e.dsn, role), Options{Plugin: "p"}); err != nil {
		t.Errorf("open as the operator-made role: %v", err)
	}
}

// TestEnsureRoleWithoutPrivilege: an admin connection that may not create
// roles, or may not grant on the tables, gets ErrInsufficientPrivilege
// and changes nothing; the operator's SQL is the way out.
func TestEnsureRoleWithoutPrivilege(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		attrs string
	}{
		{"no CREATEROLE", ""},
		{"CREATEROLE, but not the tables' owner", "CREATEROLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weak := pgtest.NewRole(t, tt.attrs)
			e.exec(t, `GRANT CREATE ON DATABASE `+dbName(t, e.dsn)+` TO `+weak)
			pool, err := pgxpool.New(ctx, pgtest.WithUser(t, e.dsn, weak))
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			roles := Roles{Prefix: pgtest.RolePrefix(t)}
			err = roles.Ensure(ctx, pool, "p", nil, []string{"items"})
			if !errors.Is(err, ErrInsufficientPrivilege) {
				t.Fatalf("Ensure = %v, want ErrInsufficientPrivilege", err)
			}
			role, _ := roles.Name("p")
			if n := e.count(t, `SELECT count(*) FROM pg_roles WHERE rolname = '`+role+`'`); n != 0 {
				t.Error("the refused Ensure left a role behind")
			}
		})
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.ConnConfig.Database
}

func TestRoleNames(t *testing.T) {
	tests := []struct {
		roles  Roles
		plugin string
		want   string // "" for an error
	}{
		{Roles{}, "budget_reset", "ffwasmhost_plugin_budget_reset"},
		{Roles{Prefix: "ff_"}, "worker_ttl", "ff_worker_ttl"},
		{Roles{}, strings.Repeat("a", 45), "ffwasmhost_plugin_" + strings.Repeat("a", 45)},
		{Roles{}, strings.Repeat("a", 46), ""}, // 64 bytes: PostgreSQL would cut it
		{Roles{}, "Budget", ""},
		{Roles{}, "a-b", ""},
		{Roles{Prefix: "Bad\""}, "p", ""},
	}
	for _, tt := range tests {
		got, err := tt.roles.Name(tt.plugin)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("Roles%+v.Name(%q) = %q, %v; want %q", tt.roles, tt.plugin, got, err, tt.want)
		}
	}
	if _, err := RoleSQL("p", []string{"bad name"}, nil); err == nil {
		t.Error("RoleSQL accepted a bad table name")
	}
	if _, err := RoleSQL("p", nil, []string{strings.Repeat("t", 64)}); err == nil {
		t.Error("RoleSQL accepted a 64-byte table name")
	}
}
