package sqlsandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// endless is a recursive CTE of a billion rows: minutes of SQLite VM steps
// in one statement, reading no table.
const endless = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) `

// interruptBound is how long a statement may run past a deadline of a few
// hundred milliseconds; generous for a loaded machine, far below the
// minutes the statements take uninterrupted.
const interruptBound = 10 * time.Second

func TestSessionFindsConnectionHandle(t *testing.T) {
	_, s := mustSession(t)
	if s.intr == nil || s.intr.db == 0 {
		t.Fatal("the session opened without its connection's handle")
	}
	// The function that found it is gone from the plugin's connection.
	err := s.run(func() error {
		_, err := s.Query(context.Background(), nil, []byte("SELECT "+connIDFunc+"()"), nil, 1<<20)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "no such function") {
		t.Errorf("a plugin calling %s() got %v, want no such function", connIDFunc, err)
	}
}

// mustWorker registers one worker, so that statements over the registry
// have a row to work on.
func mustWorker(t *testing.T, db *testDB) {
	t.Helper()
	if _, err := db.SQL.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', 'w1', 'w', 'default', '', 1, 1, 1)`); err != nil {
		t.Fatal(err)
	}
}

// TestDeadlineInterruptsStatement: a statement that runs for minutes ends
// at its host call's deadline, with the status and message a plugin got
// when the driver watched each statement's context, and the next call with
// a fresh context runs normally.
func TestDeadlineInterruptsStatement(t *testing.T) {
	db, s := mustSession(t)
	if s.intr == nil {
		t.Fatal("no interrupter")
	}
	mustWorker(t, db)
	tests := []struct {
		name  string
		sql   string
		query bool
	}{
		{"one long step", endless + `SELECT count(*) FROM c`, true},
		// the first row comes at once; the driver's own context handling
		// watched only the step that found it
		{"long after the first row", endless + `SELECT x FROM c WHERE x = 1 OR x = 0`, true},
		{"long exec", endless + `SELECT count(*) FROM c`, false},
		{"long write", `UPDATE ff_worker_registry SET lanes = lanes WHERE last_heartbeat_ms IN (` + endless + `SELECT x FROM c WHERE x = 0)`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := s.run(func() (err error) {
				if tc.query {
					_, err = s.Query(ctx, nil, []byte(tc.sql), nil, 1<<20)
				} else {
					_, err = s.Exec(ctx, nil, []byte(tc.sql), nil)
				}
				return err
			})
			if d := time.Since(start); d > interruptBound {
				t.Errorf("a statement under a 300ms deadline ran %v", d)
			}
			if err == nil {
				t.Fatal("the statement succeeded")
			}
			status, msg := s.Explain(err)
			if status != abi.StatusOther || msg != "interrupted: context deadline exceeded" {
				t.Errorf("interrupted statement: status %v, %q; want other, %q (err %v)", status, msg, "interrupted: context deadline exceeded", err)
			}
			if err := s.run(func() error {
				_, err := s.Query(context.Background(), nil, []byte("SELECT 1"), nil, 1<<20)
				return err
			}); err != nil {
				t.Errorf("the next call after an interrupted one: %v", err)
			}
		})
	}
}

// TestDeadlineAtStatementStart: deadlines that expire around the start of
// a statement never let it run on, and never reach a later call.
func TestDeadlineAtStatementStart(t *testing.T) {
	_, s := mustSession(t)
	if s.intr == nil {
		t.Fatal("no interrupter")
	}
	long := []byte(endless + `SELECT count(*) FROM c`)
	for i := range 200 {
		d := time.Duration(i%20) * 50 * time.Microsecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		start := time.Now()
		err := s.run(func() error {
			_, err := s.Query(ctx, nil, long, nil, 1<<20)
			return err
		})
		cancel()
		if took := time.Since(start); took > interruptBound {
			t.Fatalf("deadline %v: the statement ran %v", d, took)
		}
		if err == nil {
			t.Fatalf("deadline %v: a billion-row statement succeeded", d)
		}
		// A later call, with or without a deadline of its own, is not hit
		// by the interrupts of this one.
		later, cancel := context.WithTimeout(context.Background(), time.Hour)
		for _, ctx := range []context.Context{context.Background(), later} {
			if err := s.run(func() error {
				_, err := s.Query(ctx, nil, []byte(`SELECT count(*) FROM ff_worker_registry`), nil, 1<<20)
				return err
			}); err != nil {
				t.Fatalf("deadline %v: the next call failed: %v", d, err)
			}
		}
		cancel()
	}
}

// TestDeadlineDoesNotReachCleanup: once a tick's deadline has passed, the
// plugin's tx_rollback and a statement under another context in the same
// run are not interrupted.
func TestDeadlineDoesNotReachCleanup(t *testing.T) {
	db, s := mustSession(t)
	mustWorker(t, db)
	tctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.run(func() error {
		if err := s.Begin(tctx); err != nil {
			return err
		}
		_, err := s.Exec(tctx, nil, []byte(`UPDATE ff_worker_registry SET lanes = lanes WHERE last_heartbeat_ms IN (`+endless+`SELECT x FROM c WHERE x = 0)`), nil)
		// SQLite rolled back the transaction the interrupted write was in
		if err == nil || !errors.Is(err, errTxLost) {
			t.Errorf("the interrupted write in a transaction = %v, want it to say SQLite rolled back the transaction", err)
		}
		time.Sleep(3 * reinterruptEvery) // the tick's watcher keeps interrupting
		if err := s.Rollback(tctx); err != nil {
			return fmt.Errorf("tx_rollback: %w", err)
		}
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = s.Query(cctx, nil, []byte(`SELECT 1`), nil, 1<<20)
		return err
	})
	if err != nil {
		t.Errorf("cleanup after the deadline: %v", err)
	}
}

// TestInterruptRepeats: an interrupt that arrives before a statement starts
// is forgotten by SQLite when it does; the armed watcher interrupts again
// and stops the statement anyway.
func TestInterruptRepeats(t *testing.T) {
	_, s := mustSession(t)
	if s.intr == nil {
		t.Fatal("no interrupter")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	disarm := s.intr.arm(ctx)
	defer disarm()
	time.Sleep(2 * reinterruptEvery) // the first interrupt finds no statement
	start := time.Now()
	err := s.run(func() error {
		// a context that is never done: the session itself arms nothing
		_, err := s.Query(context.Background(), nil, []byte(endless+`SELECT count(*) FROM c`), nil, 1<<20)
		return err
	})
	if d := time.Since(start); d > interruptBound {
		t.Errorf("a statement started after the interrupt ran %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupt") {
		t.Errorf("a statement started after the interrupt = %v, want it interrupted", err)
	}
}
