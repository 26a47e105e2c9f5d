package host_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestTickDeadlineInterruptsStatement: a plugin's statement that would run
// for minutes in one host call ends at the tick's timeout, whether the
// work comes before its first row or after it, and the runner's next tick
// on the same connection runs normally.
func TestTickDeadlineInterruptsStatement(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{}, `CREATE TABLE probe_input (id INTEGER PRIMARY KEY, sql TEXT NOT NULL)`)
	r := fxRunner(t, setup.DB, "sql_probe", host.Limits{TickTimeout: 300 * time.Millisecond}, host.RunnerOptions{})
	// a billion rows of a recursive CTE: minutes of SQLite work, no table read
	const endless = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) `
	probe := func(sql string) {
		t.Helper()
		if _, err := setup.DB.SQL.Exec(`DELETE FROM probe_input; INSERT INTO probe_input (sql) VALUES (?)`, sql); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, sql string }{
		{"before the first row", endless + `SELECT count(*) FROM c`},
		{"after the first row", endless + `SELECT x FROM c WHERE x = 1 OR x = 0`},
	} {
		probe(tc.sql)
		start := time.Now()
		_, err := r.Tick(context.Background(), 1)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: a 300ms tick ran %v: %v", tc.name, d, err)
		}
		if err == nil {
			t.Fatalf("%s: the tick succeeded", tc.name)
		}
		if !errors.Is(err, host.ErrTimeout) && !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("%s: tick error %v names neither a timeout nor an interrupt", tc.name, err)
		}
		probe(`SELECT 1`)
		if rep, err := r.Tick(context.Background(), 2); err != nil || rep.Processed != 1 {
			t.Errorf("%s: the next tick = %+v, %v", tc.name, rep, err)
		}
	}
}

// TestOverrunIsAFailure: a tick that ran past its deadline failed, even
// when the guest swallowed its interrupted statement and returned 0.
// The Go fixture meets a loop header, where the interrupt traps it, on its
// way back; the hand-written module returns 0 without passing one.
func TestOverrunIsAFailure(t *testing.T) {
	t.Parallel()
	for _, fixture := range []string{"swallow_timeout", "swallow_timeout.wasm"} {
		t.Run(fixture, func(t *testing.T) {
			t.Parallel()
			setup := fxOpen(t, sqlite.Options{})
			r := fxRunner(t, setup.DB, fixture, host.Limits{TickTimeout: 200 * time.Millisecond}, host.RunnerOptions{})
			for i := range 2 { // on the instance made at load, then on a fresh one
				rep, err := r.Tick(context.Background(), 1)
				if !errors.Is(err, host.ErrTimeout) || !strings.Contains(err.Error(), "tick timeout after 200ms") {
					t.Errorf("tick %d = %+v, %v; want tick timeout after 200ms", i+1, rep, err)
				}
			}
		})
	}
}
