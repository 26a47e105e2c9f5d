// Package reliability holds the long-running safety tests: other writers
// beside the daemon, crash safety and standby takeover.
package reliability

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

const (
	writerEnv      = "FFWASMHOST_TEST_WRITER"
	writerDuration = 4 * time.Second // how long the other process writes
	liveWorkers    = 20              // heartbeat all the time; must survive
	budgets        = 10              // usage reported all the time
	workerTTL      = 1500            // ms
)

// writerStats is what the writer process reports on stdout.
type writerStats struct {
	Heartbeats, Usage, Registered, Busy, Failed int
	Errors                                      []string
}

// TestMain turns the test binary into the other writer when asked, so the
// writer is a separate process with its own connections and locks.
func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		st := runWriter(path)
		json.NewEncoder(os.Stdout).Encode(st)
		os.Exit(0)
	}
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

// runWriter plays a FlowFabric process: it heartbeats live workers,
// registers short-lived ones that then die, and reports budget usage,
// logging each usage report with the reset it saw in the same transaction.
func runWriter(path string) writerStats {
	var st writerStats
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		st.Errors = append(st.Errors, err.Error())
		return st
	}
	defer db.Close()
	fail := func(err error) {
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked") {
			st.Busy++
		} else {
			st.Failed++
		}
		if len(st.Errors) < 5 {
			st.Errors = append(st.Errors, err.Error())
		}
	}
	ctx := context.Background()
	end := time.Now().Add(writerDuration)
	for i := 0; time.Now().Before(end); i++ {
		now := time.Now().UnixMilli()
		if _, err := db.ExecContext(ctx, `UPDATE ff_worker_registry SET last_heartbeat_ms = ? WHERE namespace = 'live' AND worker_instance_id = ?`,
			now, fmt.Sprint("w", i%liveWorkers)); err != nil {
			fail(err)
		} else {
			st.Heartbeats++
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO ff_worker_registry VALUES ('doomed', ?, 'w', 'l', '', ?, 50, ?)`,
			fmt.Sprint("d", i), now, now); err != nil {
			fail(err)
		} else {
			st.Registered++
		}
		err := func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			id := fmt.Sprint("b", i%budgets)
			if _, err := tx.ExecContext(ctx, `UPDATE ff_budget_usage SET current_value = current_value + 1, updated_at_ms = ? WHERE partition_key = 0 AND budget_id = ?`, now, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO writer_log (budget_id, seen_reset) SELECT budget_id, last_reset_at_ms FROM ff_budget_usage WHERE partition_key = 0 AND budget_id = ?`, id); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			fail(err)
		} else {
			st.Usage++
		}
		time.Sleep(2 * time.Millisecond)
	}
	return st
}

// TestOtherWritersLoseNothing runs both reconcilers ticking every 20 ms
// while a separate process writes: no heartbeat-kept worker is swept, every
// usage report made after a budget's last reset is still counted, and the
// other process never fails with busy because of the daemon.
func TestOtherWritersLoseNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ff.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []time.Duration
	sup := sched.NewSupervisor(sched.SupervisorConfig{Logger: discard()})
	eng, err := plugintest.Engine()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"../../plugins/budget_reset", "../../plugins/worker_ttl"} {
		p, err := eng.Load(ctx, plugintest.Build(t, pkg), host.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{LockHeld: func(d time.Duration) {
			mu.Lock()
			held = append(held, d)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(ctx)
		if err := sup.Add(testutil.RunnerJob(r, 20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	// Seed last, so no time passes between a heartbeat and the first tick.
	now := time.Now().UnixMilli()
	mustExec(t, db.SQL, `CREATE TABLE writer_log (budget_id TEXT NOT NULL, seen_reset INTEGER)`)
	for i := 0; i < liveWorkers; i++ {
		mustExec(t, db.SQL, `INSERT INTO ff_worker_registry VALUES ('live', ?, 'w', 'l', '', ?, ?, ?)`, fmt.Sprint("w", i), now, workerTTL, now)
	}
	for i := 0; i < budgets; i++ {
		id := fmt.Sprint("b", i)
		mustExec(t, db.SQL, `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, next_reset_at_ms) VALUES (0, ?, '{"reset_interval_ms":150}', ?, ?, ?)`, id, now, now, now)
		mustExec(t, db.SQL, `INSERT INTO ff_budget_usage VALUES (0, ?, 'tokens', 0, NULL, ?)`, id, now)
	}

	sup.Start()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if n := sup.Shutdown(10 * time.Second); n != 0 {
		t.Errorf("%d loops did not stop", n)
	}
	if err != nil {
		t.Fatalf("writer process: %v", err)
	}
	var st writerStats
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("writer output %q: %v", out, err)
	}
	t.Logf("writer: %+v", st)
	if st.Busy != 0 || st.Failed != 0 {
		t.Errorf("writer had %d busy and %d other failures: %v", st.Busy, st.Failed, st.Errors)
	}
	if st.Heartbeats == 0 || st.Usage == 0 {
		t.Fatalf("writer did no work: %+v", st)
	}

	var live, swept int
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'live'`).Scan(&live)
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'live'`).Scan(&swept)
	if live != liveWorkers || swept != 0 {
		t.Errorf("heartbeating workers: %d of %d left, %d swept; a successful heartbeat must keep its worker", live, liveWorkers, swept)
	}
	var doomedEvents int
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'doomed'`).Scan(&doomedEvents)
	if doomedEvents == 0 {
		t.Error("no short-lived worker was swept: the daemon did not run beside the writer")
	}

	// Usage after the last reset: exactly the reports that saw that reset.
	rows, err := db.SQL.Query(`SELECT u.budget_id, u.current_value,
  (SELECT count(*) FROM writer_log l WHERE l.budget_id = u.budget_id AND l.seen_reset IS u.last_reset_at_ms),
  u.last_reset_at_ms IS NOT NULL
FROM ff_budget_usage u`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	resets := 0
	for rows.Next() {
		var id string
		var value, logged int64
		var wasReset bool
		if err := rows.Scan(&id, &value, &logged, &wasReset); err != nil {
			t.Fatal(err)
		}
		if wasReset {
			resets++
		}
		if value != logged {
			t.Errorf("budget %s: current_value %d, but %d reports were made after its last reset", id, value, logged)
		}
	}
	if resets == 0 {
		t.Error("no budget was reset while the writer ran")
	}

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(held)
	if len(held) > 0 {
		t.Logf("daemon write lock held per transaction over %d transactions: p50 %v, p99 %v, max %v",
			len(held), held[len(held)/2], held[len(held)*99/100], held[len(held)-1])
	}
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		tb.Fatalf("exec %q: %v", q, err)
	}
}
