package pgsandbox

import (
	"context"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
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

func BenchmarkSessionUpdateRow(b *testing.B) {
	e := newEnv(b)
	e.exec(b, `INSERT INTO items (id, name) VALUES (1, 'a')`)
	s := e.writer(b)
	ctx := context.Background()
	sql := []byte(`UPDATE items SET small = $1 WHERE id = $2`)
	var args, buf []byte
	var err error
	i := int64(0)
	for b.Loop() {
		i++
		if args, err = abi.AppendArgs(args[:0], []any{i % 1000, int64(1)}); err != nil {
			b.Fatal(err)
		}
		if buf, err = s.Exec(ctx, buf[:0], sql, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPgxUpdateRow(b *testing.B) {
	e := newEnv(b)
	e.exec(b, `INSERT INTO items (id, name) VALUES (1, 'a')`)
	ctx := context.Background()
	conn, err := e.admin.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	i := int64(0)
	for b.Loop() {
		i++
		if _, err := conn.Exec(ctx, `UPDATE items SET small = $1 WHERE id = $2`, i%1000, int64(1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionUpdateRowInTx is the same UPDATE inside one open
// transaction (no commit per statement).
func BenchmarkSessionUpdateRowInTx(b *testing.B) {
	e := newEnv(b)
	e.exec(b, `INSERT INTO items (id, name) VALUES (1, 'a')`)
	s := e.writer(b)
	ctx := context.Background()
	if err := s.Begin(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Rollback(ctx)
	sql := []byte(`UPDATE items SET small = $1 WHERE id = $2`)
	var args, buf []byte
	var err error
	i := int64(0)
	for b.Loop() {
		i++
		if args, err = abi.AppendArgs(args[:0], []any{i % 1000, int64(1)}); err != nil {
			b.Fatal(err)
		}
		if buf, err = s.Exec(ctx, buf[:0], sql, args); err != nil {
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
