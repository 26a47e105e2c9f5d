package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

func (a *app) seedFlags() (*flag.FlagSet, *string) {
	fs := newFlagSet("demo-seed")
	db := fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file (env "+envDB+")")
	return fs, db
}

// Demo data set: a few budgets past their reset time and workers past
// their TTL, so both reconcilers have work on their first ticks, plus some
// that come due over the next minute so the log keeps moving.
const (
	demoBudgets        = 30 // of which demoDueBudgets are due now
	demoDueBudgets     = 24
	demoWorkers        = 12 // of which demoExpiredWorkers have expired
	demoExpiredWorkers = 8
)

// cmdDemoSeed migrates the database and, if it holds no budgets and no
// workers, inserts the demo data set. `make run` calls it.
func (a *app) cmdDemoSeed(args []string) int {
	fs, path := a.seedFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("demo-seed: unexpected argument %q", pos[0])
		return exitUsage
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, *path, sqlite.Options{})
	if err != nil {
		a.failf("demo-seed: %v", err)
		return exitFail
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		a.failf("demo-seed: database %s: %v", *path, err)
		return exitFail
	}
	seeded, err := seedDemo(ctx, db.SQL, time.Now().UnixMilli())
	if err != nil {
		a.failf("demo-seed: database %s: %v", *path, err)
		return exitFail
	}
	if !seeded {
		fmt.Fprintf(a.stdout, "%s already has budgets or workers; not seeding\n", *path)
		return exitOK
	}
	fmt.Fprintf(a.stdout, "seeded %s: %d budgets (%d due now), %d workers (%d expired)\n",
		*path, demoBudgets, demoDueBudgets, demoWorkers, demoExpiredWorkers)
	return exitOK
}

// seedDemo inserts the demo data set at now unless the tables have rows.
func seedDemo(ctx context.Context, db *sql.DB, now int64) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ff_budget_policy) + (SELECT count(*) FROM ff_worker_registry)`).Scan(&n); err != nil {
		return false, fmt.Errorf("count rows: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	resetEvery := []int64{20_000, 30_000, 45_000}
	for i := range demoBudgets {
		id := fmt.Sprintf("demo-budget-%02d", i+1)
		next := now - int64(i+1)*1000 // due, the earliest first
		if i >= demoDueBudgets {
			next = now + int64(i-demoDueBudgets+1)*10_000
		}
		policy := fmt.Sprintf(`{"reset_interval_ms":%d}`, resetEvery[i%len(resetEvery)])
		if _, err := tx.ExecContext(ctx, `INSERT INTO ff_budget_policy
			(partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, scope_type, scope_id,
			 enforcement_mode, breach_count, last_breach_at_ms, last_breach_dim, next_reset_at_ms)
			VALUES (0, ?, ?, ?, ?, 'tenant', ?, 'hard', 1, ?, 'tokens', ?)`,
			id, policy, now-3_600_000, now-60_000, fmt.Sprintf("tenant-%d", i%5), now-30_000, next); err != nil {
			return false, fmt.Errorf("insert budget %s: %w", id, err)
		}
		for j, dim := range []string{"tokens", "requests"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ff_budget_usage
				(partition_key, budget_id, dimensions_key, current_value, last_reset_at_ms, updated_at_ms)
				VALUES (0, ?, ?, ?, NULL, ?)`, id, dim, (i+1)*(j+1)*137, now-10_000); err != nil {
				return false, fmt.Errorf("insert usage of %s: %w", id, err)
			}
		}
	}
	for i := range demoWorkers {
		id := fmt.Sprintf("demo-worker-%02d", i+1)
		heartbeat, ttl := now-120_000, int64(30_000) // expired 90 s ago
		if i >= demoExpiredWorkers {
			heartbeat, ttl = now, int64(15_000*(i-demoExpiredWorkers+1)) // expires in 15-60 s
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ff_worker_registry
			(namespace, worker_instance_id, worker_id, lanes, capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms)
			VALUES ('demo', ?, ?, 'default', 'cpu', ?, ?, ?)`, id, fmt.Sprintf("w%d", i%4), heartbeat, ttl, now-600_000); err != nil {
			return false, fmt.Errorf("insert worker %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}
