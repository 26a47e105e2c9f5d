package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// pgSizes are the Postgres scenarios' rows: due budgets spread over the 32
// budget partitions, expired and live workers over the 256 worker ones.
type pgSizes struct{ DueBudgets, Budgets, Expired, Workers int }

var pgFullSizes = pgSizes{DueBudgets: 6_400, Budgets: 32_000, Expired: 25_600, Workers: 256_000}

// pgBench runs the Postgres scenarios: budget_reset's drain and
// worker_ttl's sweep, partition by partition, by one daemon and by three
// that split the partitions as their leases would. A "daemon" here is a
// runner of the plugin's wasm build on a PostgreSQL store of its own
// (its own pool and plugin connection), ticking its partitions in order:
// the daemon's work without its scheduler and heartbeats.
func (b *bench) pgBench() error {
	admin := os.Getenv(pgtest.EnvDSN)
	if admin == "" {
		admin = pgtest.DefaultDSN
	}
	ctx := b.ctx
	probe, err := pgx.Connect(ctx, admin)
	if err != nil {
		if b.only["pg"] {
			return fmt.Errorf("no PostgreSQL at %s: %w", pgtest.Redact(admin), err)
		}
		logf("postgres scenarios skipped: no server at %s (set %s)", pgtest.Redact(admin), pgtest.EnvDSN)
		return nil
	}
	probe.Close(ctx)
	sz := pgFullSizes
	if *flagQuick {
		sz = pgSizes{sz.DueBudgets / 10, sz.Budgets / 10, sz.Expired / 10, sz.Workers / 10}
	}
	suffix := randHex()
	prefix := "ffbench_" + suffix + "_"
	defer func() {
		if err := pgtest.DropRoles(admin, prefix); err != nil {
			logf("drop roles %s*: %v", prefix, err)
		}
	}()
	tmpl := "ffbench_tmpl_" + suffix
	logf("postgres: preparing %s: %d budgets (%d due), %d workers (%d expired)", tmpl, sz.Budgets, sz.DueBudgets, sz.Workers, sz.Expired)
	if err := pgCreate(ctx, admin, tmpl, ""); err != nil {
		return err
	}
	defer pgDrop(ctx, admin, tmpl)
	if err := pgFill(ctx, withDB(admin, tmpl), prefix, sz); err != nil {
		return fmt.Errorf("prepare %s: %w", tmpl, err)
	}
	for _, sc := range []struct {
		name, plugin string
		partitions   int
		title        string
		want         int
	}{
		{"pg_budget_drain", "budget_reset", postgres.BudgetPartitions,
			fmt.Sprintf("Postgres budget_reset drain: %d due of %d budgets in 32 partitions, rounds until idle", sz.DueBudgets, sz.Budgets), sz.DueBudgets},
		{"pg_worker_sweep", "worker_ttl", postgres.WorkerPartitions,
			fmt.Sprintf("Postgres worker_ttl sweep: %d expired of %d workers in 256 partitions, one round", sz.Expired, sz.Workers), sz.Expired},
	} {
		for _, daemons := range []int{1, 3} {
			logf("postgres: %s, %d daemons (%d runs)", sc.name, daemons, *flagRuns)
			m := b.res.addMeasure(fmt.Sprintf("%s_%dd", sc.name, daemons), fmt.Sprintf("%s, %d daemon(s)", sc.title, daemons), "ms")
			for run := range *flagRuns {
				db := fmt.Sprintf("ffbench_run_%s_%d", suffix, run)
				if err := pgCreate(ctx, admin, db, tmpl); err != nil {
					return err
				}
				d, done, err := b.pgRound(withDB(admin, db), prefix, sc.plugin, sc.partitions, daemons)
				pgDrop(ctx, admin, db)
				if err != nil {
					return fmt.Errorf("%s, %d daemons: %w", sc.name, daemons, err)
				}
				if done != int64(sc.want) {
					return fmt.Errorf("%s, %d daemons: processed %d, want %d", sc.name, daemons, done, sc.want)
				}
				m.add(ms(d))
			}
		}
	}
	return nil
}

