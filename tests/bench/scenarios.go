package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// The sides of a comparison.
const (
	sideNative   = "native"          // database/sql with the statement text, as the plugin writes it
	sidePrepared = "native_prepared" // the same code, statements prepared once per connection
	sideWasm     = "wasm"            // the plugin, through the host
)

var allSides = []string{sideNative, sidePrepared, sideWasm}

// tickFunc runs one tick of a reconciler (or, for the round trip, one batch).
type tickFunc func(now int64) (Report, error)

// side opens plugin's tick function for side on the database at path.
func (b *bench) side(side, plugin, path string) (tickFunc, func(), error) {
	ctx := b.ctx
	if side == sideWasm {
		db, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			return nil, nil, err
		}
		r, err := host.NewRunner(ctx, db, b.plugins[plugin], host.RunnerOptions{})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		tick := func(now int64) (Report, error) {
			rep, err := r.Tick(ctx, now)
			return Report{rep.Processed, rep.Errors}, err
		}
		return tick, func() { r.Close(ctx); db.Close() }, nil
	}
	c, err := openNative(ctx, path, side == sidePrepared)
	if err != nil {
		return nil, nil, err
	}
	var tick tickFunc
	switch plugin {
	case "budget_reset":
		tick = func(now int64) (Report, error) { return nativeBudgetTick(ctx, c, now) }
	case "worker_ttl":
		tick = func(now int64) (Report, error) { return nativeSweepTick(ctx, c, now) }
	case "bench_roundtrip":
		tick = func(n int64) (Report, error) {
			n %= rawBase
			return Report{Processed: n}, nativeRoundTrip(ctx, c, int(n))
		}
	default:
		return nil, nil, fmt.Errorf("no native %s", plugin)
	}
	return tick, func() { c.Close() }, nil
}

// interleave runs fn for every side, runs times, rotating the order of the
// sides each run so that drift (page cache, GC, CPU frequency) spreads
// evenly. Wasm runs carry the pprof label side=wasm.
func (b *bench) interleave(scenario string, sides []string, fn func(side string, run int) error) error {
	for run := 0; run < *flagRuns; run++ {
		for k := range sides {
			s := sides[(k+run)%len(sides)]
			var err error
			pprof.Do(b.ctx, pprof.Labels("scenario", scenario, "side", sideLabel(s)), func(context.Context) {
				err = fn(s, run)
			})
			if err != nil {
				return fmt.Errorf("%s run %d: %w", s, run+1, err)
			}
		}
	}
	return nil
}

func sideLabel(s string) string {
	if strings.HasPrefix(s, "wasm") {
		return "wasm"
	}
	return "native"
}

// digests checks that every run of a scenario leaves the same database.
type digests map[string]string

func (d digests) check(ctx context.Context, side, path string) error {
	got, err := stateDigest(ctx, path)
	if err != nil {
		return err
	}
	if want, ok := d["first"]; ok && want != got {
		return fmt.Errorf("%s left database %s, another run left %s", side, got, want)
	}
	d["first"] = got
	return nil
}

// drain: scenario 1. Ticks budget_reset at benchNow until a tick finds
// nothing to do, on a fresh copy of a database with DueBudgets due.
func (b *bench) drain() error {
	logf("scenario 1: budget_reset drain (%d runs)", *flagRuns)
	sc := b.res.addScenario("budget_drain", fmt.Sprintf("budget_reset drain: %d due of %d budgets, ticks until idle", b.sizes.DueBudgets, b.sizes.Budgets), "ms")
	dg := digests{}
	err := b.interleave(sc.Name, allSides, func(side string, run int) error {
		path, err := copyDB(b.budgets, b.work, "drain.db")
		if err != nil {
			return err
		}
		defer removeDB(path)
		tick, closeFn, err := b.side(side, "budget_reset", path)
		if err != nil {
			return err
		}
		if _, err := tick(0); err != nil { // warm-up: connection, instance; nothing is due at 0
			closeFn()
			return err
		}
		runtime.GC()
		var ticks, processed int64
		t0 := time.Now()
		for {
			rep, err := tick(benchNow)
			if err != nil {
				closeFn()
				return err
			}
			ticks++
			processed += rep.Processed
			if rep.Errors > 0 {
				closeFn()
				return fmt.Errorf("tick reported %d errors", rep.Errors)
			}
			if rep.Processed == 0 {
				break
			}
		}
		d := time.Since(t0)
		closeFn()
		if processed != int64(b.sizes.DueBudgets) {
			return fmt.Errorf("reset %d budgets, want %d", processed, b.sizes.DueBudgets)
		}
		sc.add(side, ms(d))
		sc.Extra["ticks"] = ticks
		return dg.check(b.ctx, side, path)
	})
	if err != nil {
		return err
	}
	sc.Extra["per_budget_us_native"] = sc.Native.Median * 1000 / float64(b.sizes.DueBudgets)
	sc.Extra["per_budget_us_wasm"] = sc.Wasm.Median * 1000 / float64(b.sizes.DueBudgets)
	return nil
}

