package pgsandbox

import (
	"context"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// The cost of one statement through a Session, as a plugin's host call
// pays it (check cache, argument decoding, prepared statement, one round
// trip, result encoding), next to pgx running the same statement on a
// connection of its own. Run with
//
//	go test -run XXX -bench . -benchtime 5000x ./host/internal/pgsandbox/

func BenchmarkSessionSelect1(b *testing.B) {
	e := newEnv(b)
	s := e.writer(b)
	ctx := context.Background()
	sql := []byte(`SELECT 1`)
	var buf []byte
	var err error
	for b.Loop() {
		if buf, err = s.Query(ctx, buf[:0], sql, nil, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPgxSelect1(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	conn, err := e.admin.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	var v int
	for b.Loop() {
		if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&v); err != nil {
			b.Fatal(err)
		}
	}
}

// The UPDATE benchmarks commit every statement with synchronous_commit off
// on both sides, so they measure the statement, not the disk's flush, and
// spread the updates over 1,000 rows.

const updateSQL = `UPDATE items SET small = $1 WHERE id = $2`

func updateEnv(b *testing.B) *env {
	e := newEnv(b)
	e.exec(b, `INSERT INTO items (id) SELECT g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING`)
	return e
}

func BenchmarkSessionUpdateRow(b *testing.B) {
	e := updateEnv(b)
	if err := e.roles.Ensure(context.Background(), e.admin, "p", nil, []string{"items"}); err != nil {
		b.Fatal(err)
	}
	role, _ := e.roles.Name("p")
	e.exec(b, `ALTER ROLE `+role+` SET synchronous_commit = off`) // after Ensure, which resets role settings
	s, err := Open(context.Background(), pgtest.WithUser(b, e.dsn, role), Options{Plugin: "p"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	sql := []byte(updateSQL)
	var args, buf []byte
	i := int64(0)
	for b.Loop() {
		i++
		if args, err = abi.AppendArgs(args[:0], []any{i % 100, i%1000 + 1}); err != nil {
			b.Fatal(err)
		}
		if buf, err = s.Exec(ctx, buf[:0], sql, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPgxUpdateRow(b *testing.B) {
	e := updateEnv(b)
	ctx := context.Background()
	conn, err := e.admin.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET synchronous_commit = off`); err != nil {
		b.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET synchronous_commit`)
	i := int64(0)
	for b.Loop() {
		i++
		if _, err := conn.Exec(ctx, updateSQL, i%100, i%1000+1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionEndTick is the reset after every tick.
func BenchmarkSessionEndTick(b *testing.B) {
	e := newEnv(b)
	s := e.writer(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.EndTick(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