// pgRound ticks plugin on every partition at benchNow with daemons runners,
// runner i taking partitions i, i+daemons, ..., each runner going round
// its partitions until a round processes nothing. It returns the time until
// every runner is done and the items processed.
func (b *bench) pgRound(dsn, prefix, plugin string, partitions, daemons int) (time.Duration, int64, error) {
	ctx := b.ctx
	type runner struct {
		r  *host.Runner
		st *postgres.Store
	}
	rs := make([]runner, daemons)
	defer func() {
		for _, x := range rs {
			if x.r != nil {
				x.r.Close(ctx)
			}
			if x.st != nil {
				x.st.Close()
			}
		}
	}()
	for i := range rs {
		st, err := postgres.Open(ctx, dsn, postgres.Options{RolePrefix: prefix})
		if err != nil {
			return 0, 0, err
		}
		rs[i].st = st
		if rs[i].r, err = host.NewRunner(ctx, st, b.plugins[plugin], host.RunnerOptions{}); err != nil {
			return 0, 0, err
		}
		if _, err := rs[i].r.TickPartition(ctx, 0, i, nil); err != nil { // warm-up: nothing is due at 0
			return 0, 0, err
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		errs  []error
	)
	t0 := time.Now()
	for i := range rs {
		wg.Go(func() {
			for {
				var round int64
				for p := i; p < partitions; p += daemons {
					rep, err := rs[i].r.TickPartition(ctx, benchNow, p, nil)
					if err == nil && rep.Errors > 0 {
						err = fmt.Errorf("partition %d: %d errors", p, rep.Errors)
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					round += rep.Processed
				}
				mu.Lock()
				total += round
				mu.Unlock()
				if round == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	if len(errs) > 0 {
		return d, total, errs[0]
	}
	return d, total, nil
}

// pgFill migrates the database at dsn and fills it.
func pgFill(ctx context.Context, dsn, prefix string, sz pgSizes) error {
	st, err := postgres.Open(ctx, dsn, postgres.Options{RolePrefix: prefix})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	// Due budgets first (next reset at 1), the rest far in the future;
	// every budget has two usage rows.
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, next_reset_at_ms)
SELECT i %% 32, 'b' || i, '{"reset_interval_ms": 3600000}', 1, 1, CASE WHEN i < %d THEN 1 + i %% 1000 ELSE %d END
FROM generate_series(0, %d) i`, sz.DueBudgets, benchNow*2, sz.Budgets-1),
		`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value, updated_at_ms)
SELECT partition_key, budget_id, d, 7, 1 FROM ff_budget_policy, (VALUES ('tokens'), ('requests')) v(d)`,
		fmt.Sprintf(`INSERT INTO ff_worker_registry (partition_key, namespace, worker_instance_id, worker_id, lanes, capabilities_csv,
last_heartbeat_ms, liveness_ttl_ms, registered_at_ms)
SELECT i %% 256, 'ns', 'w' || i, 'w' || i, '{a,b}', 'gpu', CASE WHEN i < %d THEN 1 ELSE %d END, 30000, 1
FROM generate_series(0, %d) i`, sz.Expired, benchNow, sz.Workers-1),
		`ANALYZE`,
	} {
		if _, err := st.Pool().Exec(ctx, q); err != nil {
			return err
		}
	}
	for plugin, writes := range map[string][]string{
		"budget_reset": {"ff_budget_policy", "ff_budget_usage"},
		"worker_ttl":   {"ff_worker_registry", "ff_worker_registry_event"},
	} {
		if err := st.EnsureRole(ctx, plugin, nil, writes); err != nil {
			return err
		}
	}
	return nil
}

func pgCreate(ctx context.Context, admin, db, template string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	q := "CREATE DATABASE " + pgx.Identifier{db}.Sanitize()
	if template != "" {
		q += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

func pgDrop(ctx context.Context, admin, db string) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		logf("drop database %s: %v", db, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		logf("drop database %s: %v", db, err)
	}
}

// withDB returns the URL dsn pointing at database db.
func withDB(dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + db
	return u.String()
}

func randHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