// sweep: scenario 2. One worker_ttl tick at benchNow deletes Expired of
// Workers workers; a second tick must find nothing.
func (b *bench) sweep() error {
	logf("scenario 2: worker_ttl sweep (%d runs)", *flagRuns)
	sc := b.res.addScenario("worker_sweep", fmt.Sprintf("worker_ttl sweep: %d expired of %d workers, one tick", b.sizes.Expired, b.sizes.Workers), "ms")
	dg := digests{}
	return b.interleave(sc.Name, allSides, func(side string, run int) error {
		path, err := copyDB(b.workers, b.work, "sweep.db")
		if err != nil {
			return err
		}
		defer removeDB(path)
		tick, closeFn, err := b.side(side, "worker_ttl", path)
		if err != nil {
			return err
		}
		if _, err := tick(0); err != nil { // warm-up: nothing has expired at 0
			closeFn()
			return err
		}
		runtime.GC()
		t0 := time.Now()
		rep, err := tick(benchNow)
		d := time.Since(t0)
		if err == nil {
			var again Report
			again, err = tick(benchNow)
			if err == nil && again.Processed != 0 {
				err = fmt.Errorf("second sweep deleted %d", again.Processed)
			}
		}
		closeFn()
		if err != nil {
			return err
		}
		if rep.Processed != int64(b.sizes.Expired) {
			return fmt.Errorf("swept %d workers, want %d", rep.Processed, b.sizes.Expired)
		}
		sc.add(side, ms(d))
		return dg.check(b.ctx, side, path)
	})
}

// idle: scenario 3. Per-tick latency of ticks that find nothing to do.
func (b *bench) idle() error {
	for _, c := range []struct {
		plugin, name, db string
		now              int64
		ticks            int
	}{
		// Every due budget is due from benchNow-2h on; at benchNow-3h none is.
		{"budget_reset", "idle_budget_reset", b.budgets, benchNow - 3*hour, *flagIdleTicks},
		// Every worker's deadline is after benchNow-2h.
		{"worker_ttl", "idle_worker_ttl", b.workers, benchNow - 2*hour, *flagIdleTTL},
	} {
		logf("scenario 3: %s idle tick, %d ticks (%d runs)", c.plugin, c.ticks, *flagRuns)
		sc := b.res.addScenario(c.name, fmt.Sprintf("%s idle tick (nothing due), p50 per tick", c.plugin), "µs")
		sc.Extra["ticks_per_run"] = c.ticks
		sc.Extra["interleaving"] = "per tick"
		for run := 0; run < *flagRuns; run++ {
			if err := b.idleRun(sc, c.plugin, c.db, c.now, c.ticks, run); err != nil {
				return fmt.Errorf("%s run %d: %w", c.name, run+1, err)
			}
		}
		sc.Extra["added_p50_us"] = sc.Wasm.Median - sc.Native.Median
		sc.Extra["added_p50_us_vs_prepared"] = sc.Wasm.Median - sc.NativePrepared.Median
	}
	return nil
}

