package sqlsandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// mustRun runs fn on s's connection and fails the test if it fails.
func mustRun(t *testing.T, s *Session, fn func() error) {
	t.Helper()
	if err := s.run(fn); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackAfterDeadline: tx_rollback rolls back although the tick's
// context is done and its interrupter has fired, so the write lock is
// free at once.
func TestRollbackAfterDeadline(t *testing.T) {
	db, s := mustSession(t)
	tctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	mustRun(t, s, func() error {
		if err := s.Begin(tctx); err != nil {
			return err
		}
		if _, err := s.Exec(tctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', 'w', 'w', '', '', 0, 0, 0)`), nil); err != nil {
			return err
		}
		// a read: interrupting it leaves the transaction open
		if _, err := s.Query(tctx, nil, []byte(endless+`SELECT count(*) FROM c`), nil, 1<<20); err == nil {
			t.Error("the endless query succeeded")
		}
		if s.glue.autocommit() {
			t.Fatal("the interrupted read ended the transaction; the test needs it open")
		}
		time.Sleep(3 * reinterruptEvery) // the tick's watcher keeps interrupting
		return s.Rollback(tctx)
	})
	if !s.glue.autocommit() {
		t.Error("after tx_rollback SQLite still has a transaction open")
	}
	if err := testutil.TryWriteLock(db.Path()); err != nil {
		t.Errorf("after tx_rollback another writer cannot take the lock: %v", err)
	}
	var n int
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry`).Scan(&n)
	if n != 0 {
		t.Errorf("the rolled back row is in the database")
	}
}

// TestEndTickRollsBackWhatSQLiteHasOpen: the runner's cleanup asks SQLite,
// not the session's flags, whether a transaction is open, and rolls back
// under its own context after the tick's deadline.
func TestEndTickRollsBackWhatSQLiteHasOpen(t *testing.T) {
	tests := []struct {
		name  string
		begin func(s *Session, ctx context.Context) error
	}{
		{"plugin transaction", (*Session).Begin},
		{"transaction the session does not know of", func(s *Session, ctx context.Context) error {
			return s.control(ctx, "BEGIN IMMEDIATE")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, s := mustSession(t)
			tctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			var left error
			mustRun(t, s, func() error {
				if err := tc.begin(s, tctx); err != nil {
					return err
				}
				if _, err := s.Exec(tctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', 'w', 'w', '', '', 0, 0, 0)`), nil); err != nil {
					return err
				}
				<-tctx.Done()
				time.Sleep(3 * reinterruptEvery)
				cctx, cancel := cleanupContext(context.Background())
				defer cancel()
				left = s.endTick(cctx)
				return nil
			})
			if !errors.Is(left, store.ErrLeftOpen) {
				t.Errorf("endTick = %v, want store.ErrLeftOpen", left)
			}
			if err := testutil.TryWriteLock(db.Path()); err != nil {
				t.Errorf("after endTick another writer cannot take the lock: %v", err)
			}
		})
	}
}

