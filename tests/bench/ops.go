package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// idleScaleRows are the table sizes of the idle-scale scenario.
var idleScaleRows = []int{200_000, 2_000_000}

// idleScale: the cost of an idle tick as its table grows. For each
// reconciler, the whole `ffwasmhost tick` process (start, open, load from
// a warm compilation cache, one tick, exit) on a table of 200,000 and of
// 2,000,000 rows with nothing due; and, in process, the write lock those
// idle ticks take (RunnerOptions.LockHeld).
func (b *bench) idleScale() error {
	bin := filepath.Join(b.work, "ffwasmhost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ffwasmhost/ffwasmhost/cmd/ffwasmhost").CombinedOutput(); err != nil {
		return fmt.Errorf("build ffwasmhost: %v\n%s", err, out)
	}
	plugins := filepath.Join(b.work, "idle-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"budget_reset", "worker_ttl"} {
		wasm, err := os.ReadFile(b.wasm[name])
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(plugins, name+".wasm"), wasm, 0o644); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		plugin string
		fill   func(rows int) func(*sql.Tx) error
	}{
		// budget_reset: every budget due a day after benchNow, or never.
		{"budget_reset", func(n int) func(*sql.Tx) error { return fillBudgets(sizes{Budgets: n}) }},
		// worker_ttl: every worker alive at benchNow.
		{"worker_ttl", func(n int) func(*sql.Tx) error { return fillWorkers(sizes{Workers: n}) }},
	} {
		var small float64
		for _, rows := range idleScaleRows {
			if *flagQuick {
				rows /= 10
			}
			name := fmt.Sprintf("idle_process_%s_%d", c.plugin, rows)
			logf("idle scale: %s, %d rows, whole-process tick (%d runs)", c.plugin, rows, *flagRuns)
			path := filepath.Join(b.work, name+".db")
			if err := createDB(b.ctx, path, c.fill(rows)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			m := b.res.addMeasure(name, fmt.Sprintf("%s: `ffwasmhost tick` process, %d rows, nothing due", c.plugin, rows), "ms")
			args := []string{"tick", "--db", path, "--plugins", plugins, "--cache-dir", b.cache,
				"--now", strconv.FormatInt(benchNow, 10), c.plugin}
			for run := -1; run < *flagRuns; run++ { // run -1 warms the cache and the page cache
				t0 := time.Now()
				out, err := exec.Command(bin, args...).CombinedOutput()
				d := time.Since(t0)
				if err != nil {
					return fmt.Errorf("%s: %v\n%s", name, err, out)
				}
				if run >= 0 {
					m.add(ms(d))
				}
			}
			if small == 0 {
				small = m.Median
			} else {
				b.res.addMeasure(fmt.Sprintf("idle_process_%s_ratio", c.plugin),
					fmt.Sprintf("%s: idle tick process at %d rows / at %d rows", c.plugin, rows, rows/10), "x").add(m.Median / small)
				if err := b.idleLock(c.plugin, path); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			removeDB(path)
		}
	}
	return nil
}

// idleLock runs idle ticks of plugin in process on the database at path and
// records how long they held the write lock in all.
func (b *bench) idleLock(plugin, path string) error {
	st, err := sqlite.Open(b.ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	var held time.Duration
	var takes int
	r, err := host.NewRunner(b.ctx, st, b.plugins[plugin], host.RunnerOptions{LockHeld: func(d time.Duration) { held += d; takes++ }})
	if err != nil {
		return err
	}
	defer r.Close(b.ctx)
	const ticks = 20
	for range ticks {
		rep, err := r.Tick(b.ctx, benchNow)
		if err != nil {
			return err
		}
		if rep.Processed != 0 {
			return fmt.Errorf("idle tick processed %d", rep.Processed)
		}
	}
	m := b.res.addMeasure("idle_lock_"+plugin, fmt.Sprintf("%s: write lock held by %d idle ticks at the largest size", plugin, ticks), "ms")
	m.add(ms(held))
	b.res.addMeasure("idle_lock_takes_"+plugin, fmt.Sprintf("%s: write-lock transactions in %d idle ticks", plugin, ticks), "count").add(float64(takes))
	return nil
}

// drainBacklog: 10,000 budgets due at once (a monthly reset) under the
// daemon with budget_reset every 15 s and --drain on, while an application
// writer takes the write lock every 10 ms with a 5 s busy timeout: how long
// the backlog takes, and whether the writer ever gave up. Without drain the
// same backlog takes one batch of 20 per interval: 500 intervals, about
// 2 h 5 min, which is computed, not run.
func (b *bench) drainBacklog() error {
	due := 10_000
	if *flagQuick {
		due /= 10
	}
	logf("drain: %d budgets due at once, budget_reset every 15 s with --drain", due)
	path := filepath.Join(b.work, "drain-backlog.db")
	if err := createDB(b.ctx, path, fillBudgets(sizes{Budgets: due, DueBudgets: due})); err != nil {
		return err
	}
	defer removeDB(path)
	plugins := filepath.Join(b.work, "drain-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return err
	}
	wasm, err := os.ReadFile(b.wasm["budget_reset"])
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(plugins, "budget_reset.wasm"), wasm, 0o644); err != nil {
		return err
	}
	probe, err := testutil.StartLockProbe(path, 5*time.Second, 10*time.Millisecond)
	if err != nil {
		return err
	}
	const interval = 15 * time.Second
	d, err := daemon.New(daemon.Config{DBPath: path, PluginDir: plugins, CacheDir: b.cache,
		Intervals: map[string]time.Duration{"budget_reset": interval}, Drain: map[string]bool{"budget_reset": true},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		probe.Stop()
		return err
	}
	start := time.Now()
	if err := d.Open(b.ctx); err != nil {
		probe.Stop()
		return err
	}
	defer d.Close(context.WithoutCancel(b.ctx))
	db, err := sqlite.Open(b.ctx, path, sqlite.Options{})
	if err != nil {
		probe.Stop()
		return err
	}
	defer db.Close()
	for {
		var left int
		// The dataset's due budgets are due from benchNow-2h; the daemon
		// ticks at the wall clock, long after.
		if err := db.SQL.QueryRow(`SELECT count(*) FROM ff_budget_policy WHERE partition_key = 0 AND next_reset_at_ms <= ?`, benchNow).Scan(&left); err != nil {
			probe.Stop()
			return err
		}
		if left == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			probe.Stop()
			return fmt.Errorf("%d budgets still due after 10 minutes", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := time.Since(start)
	stats := probe.Stop()
	b.res.addMeasure("drain_backlog_total", fmt.Sprintf("%d budgets due at once, --drain, 15 s interval: start to drained (the first tick is one interval in)", due), "s").add(total.Seconds())
	b.res.addMeasure("drain_backlog_after_first_tick", fmt.Sprintf("%d budgets: first tick to drained", due), "s").add((total - interval).Seconds())
	b.res.addMeasure("drain_backlog_without", fmt.Sprintf("%d budgets without --drain: one batch of 20 per 15 s interval (computed)", due), "s").add(float64((due+19)/20) * interval.Seconds())
	b.res.addMeasure("drain_writer_busy_errors", "application writer (5 s busy timeout, every 10 ms) attempts that gave up while draining", "count").add(float64(stats.Attempts - stats.Taken))
	b.res.addMeasure("drain_writer_longest_wait", "application writer's longest wait for the write lock while draining", "ms").add(ms(stats.Longest))
	if stats.Err != nil {
		return fmt.Errorf("application writer: %w", stats.Err)
	}
	return nil
}