// idleRun is one run of the idle scenario. Unlike the other scenarios it
// interleaves tick by tick: every side is open at once, on its own copy of
// the database, and each round ticks every side once in a rotating order,
// so that drift over the run (other processes, CPU frequency, page cache)
// lands on all sides alike. An idle worker_ttl tick is two full scans of
// ~50 ms; runs a few seconds apart differed by more than the 0.2 ms the
// target allows.
func (b *bench) idleRun(sc *Scenario, plugin, db string, now int64, ticks, run int) error {
	tickers := make(map[string]tickFunc, len(allSides))
	for _, side := range allSides {
		path, err := copyDB(db, b.work, "idle-"+side+".db")
		if err != nil {
			return err
		}
		defer removeDB(path)
		tick, closeFn, err := b.side(side, plugin, path)
		if err != nil {
			return err
		}
		defer closeFn()
		if _, err := tick(now); err != nil { // warm-up
			return err
		}
		tickers[side] = tick
	}
	lat := make(map[string][]float64, len(allSides))
	runtime.GC()
	for i := range ticks {
		for k := range allSides {
			side := allSides[(k+i+run)%len(allSides)]
			var rep Report
			var err error
			var d time.Duration
			pprof.Do(b.ctx, pprof.Labels("scenario", sc.Name, "side", sideLabel(side)), func(context.Context) {
				t0 := time.Now()
				rep, err = tickers[side](now)
				d = time.Since(t0)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", side, err)
			}
			if rep.Processed != 0 || rep.Errors != 0 {
				return fmt.Errorf("%s: idle tick reported %+v", side, rep)
			}
			lat[side] = append(lat[side], us(d))
		}
	}
	for _, side := range allSides {
		l := lat[side]
		slices.Sort(l)
		sc.addP(side, percentile(l, 50), percentile(l, 99))
	}
	return nil
}

// The round-trip plugin's offsets of now_ms for its bare host call and its
// database/sql modes (tests/bench/plugins/roundtrip).
const (
	rawBase    = 1_000_000_000
	stdSQLBase = 2_000_000_000
)

// roundTrip: scenario 4. n statements `SELECT 1` in one tick, per statement.
func (b *bench) roundTrip() error {
	n := int64(*flagRoundTrips)
	logf("scenario 4: host call round trip, %d statements (%d runs)", n, *flagRuns)
	sc := b.res.addScenario("roundtrip", "one statement round trip (SELECT 1, QueryRow+Scan), per call", "ns")
	sides := append(slices.Clone(allSides), "wasm_database_sql", "wasm_raw")
	err := b.interleave(sc.Name, sides, func(side string, run int) error {
		path, err := copyDB(b.budgets, b.work, "rt.db")
		if err != nil {
			return err
		}
		defer removeDB(path)
		open, arg := side, n
		switch side {
		case "wasm_raw":
			open, arg = sideWasm, rawBase+n
		case "wasm_database_sql":
			open, arg = sideWasm, stdSQLBase+n
		}
		tick, closeFn, err := b.side(open, "bench_roundtrip", path)
		if err != nil {
			return err
		}
		defer closeFn()
		if _, err := tick(arg - n + 1000); err != nil { // warm-up: 1000 statements
			return err
		}
		runtime.GC()
		t0 := time.Now()
		rep, err := tick(arg)
		d := time.Since(t0)
		if err != nil {
			return err
		}
		if rep.Processed != n {
			return fmt.Errorf("ran %d statements, want %d", rep.Processed, n)
		}
		sc.add(side, float64(d.Nanoseconds())/float64(n))
		return nil
	})
	if err != nil {
		return err
	}
	sc.Extra["overhead_ns"] = sc.Wasm.Median - sc.Native.Median
	sc.Extra["overhead_ns_vs_prepared"] = sc.Wasm.Median - sc.NativePrepared.Median
	sc.Extra["bare_host_call_overhead_ns_vs_prepared"] = sc.WasmRaw.Median - sc.NativePrepared.Median
	sc.Extra["guest_sdk_ns"] = sc.Wasm.Median - sc.WasmRaw.Median
	sc.Extra["guest_database_sql_ns"] = sc.WasmStdSQL.Median - sc.Wasm.Median
	return nil
}

// load: scenario 5a. Cold: a fresh engine on an empty compilation cache
// directory loads the plugin (compile, validate, first instance, describe).
// Warm: a second engine on the same directory loads it again.
func (b *bench) load() error {
	logf("scenario 5: plugin load, cold and warm (%d runs)", *flagRuns)
	quiet := slog.New(slog.DiscardHandler)
	for _, name := range []string{"budget_reset", "worker_ttl"} {
		cold := b.res.addMeasure("load_cold_"+name, name+": cold load (empty compilation cache)", "ms")
		warm := b.res.addMeasure("load_warm_"+name, name+": warm load (second engine, same cache dir)", "ms")
		for run := 0; run < *flagRuns; run++ {
			dir, err := os.MkdirTemp(b.work, "cache-")
			if err != nil {
				return err
			}
			for _, m := range []*Measure{cold, warm} {
				eng, err := host.NewEngine(host.EngineConfig{CacheDir: dir, Logger: quiet})
				if err != nil {
					return err
				}
				runtime.GC()
				t0 := time.Now()
				p, err := eng.Load(b.ctx, b.wasm[name], host.Limits{})
				d := time.Since(t0)
				if err != nil {
					return err
				}
				m.add(ms(d))
				p.Close(b.ctx)
				eng.Close(b.ctx)
			}
			os.RemoveAll(dir)
		}
	}
	return nil
}

// instance: scenario 5b. A new instance of a loaded plugin (wazero
// instantiation plus the Go runtime's _initialize), measured from the
// outside as a difference of two first ticks: each sample loads the plugin
// afresh (warm cache; the load leaves one spare instance), then ticks a new
// Runner, which takes the spare, and a second new Runner, which must start
// an instance. Both first ticks open a connection, prepare their statements
// and run a fresh guest's first tick; only the second starts an instance.
func (b *bench) instance() error {
	logf("scenario 5: instance creation (%d runs)", *flagRuns)
	for _, c := range []struct {
		plugin, db string
		now        int64
	}{
		{"budget_reset", b.budgets, benchNow - 3*hour},
		{"worker_ttl", b.budgets, 0}, // worker table empty: an idle tick is two empty scans
	} {
		m := b.res.addMeasure("instance_"+c.plugin, c.plugin+": new instance (first tick of a new Runner without a spare instance minus one with)", "ms")
		path, err := copyDB(c.db, b.work, "inst.db")
		if err != nil {
			return err
		}
		db, err := sqlite.Open(b.ctx, path, sqlite.Options{})
		if err != nil {
			return err
		}
		firstTick := func(p *host.Plugin) (time.Duration, error) {
			r, err := host.NewRunner(b.ctx, db, p, host.RunnerOptions{})
			if err != nil {
				return 0, err
			}
			defer r.Close(b.ctx)
			runtime.GC()
			t0 := time.Now()
			_, err = r.Tick(b.ctx, c.now)
			return time.Since(t0), err
		}
		for range 3 * *flagRuns {
			p, err := b.eng.Load(b.ctx, b.wasm[c.plugin], host.Limits{})
			if err != nil {
				return err
			}
			withSpare, err1 := firstTick(p)
			withNew, err2 := firstTick(p)
			p.Close(b.ctx)
			if err := firstErr(err1, err2); err != nil {
				return err
			}
			m.add(ms(withNew - withSpare))
		}
		db.Close()
		removeDB(path)
	}
	return nil
}

// rss: scenario 6, in a child process: see rss.go.
func (b *bench) rss() error {
	logf("scenario 6: resident memory, in a child process (3 runs)")
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var runs []rssReport
	for run := 0; run < 3; run++ {
		rep, err := runRSSChild(exe, rssArgs{
			Cache:   b.cache,
			Budgets: b.budgets,
			Workers: b.workers,
			Work:    filepath.Join(b.work, fmt.Sprintf("rss-%d", run)),
			Wasm:    b.wasm,
			Due:     b.sizes.DueBudgets,
			Expired: b.sizes.Expired,
		})
		if err != nil {
			return err
		}
		runs = append(runs, rep)
	}
	for _, f := range rssFields {
		m := b.res.addMeasure(f.name, f.title, "MiB")
		for _, r := range runs {
			m.add(f.get(r))
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// percentile of sorted xs, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
