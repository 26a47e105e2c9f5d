package host_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestRollbackAfterTimeoutReleasesLock: a plugin whose query the tick's
// deadline interrupts inside its transaction, and which then calls
// tx_rollback, leaves no transaction open: its rollback runs although the
// tick's context is done, or, if the guest is stopped before it gets
// there, the host's does. TestRollbackAfterDeadline checks the first on
// its own.
func TestRollbackAfterTimeoutReleasesLock(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "rollback_after_timeout"), plugintest.Options{Limits: host.Limits{TickTimeout: 300 * time.Millisecond}})
	for range 2 {
		_, err := h.Tick(1)
		fxWantErr(t, err, []error{host.ErrTimeout})
		if strings.Contains(err.Error(), "rollback:") {
			t.Errorf("tick = %v; want tx_rollback to succeed after the deadline", err)
		}
		if err := testutil.TryWriteLock(h.Path); err != nil {
			t.Fatalf("after the tick another writer cannot take the lock: %v", err)
		}
		if n, _ := h.Int(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'rollback_after_timeout'`); n != 0 {
			t.Errorf("the rolled back row is in the database (%d rows)", n)
		}
	}
}

// txLostSetup creates the fixture's input table with trap in it, and the
// trigger the RAISE(ROLLBACK) case fires.
func txLostSetup(trap string) func(*sql.DB) error {
	return func(db *sql.DB) error {
		_, err := db.Exec(`CREATE TABLE tx_lost_input (sql TEXT NOT NULL);
INSERT INTO tx_lost_input VALUES (?);
CREATE TRIGGER tx_lost_boom BEFORE INSERT ON ff_worker_registry WHEN NEW.namespace = 'boom'
BEGIN SELECT RAISE(ROLLBACK, 'boom refused'); END;`, trap)
		return err
	}
}

// txLostTraps are statements with which SQLite rolls back the transaction
// they run in.
var txLostTraps = []struct{ name, sql string }{
	{"on conflict rollback", `INSERT OR ROLLBACK INTO ff_worker_registry VALUES ('tx_lost', 'in_tx', 'w', '', '', 0, 0, 0)`},
	{"raise rollback in a trigger", `INSERT INTO ff_worker_registry VALUES ('boom', 'b', 'w', '', '', 0, 0, 0)`},
}

// TestLostTransaction: once SQLite rolled back a plugin's transaction, its
// further statements and tx_commit fail until it calls tx_rollback, and
// nothing it writes meanwhile reaches the database.
func TestLostTransaction(t *testing.T) {
	t.Parallel()
	for _, tc := range txLostTraps {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := plugintest.New(t, fxWasm(t, "tx_lost"), plugintest.Options{Setup: txLostSetup(tc.sql)})
			_, err := h.Tick(1)
			fxWantErr(t, err, nil,
				"before=ok", "begin=ok", "in_tx=ok",
				"rolled back by SQLite; call tx_rollback | after=ffhost other: the transaction was rolled back by SQLite; call tx_rollback",
				"query=ffhost other: the transaction was rolled back by SQLite",
				"commit=ffhost other: the transaction was rolled back by SQLite",
				"rollback=ok")
			if errors.Is(err, host.ErrLeftOpen) {
				t.Errorf("the plugin rolled back, yet the tick says it left its transaction open: %v", err)
			}
			// before committed on its own; in_tx went with the transaction,
			// after was refused
			var got []string
			rows, qerr := h.DB.Query(`SELECT worker_instance_id FROM ff_worker_registry WHERE namespace IN ('tx_lost', 'boom') ORDER BY 1`)
			if qerr != nil {
				t.Fatal(qerr)
			}
			for rows.Next() {
				var id string
				rows.Scan(&id)
				got = append(got, id)
			}
			rows.Close()
			if strings.Join(got, ",") != "before" {
				t.Errorf("rows written: %q, want only before", got)
			}
			if err := testutil.TryWriteLock(h.Path); err != nil {
				t.Errorf("after the tick another writer cannot take the lock: %v", err)
			}
		})
	}
}

// TestDryRunLostWritesNothing: a dry run whose outer transaction SQLite
// rolls back refuses every statement after it, and every later tick, so
// the database is unchanged after the dry run, table by table.
func TestDryRunLostWritesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range txLostTraps {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := plugintest.New(t, fxWasm(t, "tx_lost"), plugintest.Options{DryRun: true, Setup: func(db *sql.DB) error {
				testutil.SeedEveryTable(t, db)
				return txLostSetup(tc.sql)(db)
			}})
			before := fxDump(t, h.DB)
			_, err := h.Tick(1)
			fxWantErr(t, err, []error{host.ErrDryRunLost},
				"before=ok", "begin=ok", "in_tx=ok",
				"after=ffhost other: "+host.ErrDryRunLost.Error(),
				"query=ffhost other: "+host.ErrDryRunLost.Error(),
				"commit=ffhost other: "+host.ErrDryRunLost.Error(),
				"rollback=ok")
			_, err = h.Tick(2)
			fxWantErr(t, err, []error{host.ErrDryRunLost})
			if err := h.Runner.Close(context.Background()); err != nil {
				t.Fatalf("close the dry run: %v", err)
			}
			if after := fxDump(t, h.DB); after != before {
				t.Errorf("the dry run changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if err := testutil.TryWriteLock(h.Path); err != nil {
				t.Errorf("after the dry run another writer cannot take the lock: %v", err)
			}
		})
	}
}