// TestLostTransactionCalls: after SQLite rolled back the plugin's
// transaction every call but tx_rollback fails with a message that says
// so; tx_rollback succeeds and the session is usable again.
func TestLostTransactionCalls(t *testing.T) {
	db, s := mustSession(t)
	ctx := context.Background()
	insert := func(id string) error {
		_, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', ?, 'w', '', '', 0, 0, 0)`), mustArgs(t, id))
		return err
	}
	mustRun(t, s, func() error {
		if err := s.Begin(ctx); err != nil {
			return err
		}
		if err := insert("a"); err != nil {
			return err
		}
		_, err := s.Exec(ctx, nil, []byte(`INSERT OR ROLLBACK INTO ff_worker_registry VALUES ('ns', 'a', 'w', '', '', 0, 0, 0)`), nil)
		if status, msg := s.Explain(err); status != abi.StatusConstraint || !strings.Contains(msg, "UNIQUE") || !strings.HasSuffix(msg, errTxLost.Error()) {
			t.Errorf("the statement SQLite rolled back on: %v %q, want constraint, its own message and that the transaction is gone", status, msg)
		}
		calls := []struct {
			name string
			call func() error
		}{
			{"exec", func() error { return insert("b") }},
			{"query", func() error {
				_, err := s.Query(ctx, nil, []byte(`SELECT 1`), nil, 1<<20)
				return err
			}},
			{"tx_begin", func() error { return s.Begin(ctx) }},
			{"tx_commit", func() error { return s.Commit(ctx) }},
		}
		for _, c := range calls {
			err := c.call()
			if status, msg := s.Explain(err); status != abi.StatusOther || msg != errTxLost.Error() {
				t.Errorf("%s after the loss: %v %q, want other %q", c.name, status, msg, errTxLost)
			}
		}
		if err := s.Rollback(ctx); err != nil {
			t.Errorf("tx_rollback after the loss: %v", err)
		}
		return insert("c")
	})
	var ids []string
	rows, err := db.SQL.Query(`SELECT worker_instance_id FROM ff_worker_registry ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if strings.Join(ids, ",") != "c" {
		t.Errorf("rows: %q, want only c", ids)
	}
}

// TestCommitHookRefusesStrayCommits: a write that would commit on its own
// while the plugin has a transaction, or at all in a dry run, is rolled
// back instead; the host's own COMMIT goes through.
func TestCommitHookRefusesStrayCommits(t *testing.T) {
	db, _ := mustSession(t)
	ctx := context.Background()
	desc := describe.Descriptor{Name: "t", Writes: []string{"ff_worker_registry"}}
	tests := []struct {
		name  string
		hold  bool
		inTx  bool
		wantN int
	}{
		{"autocommit write", false, false, 1},
		{"plugin transaction SQLite no longer has", false, true, 0},
		{"dry run without its outer transaction", true, false, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openSession(ctx, db, desc, DefaultLimits, tc.hold, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			s.inTx = tc.inTx // as if SQLite had just rolled it back
			id := []byte{byte('a' + i)}
			_ = s.run(func() error {
				_, err := s.exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('hook', ?, 'w', '', '', 0, 0, 0)`), mustArgs(t, string(id)))
				return err
			})
			var n int
			db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry WHERE worker_instance_id = ?`, string(id)).Scan(&n)
			if n != tc.wantN {
				t.Errorf("%d rows committed, want %d", n, tc.wantN)
			}
		})
	}
	// The host's COMMIT of a plugin transaction.
	db, s := mustSession(t)
	mustRun(t, s, func() error {
		if err := s.Begin(ctx); err != nil {
			return err
		}
		if _, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('hook', 'tx', 'w', '', '', 0, 0, 0)`), nil); err != nil {
			return err
		}
		return s.Commit(ctx)
	})
	var n int
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry WHERE worker_instance_id = 'tx'`).Scan(&n)
	if n != 1 {
		t.Errorf("the host's COMMIT left %d rows, want 1", n)
	}
}

// mustArgs encodes a call's arguments.
func mustArgs(t *testing.T, args ...any) []byte {
	t.Helper()
	b, err := abi.AppendArgs(nil, args)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTransactionLossCauses: whatever SQLite does with the transaction on
// an error that may end it, the session agrees with SQLite: if it is gone
// the next statement fails until tx_rollback, if not the next statement
// runs in it; either way nothing of it reaches the database.
func TestTransactionLossCauses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     testOptions
		trap     string
		wantLost bool // SQLite always rolls back on this one
	}{
		{name: "on conflict rollback", trap: `INSERT OR ROLLBACK INTO ff_worker_registry VALUES ('ns', 'a', 'w', '', '', 0, 0, 0)`, wantLost: true},
		{name: "heap cap in a read", trap: `SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT DISTINCT hex(zeroblob(1000)) || x FROM c)`},
		{name: "heap cap in a write", trap: `INSERT INTO ff_worker_registry SELECT 'ns', x, 'w', '', '', 0, 0, 0 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT DISTINCT hex(zeroblob(1000)) || x AS x FROM c)`},
		{name: "database full", opts: testOptions{MaxSizeBytes: 256 << 10}, trap: `INSERT INTO ff_worker_registry SELECT 'ns', 'f' || x, hex(zeroblob(1000)), '', '', 0, 0, 0 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := mustDB(t, tc.opts)
			s, err := openSession(ctx, db, describe.Descriptor{Name: "t", Writes: []string{"ff_worker_registry"}}, DefaultLimits, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			mustRun(t, s, func() error {
				if err := s.Begin(ctx); err != nil {
					return err
				}
				if _, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', 'a', 'w', '', '', 0, 0, 0)`), nil); err != nil {
					return err
				}
				_, trapErr := s.Query(ctx, nil, []byte(tc.trap), nil, 1<<20)
				if trapErr == nil {
					t.Fatal("the trap statement succeeded")
				}
				lost := s.glue.autocommit()
				t.Logf("SQLite rolled back the transaction: %v", lost)
				if tc.wantLost && !lost {
					t.Errorf("SQLite kept the transaction after %v", trapErr)
				}
				if lost != errors.Is(trapErr, errTxLost) {
					t.Errorf("SQLite lost the transaction: %v; the statement's error: %v", lost, trapErr)
				}
				_, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', 'b', 'w', '', '', 0, 0, 0)`), nil)
				if lost && !errors.Is(err, errTxLost) {
					t.Errorf("a write after the loss = %v, want it refused", err)
				}
				if !lost && err != nil {
					t.Errorf("a write in the transaction SQLite kept = %v", err)
				}
				return s.Rollback(ctx)
			})
			var n int
			db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry`).Scan(&n)
			if n != 0 {
				t.Errorf("%d rows of the transaction reached the database", n)
			}
			if err := testutil.TryWriteLock(db.Path()); err != nil {
				t.Errorf("another writer cannot take the lock: %v", err)
			}
		})
	}
}
