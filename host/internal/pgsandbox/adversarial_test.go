package pgsandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// TestAdversarialStatements: what a hostile plugin sends, through its
// session as a plugin sends it (reads shelf, writes items). Each is refused
// with the status and a message naming what was refused; afterwards
// nothing has changed that the plugin was not granted.
func TestAdversarialStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var denials []Denial
	s := e.plugin(t, []string{"shelf"}, []string{"items"}, Options{OnDenied: func(d Denial) { denials = append(denials, d) }})
	ctx := context.Background()
	admin := e.roles.Prefix + "admin" // any other role's name will do
	tests := []struct {
		name, sql string
		want      abi.Status
		msg       string
	}{
		{"SET ROLE", `SET ROLE postgres`, abi.StatusNotAuthorized, "statement SET"},
		{"SET SESSION AUTHORIZATION", `SET SESSION AUTHORIZATION postgres`, abi.StatusNotAuthorized, "statement SET"},
		{"set_config role", `SELECT set_config('role', 'postgres', false)`, abi.StatusNotAuthorized, "name set_config"},
		{"set_config qualified", `SELECT pg_catalog.set_config('role', '` + admin + `', false)`, abi.StatusNotAuthorized, "name pg_catalog"},
		{"statement_timeout", `SET statement_timeout = 0`, abi.StatusNotAuthorized, "statement SET"},
		{"statement_timeout local", `SET LOCAL statement_timeout = 0`, abi.StatusNotAuthorized, "statement SET"},
		{"RESET", `RESET ALL`, abi.StatusNotAuthorized, "statement RESET"},
		{"read undeclared", `SELECT * FROM secret`, abi.StatusNotAuthorized, "permission denied for table secret"},
		{"read undeclared in a subquery", `SELECT (SELECT value FROM secret LIMIT 1)`, abi.StatusNotAuthorized, "permission denied for table secret"},
		{"write read-only", `INSERT INTO shelf VALUES (9, 100, 'x')`, abi.StatusNotAuthorized, "permission denied for table shelf"},
		{"update read-only", `UPDATE shelf SET label = 'x'`, abi.StatusNotAuthorized, "permission denied for table shelf"},
		{"delete read-only", `DELETE FROM shelf`, abi.StatusNotAuthorized, "permission denied for table shelf"},
		{"lock read-only rows", `SELECT * FROM shelf FOR UPDATE`, abi.StatusNotAuthorized, "permission denied for table shelf"},
		{"write in a CTE", `WITH x AS (DELETE FROM shelf RETURNING 1) SELECT count(*) FROM x`, abi.StatusNotAuthorized, "permission denied for table shelf"},
		{"truncate", `TRUNCATE items`, abi.StatusNotAuthorized, "statement TRUNCATE"},
		{"CREATE TEMP TABLE", `CREATE TEMP TABLE t (a int)`, abi.StatusNotAuthorized, "statement CREATE"},
		{"SELECT INTO TEMP", `SELECT 1 AS a INTO TEMP t`, abi.StatusNotAuthorized, "select into INTO"},
		{"CREATE TABLE", `CREATE TABLE public.t (a int)`, abi.StatusNotAuthorized, "statement CREATE"},
		{"CREATE FUNCTION", `CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'`, abi.StatusNotAuthorized, "statement CREATE"},
		{"ALTER", `ALTER TABLE items ADD COLUMN x int`, abi.StatusNotAuthorized, "statement ALTER"},
		{"DROP", `DROP TABLE items`, abi.StatusNotAuthorized, "statement DROP"},
		{"COPY TO PROGRAM", `COPY items TO PROGRAM 'touch /tmp/pwned'`, abi.StatusNotAuthorized, "statement COPY"},
		{"COPY TO STDOUT", `COPY items TO STDOUT`, abi.StatusNotAuthorized, "statement COPY"},
		{"DO block", `DO $$BEGIN EXECUTE 'SET ROLE postgres'; END$$`, abi.StatusNotAuthorized, "statement DO"},
		{"LISTEN", `LISTEN ch`, abi.StatusNotAuthorized, "statement LISTEN"},
		{"NOTIFY function", `SELECT pg_notify('ch', 'x')`, abi.StatusNotAuthorized, "name pg_notify"},
		{"PREPARE", `PREPARE x AS SELECT 1`, abi.StatusNotAuthorized, "statement PREPARE"},
		{"large object create", `SELECT lo_from_bytea(0, 'x')`, abi.StatusNotAuthorized, "name lo_from_bytea"},
		{"large object import", `SELECT lo_import('/etc/hostname')`, abi.StatusNotAuthorized, "name lo_import"},
		{"large object write", `SELECT lowrite(0, 'x')`, abi.StatusNotAuthorized, "name lowrite"},
		{"advisory lock", `SELECT pg_advisory_lock(1)`, abi.StatusNotAuthorized, "name pg_advisory_lock"},
		{"advisory xact lock", `SELECT pg_try_advisory_xact_lock(1, 2)`, abi.StatusNotAuthorized, "advisory locks"},
		{"dblink", `SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)`, abi.StatusNotAuthorized, "name dblink"},
		{"dblink_exec", `SELECT dblink_exec('dbname=postgres', 'DROP TABLE x')`, abi.StatusNotAuthorized, "name dblink_exec"},
		{"postgres_fdw", `SELECT postgres_fdw_disconnect_all()`, abi.StatusNotAuthorized, "name postgres_fdw_disconnect_all"},
		{"pg_read_file", `SELECT pg_read_file('/etc/passwd')`, abi.StatusNotAuthorized, "name pg_read_file"},
		{"pg_ls_dir", `SELECT pg_ls_dir('.')`, abi.StatusNotAuthorized, "name pg_ls_dir"},
		{"current_setting", `SELECT current_setting('data_directory')`, abi.StatusNotAuthorized, "name current_setting"},
		{"catalog", `SELECT rolname FROM pg_roles`, abi.StatusNotAuthorized, "name pg_roles"},
		{"query_to_xml runs SQL text", `SELECT query_to_xml('SELECT lo_from_bytea(0, ''x'')', true, false, '')`, abi.StatusNotAuthorized, "name query_to_xml"},
		{"host objects", `SELECT ffwasmhost_fence('p', 0, 1, NULL)`, abi.StatusNotAuthorized, "name ffwasmhost_fence"},
		{"; after a comment", `SELECT 1 /* ; */ ; SET ROLE postgres`, abi.StatusNotAuthorized, "multiple statements"},
		{"; after a line comment", "SELECT 1 -- ;\n; RESET ALL", abi.StatusNotAuthorized, "multiple statements"},
		{"; after a dollar quote", `SELECT $q$ ; $q$ ; SET ROLE postgres`, abi.StatusNotAuthorized, "multiple statements"},
		{"; after a nested comment", `SELECT 1 /* /* */ ; */ ; RESET ALL`, abi.StatusNotAuthorized, "multiple statements"},
		{"; after an E string", `SELECT E'\'' ; RESET ALL`, abi.StatusNotAuthorized, "multiple statements"},
		{"; after a continued E string", "SELECT E'a'\n'\\';' ; RESET ALL", abi.StatusNotAuthorized, "multiple statements"},
		{"U& identifier", `SELECT * FROM U&"\0073ecret"`, abi.StatusNotAuthorized, `U&"..." identifiers`},
		{"transaction statement", `COMMIT`, abi.StatusNotAuthorized, "statement COMMIT"},
		{"savepoint", `SAVEPOINT a`, abi.StatusNotAuthorized, "statement SAVEPOINT"},
		{"VACUUM", `VACUUM items`, abi.StatusNotAuthorized, "statement VACUUM"},
		{"CALL", `CALL p()`, abi.StatusNotAuthorized, "statement CALL"},
		{"LOCK", `LOCK TABLE items`, abi.StatusNotAuthorized, "statement LOCK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execSQL(t, ctx, s, tt.sql)
			if r.status != tt.want || !strings.Contains(r.msg, tt.msg) {
				t.Errorf("%s\n got %s %q\nwant %s containing %q", tt.sql, r.status, r.msg, tt.want, tt.msg)
			}
			if r.status == abi.StatusNotAuthorized && !strings.HasPrefix(r.msg, "not authorized: ") {
				t.Errorf("message %q does not start with not authorized", r.msg)
			}
		})
	}
	endTick(t, s)

	// The lexer is not fooled the other way: a ; or a refused word in a
	// string, a comment or a dollar quote is data.
	for _, sql := range []string{
		`SELECT ';'`,
		`SELECT 'SET ROLE postgres; SELECT set_config(''role'', ''x'', false)'`,
		`SELECT $$ ; RESET ALL; $$`,
		`SELECT 1 -- ; set_config`,
		`SELECT /* ; pg_advisory_lock(1) */ 2`,
		"SELECT 'a'\n';'",
		`SELECT 1;`,
	} {
		must(t, querySQL(t, ctx, s, sql))
	}

	// Nothing of it happened.
	if n := e.count(t, `SELECT count(*) FROM pg_largeobject_metadata`); n != 0 {
		t.Errorf("%d large objects exist", n)
	}
	if n := e.count(t, `SELECT count(*) FROM pg_class WHERE relname = 't' OR relpersistence = 't'`); n != 0 {
		t.Errorf("%d tables named t or temporary exist", n)
	}
	if n := e.count(t, `SELECT count(*) FROM shelf`); n != 1 {
		t.Errorf("shelf has %d rows, want 1", n)
	}
	var user string
	if err := s.conn.QueryRow(ctx, `SELECT current_user`).Scan(&user); err != nil || user != s.Role() {
		t.Errorf("the session is %q (%v), want %s", user, err, s.Role())
	}
	if len(denials) == 0 || denials[0].Plugin != "p" {
		t.Errorf("OnDenied saw %v", denials)
	}
}

