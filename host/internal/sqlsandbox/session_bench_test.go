package sqlsandbox

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// benchRows is the size of the worker registry the scan benchmarks sweep:
// the bench scenario's idle worker_ttl tick scans 200,000 rows twice.
const benchRows = 200_000

// benchSession opens a plugin session that may write the worker registry
// and its events, over benchRows live workers, none expired.
func benchSession(b *testing.B) *Session {
	b.Helper()
	db, _ := mustSession(b)
	ctx := context.Background()
	s, err := openSession(ctx, db, describe.Descriptor{Name: "bench",
		Writes: []string{"ff_worker_registry", "ff_worker_registry_event"}}, DefaultLimits, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.close)
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO ff_worker_registry (namespace, worker_instance_id, worker_id,
lanes, capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchRows {
		if _, err := st.ExecContext(ctx, fmt.Sprintf("ns-%d", i%16), fmt.Sprintf("wi-%08d", i),
			fmt.Sprintf("worker-%d", i%5000), "default,fast", "gpu,cpu", int64(1_000_000+i), int64(30_000), int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchArgs encodes a call's arguments.
func benchArgs(b *testing.B, args ...any) []byte {
	enc, err := abi.AppendArgs(nil, args)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

// benchPaired runs op alternately with a context that has no deadline
// (what the native baseline uses) and with a tick's deadline one hour out,
// timing every run. The machine is noisy, so it reports the medians
// of both and the median of the paired differences: bg-ns/op,
// deadline-ns/op and extra-ns/op, and the most SQLite heap the connection
// has held so far (sqlite-heap-peak-MiB). ns/op is one pair.
func benchPaired(b *testing.B, s *Session, op func(ctx context.Context) error) {
	var bg, dl, diff []float64
	tctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	run := func(deadline bool) float64 {
		ctx := context.Background()
		if deadline {
			ctx = tctx
		}
		start := time.Now()
		err := s.run(func() error { return op(ctx) })
		d := float64(time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	i := 0
	for b.Loop() {
		var tb, td float64
		if i%2 == 0 { // alternate which goes first
			tb, td = run(false), run(true)
		} else {
			td, tb = run(true), run(false)
		}
		i++
		bg, dl, diff = append(bg, tb), append(dl, td), append(diff, td-tb)
	}
	b.ReportMetric(median(bg), "bg-ns/op")
	b.ReportMetric(median(dl), "deadline-ns/op")
	b.ReportMetric(median(diff), "extra-ns/op")
	// what the connection's SQLite heap reached, against its cap
	b.ReportMetric(float64(s.glue.heap.peak.Load())/(1<<20), "sqlite-heap-peak-MiB")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkSessionStatement times single statements through the session
// path, as sql_exec and sql_query run them for a plugin.
func BenchmarkSessionStatement(b *testing.B) {
	s := benchSession(b)
	cases := []struct {
		name, text string
		query      bool
	}{
		{"select1", "SELECT 1", true},
		{"count", "SELECT count(*) FROM ff_worker_registry", true},
		// the idle worker_ttl tick's delete: a full scan matching no row
		{"sweep", "DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < 0", false},
		// a scan that returns every row
		{"scanrows", "SELECT worker_instance_id FROM ff_worker_registry", true},
	}
	// 100 short statements in one run, as a busy tick sends them: the
	// interrupter is armed once for them all
	b.Run("select1x100", func(b *testing.B) {
		var buf []byte
		text := []byte("SELECT 1")
		benchPaired(b, s, func(ctx context.Context) (err error) {
			for range 100 {
				if buf, err = s.Query(ctx, buf[:0], text, nil, 1<<20); err != nil {
					return err
				}
			}
			return nil
		})
	})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			benchPaired(b, s, func(ctx context.Context) (err error) {
				if c.query {
					buf, err = s.Query(ctx, buf[:0], []byte(c.text), nil, 64<<20)
				} else {
					buf, err = s.Exec(ctx, buf[:0], []byte(c.text), nil)
				}
				return err
			})
		})
	}
}

// BenchmarkSessionIdleTick times the host side of an idle worker_ttl tick
// over benchRows workers, none expired: the schema check, BEGIN IMMEDIATE,
// the plugin's two statements (two full scans) and COMMIT.
func BenchmarkSessionIdleTick(b *testing.B) {
	s := benchSession(b)
	const (
		insertEvents = `INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL
FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?
ON CONFLICT DO NOTHING`
		deleteExpired = `DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?`
	)
	// now is 0: every heartbeat is in the future, no worker expires
	args2, args1 := benchArgs(b, int64(0), int64(0)), benchArgs(b, int64(0))
	var buf []byte
	benchPaired(b, s, func(ctx context.Context) (err error) {
		if err := s.refreshSchema(ctx); err != nil {
			return err
		}
		if err := s.Begin(ctx); err != nil {
			return err
		}
		defer func() {
			if err != nil && s.inTx {
				s.Rollback(context.Background())
			}
		}()
		if buf, err = s.Exec(ctx, buf[:0], []byte(insertEvents), args2); err != nil {
			return err
		}
		if buf, err = s.Exec(ctx, buf[:0], []byte(deleteExpired), args1); err != nil {
			return err
		}
		return s.Commit(ctx)
	})
}
