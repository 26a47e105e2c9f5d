package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestVerdict(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name     string
		dsn      string
		err      error
		set      bool
		require  bool
		want     action
		contains []string
	}{
		{name: "server answers", dsn: DefaultDSN, want: run},
		{name: "no server: skip", dsn: DefaultDSN, err: refused, want: skip,
			contains: []string{"skipped", EnvDSN + "=postgres://"}},
		{name: "no server, required: fail", dsn: DefaultDSN, err: refused, require: true, want: fail,
			contains: []string{EnvRequire + "=1", "connection refused", EnvDSN}},
		{name: "explicit dsn that does not answer: fail", dsn: "postgres://u:secret@db.example:5432/x", err: refused, set: true, want: fail,
			contains: []string{"db.example", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := verdict(tt.dsn, tt.err, tt.set, tt.require)
			if got != tt.want {
				t.Fatalf("verdict = %d (%q), want %d", got, msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("message shows the password: %q", msg)
			}
			for _, c := range tt.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("message %q does not contain %q", msg, c)
				}
			}
		})
	}
}

// exists reports whether the admin database lists a database or role.
func exists(t *testing.T, query, name string) bool {
	t.Helper()
	var ok bool
	if err := Admin(t).QueryRow(context.Background(), query, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

const (
	dbExists   = `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`
	roleExists = `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`
)

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// TestNewDatabaseDroppedWithItsConnections: the database exists during the
// test and is gone after it, although a connection was left open on it.
func TestNewDatabaseDroppedWithItsConnections(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := NewDatabase(t)
		name = dbName(t, dsn)
		if !exists(t, dbExists, name) {
			t.Fatalf("database %s does not exist", name)
		}
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // left open on purpose: the drop must terminate it
	})
	if exists(t, dbExists, name) {
		t.Errorf("database %s still exists after its test", name)
	}
}

// TestTemplateClones: a template is built once per key and every clone has
// its contents, independently.
func TestTemplateClones(t *testing.T) {
	t.Parallel()
	calls := 0
	setup := func(ctx context.Context, dsn string) error {
		calls++
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `CREATE TABLE t (v int); INSERT INTO t VALUES (1)`)
		return err
	}
	tmpl := Template(t, "clones", setup)
	if again := Template(t, "clones", setup); again != tmpl || calls != 1 {
		t.Fatalf("second Template = %s after %d setups, want %s after 1", again, calls, tmpl)
	}
	ctx := context.Background()
	a := Connect(t, NewDatabaseFrom(t, tmpl))
	b := Connect(t, NewDatabaseFrom(t, tmpl))
	if _, err := a.Exec(ctx, `INSERT INTO t VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		conn *pgx.Conn
		want int
	}{{a, 2}, {b, 1}} {
		var n int
		if err := c.conn.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("clone has %d rows, want %d", n, c.want)
		}
	}
}

// TestRolesDroppedWithTheirGrants: roles with privileges in a database that
// outlives them are dropped all the same, whatever the order of cleanups.
func TestRolesDroppedWithTheirGrants(t *testing.T) {
	t.Parallel()
	var role string
	t.Run("inner", func(t *testing.T) {
		dsn := NewDatabase(t) // dropped after the roles: cleanups run last first
		role = NewRole(t, "NOINHERIT")
		conn := Connect(t, dsn)
		ctx := context.Background()
		if _, err := conn.Exec(ctx, `CREATE TABLE t (v int)`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `GRANT SELECT ON t TO `+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		if !exists(t, roleExists, role) {
			t.Fatalf("role %s does not exist", role)
		}
		as := Connect(t, WithUser(t, dsn, role))
		var n int
		if err := as.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatalf("role cannot use its grant: %v", err)
		}
	})
	if exists(t, roleExists, role) {
		t.Errorf("role %s still exists after its test", role)
	}
}
