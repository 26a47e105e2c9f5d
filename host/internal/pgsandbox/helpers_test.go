package pgsandbox

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// env is a fresh database with a few tables, an admin pool on it, and a
// role prefix of the test's own.
type env struct {
	dsn   string // the admin's URL of the test database
	admin *pgxpool.Pool
	roles Roles
}

// testSchema are the tables the sandbox tests use: items is declared for
// writing, shelf for reading, secret never.
const testSchema = `
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL DEFAULT '', small smallint,
  score double precision, doc jsonb, tags text[], data bytea, flag boolean,
  CHECK (name <> 'forbidden'));
CREATE TABLE shelf (id bigint PRIMARY KEY, item_id bigint REFERENCES items (id), label text);
CREATE TABLE secret (id bigint PRIMARY KEY, value text);
INSERT INTO secret VALUES (1, 'the secret');
INSERT INTO items (id, name) VALUES (100, 'shelved');
INSERT INTO shelf VALUES (1, 100, 'a');
`

func newEnv(t testing.TB) *env {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, testSchema); err != nil {
		t.Fatal(err)
	}
	return &env{dsn: dsn, admin: pool, roles: Roles{Prefix: pgtest.RolePrefix(t)}}
}

// exec runs sql on the admin pool, failing the test on error.
func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := e.admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count returns the admin's count(*) of query.
func (e *env) count(t testing.TB, query string) int {
	t.Helper()
	var n int
	if err := e.admin.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// plugin makes the role of plugin "p" with the given grants and opens a
// session as it.
func (e *env) plugin(t testing.TB, reads, writes []string, opts Options) *Session {
	t.Helper()
	ctx := context.Background()
	if err := e.roles.Ensure(ctx, e.admin, "p", reads, writes); err != nil {
		t.Fatal(err)
	}
	role, err := e.roles.Name("p")
	if err != nil {
		t.Fatal(err)
	}
	opts.Plugin, opts.Role = "p", role
	s, err := Open(ctx, pgtest.WithUser(t, e.dsn, role), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// writer is the usual session: items for writing, shelf for reading.
func (e *env) writer(t testing.TB) *Session {
	t.Helper()
	return e.plugin(t, []string{"shelf"}, []string{"items"}, Options{})
}

// encodeArgs encodes args as a plugin does.
func encodeArgs(t testing.TB, args []any) []byte {
	t.Helper()
	if len(args) == 0 {
		return nil
	}
	b, err := abi.AppendArgs(nil, args)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is one call's outcome as a plugin sees it.
type result struct {
	status abi.Status
	msg    string
	rows   [][]any // for a query
	cols   []string
	n      int64 // rows affected, for an exec
}

// execSQL runs sql through s.Exec as a plugin would.
func execSQL(t *testing.T, ctx context.Context, s *Session, sql string, args ...any) result {
	t.Helper()
	out, err := s.Exec(ctx, nil, []byte(sql), encodeArgs(t, args))
	if err != nil {
		st, msg := s.Explain(err)
		return result{status: st, msg: msg}
	}
	n, id, err := abi.DecodeExecResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if id != 0 {
		t.Errorf("last insert id %d, want 0", id)
	}
	return result{n: n}
}

// querySQL runs sql through s.Query as a plugin would and decodes the rows.
func querySQL(t *testing.T, ctx context.Context, s *Session, sql string, args ...any) result {
	t.Helper()
	return queryLimit(t, ctx, s, 16<<20, sql, args...)
}

func queryLimit(t *testing.T, ctx context.Context, s *Session, limit uint32, sql string, args ...any) result {
	t.Helper()
	out, err := s.Query(ctx, nil, []byte(sql), encodeArgs(t, args), limit)
	if err != nil {
		st, msg := s.Explain(err)
		return result{status: st, msg: msg}
	}
	d := abi.NewDecoder(out)
	cols, n, err := abi.QueryHeader(d)
	if err != nil {
		t.Fatal(err)
	}
	res := result{cols: cols}
	for range n {
		row := make([]any, len(cols))
		for i := range row {
			if row[i], err = d.Value(); err != nil {
				t.Fatal(err)
			}
		}
		res.rows = append(res.rows, row)
	}
	if d.Remaining() != 0 {
		t.Fatalf("%d bytes after the rows", d.Remaining())
	}
	return res
}

// must fails the test unless r succeeded.
func must(t *testing.T, r result) result {
	t.Helper()
	if r.status != abi.StatusOK {
		t.Fatalf("status %s: %s", r.status, r.msg)
	}
	return r
}

// one returns the single value of a one-row, one-column result.
func one(t *testing.T, r result) any {
	t.Helper()
	must(t, r)
	if len(r.rows) != 1 || len(r.rows[0]) != 1 {
		t.Fatalf("want one value, got %v", r.rows)
	}
	return r.rows[0][0]
}

func endTick(t *testing.T, s *Session) bool {
	t.Helper()
	left, err := s.EndTick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return left
}