// TestTheRoleItselfIsTheSandbox connects as the plugin's role without the
// session, past the statement check: PostgreSQL itself refuses what the
// check would have caught, except what the last cases show, which is why
// the check refuses those names.
func TestTheRoleItselfIsTheSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.roles.RevokePublicTemp = true
	ctx := context.Background()
	if err := e.roles.Ensure(ctx, e.admin, "p", []string{"shelf"}, []string{"items"}); err != nil {
		t.Fatal(err)
	}
	role, _ := e.roles.Name("p")
	adminUser := e.admin.Config().ConnConfig.User
	conn := pgtest.Connect(t, pgtest.WithUser(t, e.dsn, role))
	tests := []struct {
		name, sql string
		denied    bool // fails with insufficient_privilege
	}{
		{"SET ROLE", `SET ROLE ` + pgx.Identifier{adminUser}.Sanitize(), true},
		{"SET SESSION AUTHORIZATION", `SET SESSION AUTHORIZATION ` + pgx.Identifier{adminUser}.Sanitize(), true},
		{"set_config role", `SELECT set_config('role', '` + adminUser + `', false)`, true},
		{"read undeclared", `SELECT * FROM secret`, true},
		{"write read-only", `INSERT INTO shelf VALUES (9, 100, 'x')`, true},
		{"CREATE TABLE", `CREATE TABLE public.t (a int)`, true},
		{"CREATE TEMP TABLE", `CREATE TEMP TABLE t (a int)`, true},
		{"COPY TO PROGRAM", `COPY (SELECT 1) TO PROGRAM 'true'`, true},
		{"COPY TO a file", `COPY (SELECT 1) TO '/tmp/ffwasmhost-test-copy'`, true},
		{"COPY undeclared TO STDOUT", `COPY secret TO STDOUT`, true},
		{"pg_read_file", `SELECT pg_read_file('/etc/hostname')`, true},
		{"pg_ls_dir", `SELECT pg_ls_dir('.')`, true},
		{"lo_import", `SELECT lo_import('/etc/hostname')`, true},
		{"pg_authid", `SELECT * FROM pg_authid`, true},
		// What the role may do, and only the check stops:
		{"large objects", `SELECT lo_unlink(lo_from_bytea(0, 'x'))`, false},
		{"advisory locks", `SELECT pg_advisory_unlock(1) OR pg_advisory_lock(1) IS NULL`, false},
		{"settings", `SELECT set_config('statement_timeout', '0', false)`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			var pe *pgconn.PgError
			denied := errors.As(err, &pe) && pe.Code == "42501"
			if denied != tt.denied {
				t.Errorf("%s: %v, want denied %v", tt.sql, err, tt.denied)
			}
		})
	}
}

// TestSleepPastTheTick: pg_sleep is allowed, and harmless: the tick's
// deadline cancels it on the server.
func TestSleepPastTheTick(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := querySQL(t, ctx, s, `SELECT pg_sleep_for('1 hour')`)
	if r.status != abi.StatusOther || !strings.Contains(r.msg, "interrupted") {
		t.Errorf("sleep past the tick: %s %q", r.status, r.msg)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancelled after %v", took)
	}
	endTick(t, s)
	if n := e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep_for%' AND state = 'active' AND pid <> pg_backend_pid()`); n != 0 {
		t.Errorf("%d sleeps still run on the server", n)
	}
}
