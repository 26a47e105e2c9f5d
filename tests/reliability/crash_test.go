package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

const (
	crashRounds      = 50
	crashBudget      = 3 * time.Minute // the rounds stop here even if fewer ran
	budgetsPerRound  = 300
	workersPerRound  = 300
	seedCurrentValue = 5
	seedBreachAt     = 123
	hugeInterval     = int64(1) << 40 // each budget is reset once in the test
)

// TestCrashLeavesNothingHalfApplied starts the daemon again and again on a
// database with work due, SIGKILLs it at a random moment while it ticks,
// and checks after every kill that the database is intact and that every
// budget is fully reset or fully untouched and every swept worker has its
// event (and the reverse). A last start must finish all the work.
func TestCrashLeavesNothingHalfApplied(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take about a minute")
	}
	binary, plugins := daemonBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.db")
	cache := filepath.Join(dir, "cache")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(crashBudget)
	rounds, killedMidWork := 0, 0
	for ; rounds < crashRounds && time.Now().Before(deadline); rounds++ {
		seedRound(t, db.SQL, rounds, rng)
		cmd := exec.Command(binary, "run", "--db", path, "--plugins", plugins, "--http", "",
			"--cache-dir", cache, "--interval", "budget_reset=5ms", "--interval", "worker_ttl=7ms", "--log-format", "json")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+rng.IntN(600)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if due := countDue(t, db.SQL); due > 0 {
			killedMidWork++
		}
		checkConsistent(t, db.SQL, rounds)
		if t.Failed() {
			t.Fatalf("inconsistent after kill %d", rounds+1)
		}
	}
	if rounds < crashRounds {
		t.Logf("ran %d of %d rounds within %v", rounds, crashRounds, crashBudget)
	}
	t.Logf("%d kills, %d of them with work still due", rounds, killedMidWork)
	if killedMidWork == 0 {
		t.Error("no kill landed while work was due: the test did not exercise a crash during ticks")
	}
	// The next start finishes the work.
	out, err := exec.Command(binary, "tick", "--db", path, "--plugins", plugins, "--cache-dir", cache,
		"--until-idle", "--now", fmt.Sprint(time.Now().UnixMilli()), "budget_reset").CombinedOutput()
	if err != nil {
		t.Fatalf("tick --until-idle budget_reset: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "tick", "--db", path, "--plugins", plugins, "--cache-dir", cache,
		"--now", fmt.Sprint(time.Now().UnixMilli()), "worker_ttl").CombinedOutput()
	if err != nil {
		t.Fatalf("tick worker_ttl: %v\n%s", err, out)
	}
	checkConsistent(t, db.SQL, rounds-1)
	if due := countDue(t, db.SQL); due != 0 {
		t.Errorf("%d budgets or workers still due after the final run", due)
	}
}

// seedRound adds due budgets (1-3 usage rows each) and expired workers.
func seedRound(tb testing.TB, db *sql.DB, round int, rng *rand.Rand) {
	tb.Helper()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; i < budgetsPerRound; i++ {
		id := fmt.Sprintf("r%02d-b%04d", round, i)
		if _, err := tx.Exec(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms,
breach_count, soft_breach_count, last_breach_at_ms, last_breach_dim, next_reset_at_ms)
VALUES (0, ?, ?, 1, 1, 2, 1, ?, 'tokens', ?)`, id, fmt.Sprintf(`{"reset_interval_ms":%d}`, hugeInterval), seedBreachAt, 1000+i); err != nil {
			tb.Fatal(err)
		}
		for d := 0; d <= rng.IntN(3); d++ {
			if _, err := tx.Exec(`INSERT INTO ff_budget_usage VALUES (0, ?, ?, ?, NULL, 1)`, id, fmt.Sprint("dim", d), seedCurrentValue); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i := 0; i < workersPerRound; i++ {
		if _, err := tx.Exec(`INSERT INTO ff_worker_registry VALUES ('crash', ?, 'w', 'lane', '', 0, 10, 0)`, fmt.Sprintf("r%02d-w%04d", round, i)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func countDue(tb testing.TB, db *sql.DB) int {
	tb.Helper()
	var budgets, workers int
	db.QueryRow(`SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms < ?`, hugeInterval).Scan(&budgets)
	db.QueryRow(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'crash'`).Scan(&workers)
	return budgets + workers
}

// checkConsistent asserts the crash invariants over every row seeded so far.
func checkConsistent(tb testing.TB, db *sql.DB, rounds int) {
	tb.Helper()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		tb.Errorf("integrity_check = %q, %v", ok, err)
	}
	// A budget is untouched: its seed exactly. Or reset: every usage row 0
	// at the reset's now, breach cleared, counters kept, rescheduled from now.
	var bad int
	err := db.QueryRow(`
SELECT count(*) FROM ff_budget_policy p WHERE NOT (
  (p.next_reset_at_ms < 1000000 AND p.updated_at_ms = 1 AND p.last_breach_at_ms = ? AND p.last_breach_dim = 'tokens'
   AND NOT EXISTS (SELECT 1 FROM ff_budget_usage u WHERE u.partition_key = 0 AND u.budget_id = p.budget_id
                   AND (u.current_value != ? OR u.last_reset_at_ms IS NOT NULL OR u.updated_at_ms != 1)))
  OR
  (p.updated_at_ms > 1 AND p.next_reset_at_ms = p.updated_at_ms + ? AND p.last_breach_at_ms IS NULL AND p.last_breach_dim IS NULL
   AND NOT EXISTS (SELECT 1 FROM ff_budget_usage u WHERE u.partition_key = 0 AND u.budget_id = p.budget_id
                   AND (u.current_value != 0 OR u.last_reset_at_ms IS NOT p.updated_at_ms OR u.updated_at_ms != p.updated_at_ms)))
) OR p.breach_count != 2 OR p.soft_breach_count != 1`, seedBreachAt, seedCurrentValue, hugeInterval).Scan(&bad)
	if err != nil {
		tb.Fatal(err)
	}
	if bad > 0 {
		tb.Errorf("%d budgets are half reset", bad)
	}
	// Seeded workers: gone with exactly one event, or present with none.
	var orphans int
	err = db.QueryRow(`
WITH seeded(id) AS (
  SELECT worker_instance_id FROM ff_worker_registry WHERE namespace = 'crash'
  UNION SELECT worker_instance_id FROM ff_worker_registry_event WHERE namespace = 'crash')
SELECT count(*) FROM seeded s WHERE
  EXISTS (SELECT 1 FROM ff_worker_registry r WHERE r.namespace = 'crash' AND r.worker_instance_id = s.id)
  = EXISTS (SELECT 1 FROM ff_worker_registry_event e WHERE e.namespace = 'crash' AND e.worker_instance_id = s.id AND e.event_kind = 'ttl_swept')`).Scan(&orphans)
	if err != nil {
		tb.Fatal(err)
	}
	if orphans > 0 {
		tb.Errorf("%d workers are gone without their ttl_swept event, or have one while still registered", orphans)
	}
	var seeded int
	db.QueryRow(`SELECT (SELECT count(*) FROM ff_worker_registry WHERE namespace = 'crash') + (SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'crash')`).Scan(&seeded)
	if want := rounds + 1; seeded != want*workersPerRound {
		tb.Errorf("%d seeded workers accounted for, want %d", seeded, want*workersPerRound)
	}
}
