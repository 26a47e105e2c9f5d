package hostile

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// In process, the good plugin and the bad one tick every 50 ms and a
// failing loop backs off to at most 200 ms, so a run sees a few ticks of
// each in a second or two.
const (
	goodInterval = 50 * time.Millisecond
	badInterval  = 50 * time.Millisecond
	maxBackoff   = 200 * time.Millisecond
	// goodTicks and badTicks are the ticks a run waits for: the bad
	// plugin's first tick runs on the instance made at load, its second
	// on a fresh one.
	goodTicks = 3
	badTicks  = 2
	// slack is how long past its deadline a tick may last, and how soon
	// after a deadline the write lock must be free again.
	slack = time.Second
	// goodTable is the good plugin's table; its rows with namespace
	// 'good' are left out of the checksum.
	goodTable = "ff_worker_registry_event"
)

// Bounds of a refusal.
const (
	refuseTime     = 5 * time.Second  // "a few seconds"
	slowRefuseTime = 12 * time.Second // the load deadline (10 s) and some
	refuseGrowth   = 300 * mib        // "a few hundred MB" of resident memory
)

// TestInProcess runs every module of the corpus under the host's own
// types, each in a child process: the modules that must load under a
// Supervisor beside the good plugin, the others through Engine.Load. The
// parent kills a child that runs too long or passes killBytes and checks
// the table's bounds on its memory and temporary files.
func TestInProcess(t *testing.T) {
	// The longest first, so that the others fill the time beside them.
	order := slices.SortedStableFunc(slices.Values(corpus), func(a, b module) int { return cmp.Compare(weight(b), weight(a)) })
	for _, m := range order {
		t.Run(m.file, func(t *testing.T) {
			t.Parallel()
			if inChild() {
				switch {
				case m.outcome == refused:
					runRefused(t, m)
				case m.dryRun:
					runDry(t, m)
				default:
					runBeside(t, m)
				}
				return
			}
			a := built(t)
			r := runChild(t, "^TestInProcess$/^"+m.file+"$", a.childEnv(), childLimit(m))
			t.Logf("child: %v, peak RSS %d MiB, peak temporary files %d MiB", r.elapsed.Round(10*time.Millisecond), r.peakRSS>>20, r.peakTemp>>20)
			if r.killed != "" {
				t.Errorf("%s: the child process was killed: %s (%s). Its output:\n%s", m.file, r.killed, hint(m), short(r.failures()))
			} else if r.err != nil {
				t.Errorf("%s (%s):\n%s", m.file, m.outcome, r.failures())
			}
			if m.maxRSS > 0 && r.peakRSS > m.maxRSS {
				t.Errorf("%s: the process running it reached %d MiB of resident memory; want at most %d MiB", m.file, r.peakRSS>>20, m.maxRSS>>20)
			}
			if m.maxTemp > 0 && r.peakTemp > m.maxTemp {
				t.Errorf("%s: the process running it held %d MiB of temporary files at once; want at most %d MiB", m.file, r.peakTemp>>20, m.maxTemp>>20)
			}
		})
	}
}

// childLimit is how long a child may run before it is killed: longer than
// the harness needs, which bounds its own waits.
func childLimit(m module) time.Duration {
	switch {
	case m.outcome == refused && m.slowLoad:
		return slowRefuseTime + 5*time.Second
	case m.outcome == refused:
		return refuseTime + 5*time.Second
	}
	return runLimit(m) + deadlineOf(m) + slack + 5*time.Second
}

// weight ranks the modules by how long their run takes: a refusal at the
// load deadline, then the long-deadline bombs, then the rest.
func weight(m module) int {
	switch {
	case m.slowLoad:
		return 2
	case m.limits.TickTimeout > 0:
		return 1
	}
	return 0
}

// hint says what a killed child most likely means.
func hint(m module) string {
	if m.outcome == refused {
		return "loading it hung or blew up the process"
	}
	return "a tick the host could not stop, or a guest that stopped the Go runtime"
}

// deadlineOf is the bad plugin's tick timeout in process.
func deadlineOf(m module) time.Duration { return m.limits.Merge(inProcessLimits).TickTimeout }

// runLimit bounds how long a run waits for its ticks: enough for a few
// ticks that each run to the deadline, with their backoff.
func runLimit(m module) time.Duration { return 3*(deadlineOf(m)+slack) + 3*time.Second }

// openDB opens a fresh, migrated database with rows in every table.
func openDB(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ff.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.SeedEveryTable(t, db.SQL)
	return db
}

// checksum renders the database but the good plugin's own rows.
func checksum(t *testing.T, db *sql.DB) string {
	t.Helper()
	return testutil.DumpDatabase(t, db, map[string]string{goodTable: "namespace <> 'good'"})
}

// ffChecksum dumps the schema and rows of FlowFabric's tables and the
// host's, leaving out the tables plugins own and the plugin ledgers, which
// a good first migration may change.
func ffChecksum(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(testutil.DumpQuery(t, db, "sqlite_schema", `SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema
WHERE tbl_name LIKE 'ff%' AND tbl_name NOT IN ('ffwasmhost_plugin_migrations', 'ffwasmhost_owned_tables') ORDER BY name`))
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'ff%'
AND name NOT IN ('ffwasmhost_plugin_migrations', 'ffwasmhost_owned_tables') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, n := range tables {
		b.WriteString(testutil.DumpQuery(t, db, n, `SELECT * FROM "`+n+`"`))
	}
	return b.String()
}

// ticks collects the results of a supervisor's ticks by job.
type ticks struct {
	mu      sync.Mutex
	results map[string][]sched.TickResult
	enough  chan struct{}
	once    sync.Once
	want    map[string]int
}

func newTicks(want map[string]int) *ticks {
	return &ticks{results: map[string][]sched.TickResult{}, enough: make(chan struct{}), want: want}
}

func (k *ticks) add(r sched.TickResult) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.results[r.Job] = append(k.results[r.Job], r)
	for job, n := range k.want {
		if len(k.results[job]) < n {
			return
		}
	}
	k.once.Do(func() { close(k.enough) })
}

func (k *ticks) of(job string) []sched.TickResult {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sched.TickResult(nil), k.results[job]...)
}

// runBeside runs module m beside the good plugin under a Supervisor, with
// the write lock probed throughout, and checks everything the sandbox
// promises about it.
func runBeside(t *testing.T, m module) {
	ctx := context.Background()
	a := built(t)
	deadline := deadlineOf(m)
	db := openDB(t)
	before := checksum(t, db.SQL)
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: a.cache, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	goodP, err := eng.Load(ctx, a.good, host.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	badP, err := eng.Load(ctx, wasmPath(t, m.file), m.limits.Merge(inProcessLimits))
	if err != nil {
		t.Fatalf("%s did not load (want %q): %v", m.file, m.outcome, err)
	}
	bad := badP.Name()
	goodR, err := host.NewRunner(ctx, db, goodP, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	badR, err := host.NewRunner(ctx, db, badP, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	probe, err := testutil.StartLockProbe(db.Path(), 0, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}

	ts := newTicks(map[string]int{"good": goodTicks, bad: badTicks})
	sup := sched.NewSupervisor(sched.SupervisorConfig{Logger: logger, MaxBackoff: maxBackoff, OnTick: ts.add})
	interval := m.interval
	if interval == 0 {
		interval = badInterval
	}
	for _, j := range []sched.Job{testutil.RunnerJob(goodR, goodInterval), testutil.RunnerJob(badR, interval)} {
		if err := sup.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ts.enough:
	case <-time.After(runLimit(m)):
		t.Errorf("after %v: %d ticks of good and %d of %s, want %d and %d: a tick that never ends, or a host that cannot tick",
			runLimit(m), len(ts.of("good")), len(ts.of(bad)), bad, goodTicks, badTicks)
	}
	late := sup.Shutdown(deadline + slack)
	stopped := time.Now()
	lock := probe.Stop()
	t.Logf("%v of ticks; write lock: %s", stopped.Sub(start).Round(time.Millisecond), lock)
	if late > 0 {
		t.Errorf("%s: a tick still ran %v after shutdown began, past its %v deadline: the host cannot stop it", bad, deadline+slack, deadline)
	}
	goodRes, badRes := ts.of("good"), ts.of(bad)
	checkGood(t, goodRes, start, deadline)
	checkBad(t, m, bad, badRes, deadline)

	if lock.Longest > deadline+slack {
		t.Errorf("the write lock was out of reach for %v (until %s); want at most %v (the deadline and %v)",
			lock.Longest.Round(time.Millisecond), lock.LongestEnd.Format("15:04:05.000"), deadline+slack, slack)
	}
	if lock.Err != nil {
		t.Errorf("lock probe: %v", lock.Err)
	}
	if after := checksum(t, db.SQL); after != before {
		t.Errorf("%s changed the database:\n%s", bad, short(diffLines(before, after)))
	}
	checkIntegrity(t, db)
	checkLog(t, m, bad, logs.String(), len(badRes))
	if late > 0 {
		// Everything is reported. Closing the runner would wait for the
		// tick that never ends, and a guest spinning in compiled code can
		// stall the Go runtime's next garbage collection: leave at once.
		os.Exit(1)
	}
	for _, c := range []func(context.Context) error{badR.Close, goodR.Close, badP.Close, goodP.Close, eng.Close} {
		if err := c(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

// runDry runs module m alone in a dry run, which holds the write lock for
// all its ticks, and checks that nothing reaches the database.
func runDry(t *testing.T, m module) {
	ctx := context.Background()
	a := built(t)
	deadline := deadlineOf(m)
	db := openDB(t)
	before := testutil.DumpDatabase(t, db.SQL, nil)
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: a.cache, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Load(ctx, wasmPath(t, m.file), m.limits.Merge(inProcessLimits))
	if err != nil {
		t.Fatalf("%s did not load: %v", m.file, err)
	}
	name := p.Name()
	r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTicks(map[string]int{name: badTicks})
	sup := sched.NewSupervisor(sched.SupervisorConfig{Logger: logger, MaxBackoff: maxBackoff, OnTick: ts.add})
	if err := sup.Add(testutil.RunnerJob(r, badInterval)); err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ts.enough:
	case <-time.After(runLimit(m)):
		t.Errorf("after %v: %d ticks of %s, want %d", runLimit(m), len(ts.of(name)), name, badTicks)
	}
	if late := sup.Shutdown(deadline + slack); late > 0 {
		t.Errorf("%s: a tick still ran %v after shutdown began: the host cannot stop it", name, deadline+slack)
		os.Exit(1) // as in runBeside
	}
	if err := r.Close(ctx); err != nil {
		t.Errorf("ending the dry run: %v", err)
	}
	res := ts.of(name)
	checkBad(t, m, name, res, deadline)
	if after := testutil.DumpDatabase(t, db.SQL, nil); after != before {
		t.Errorf("a dry run of %s changed the database:\n%s", name, short(diffLines(before, after)))
	}
	checkIntegrity(t, db)
	checkLog(t, m, name, logs.String(), len(res))
	p.Close(ctx)
	eng.Close(ctx)
}

// checkGood checks that the good plugin kept its cadence and that every one
// of its ticks succeeded and saw all its earlier rows.
func checkGood(t *testing.T, res []sched.TickResult, start time.Time, deadline time.Duration) {
	t.Helper()
	if len(res) < goodTicks {
		t.Errorf("the good plugin ticked %d times, want at least %d", len(res), goodTicks)
	}
	// A good tick may wait for the lock while a bad one holds it, so the
	// gap between two may be the interval, a deadline and the slack.
	maxGap := goodInterval + deadline + slack
	prev := start
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("good tick %d failed: %v", i+1, r.Err)
		} else if r.Report.Processed != int64(i+1) {
			t.Errorf("good tick %d saw %d of its rows, want %d", i+1, r.Report.Processed, i+1)
		}
		if gap := r.Start.Sub(prev); gap > maxGap {
			t.Errorf("good tick %d started %v after the previous one; want at most %v", i+1, gap.Round(time.Millisecond), maxGap)
		}
		if r.Duration > deadline+slack {
			t.Errorf("good tick %d lasted %v", i+1, r.Duration.Round(time.Millisecond))
		}
		prev = r.Start
	}
}

// checkBad checks the bad plugin's ticks against the table: each failed
// if it must, none that overran its deadline succeeded, none lasted more
// than the deadline and the slack, and no report is negative.
func checkBad(t *testing.T, m module, name string, res []sched.TickResult, deadline time.Duration) {
	t.Helper()
	if len(res) < badTicks {
		t.Errorf("%s ticked %d times, want at least %d", name, len(res), badTicks)
	}
	for i, r := range res {
		switch {
		case m.outcome == tickFails && r.Err == nil:
			t.Errorf("%s tick %d succeeded in %v; every tick must fail", name, i+1, r.Duration.Round(time.Millisecond))
		case r.Err == nil && r.Duration > deadline:
			t.Errorf("%s tick %d ran %v, past its %v deadline, and was counted a success", name, i+1, r.Duration.Round(time.Millisecond), deadline)
		}
		if r.Duration > deadline+slack {
			t.Errorf("%s tick %d lasted %v; want at most %v (the deadline and %v)", name, i+1, r.Duration.Round(time.Millisecond), deadline+slack, slack)
		}
		if r.Report.Processed < 0 || r.Report.Errors < 0 {
			t.Errorf("%s tick %d reported %+v", name, i+1, r.Report)
		}
	}
}

func checkIntegrity(t *testing.T, db *sqlite.Store) {
	t.Helper()
	var ic string
	if err := db.SQL.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check: %q, %v", ic, err)
	}
	if err := testutil.TryWriteLock(db.Path()); err != nil {
		t.Errorf("another connection cannot take the write lock: %v", err)
	}
}

// maxLogLine bounds one log line: a cut message (MaxOutputBytes, each
// byte at most four in the text handler's escaping) and the attributes.
const maxLogLine = 4*(64<<10) + 1024

// checkLog checks the log: every reason in a line naming the plugin, none
// of the never substrings in one, no ESCAPED or UNEXPECTED anywhere, and
// a bounded share of lines.
func checkLog(t *testing.T, m module, name, text string, ticks int) {
	t.Helper()
	for _, reason := range m.reasons {
		if !testutil.HasLogLine(text, name, reason) {
			t.Errorf("no log line names plugin %s and %q; the lines that name it:\n%s", name, reason, short(linesNaming(text, name)))
		}
	}
	lines := 0
	never := map[string]int{}
	for line := range strings.Lines(text) {
		if len(line) > maxLogLine {
			t.Errorf("a log line of %d bytes: %s", len(line), short(line))
		}
		if !testutil.NamesPlugin(line, name) {
			continue
		}
		lines++
		for _, s := range m.never {
			if strings.Contains(line, s) {
				if never[s]++; never[s] == 1 {
					t.Errorf("a log line names %s and %q: %s", name, s, strings.TrimSpace(short(line)))
				}
			}
		}
	}
	for _, s := range []string{escaped, unexpected} {
		if n := strings.Count(text, s); n > 0 {
			t.Errorf("%q appears %d times in the log", s, n)
		}
	}
	if limit := (host.DefaultLimits.MaxLogLines + 20) * (ticks + 1); lines > limit {
		t.Errorf("%d log lines name %s after %d ticks; want at most %d", lines, name, ticks, limit)
	}
}

// runRefused loads module m, which must be refused: quickly, in one line
// that names the file and the reasons, without the process growing by more
// than refuseGrowth. It runs in a child process of its own, so the
// resident memory it measures is the load's.
func runRefused(t *testing.T, m module) {
	ctx := context.Background()
	logs := &testutil.SyncBuffer{}
	// An in-memory compilation cache: a module compiled on an earlier run
	// must cost what it costs.
	eng, err := host.NewEngine(host.EngineConfig{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	path := wasmPath(t, m.file)
	file := filepath.Base(path)
	var dir string
	if m.beside != "" {
		dir = t.TempDir()
		b, err := os.ReadFile(os.Getenv(envBudgetReset))
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, m.beside+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), w, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rss := residentBytes(os.Getpid())
	start := time.Now()
	var loadErr error
	if dir == "" {
		p, err := eng.Load(ctx, path, host.Limits{})
		if err == nil {
			// A plugin that loads is refused when its migrations are
			// applied, as the daemon applies them, changing nothing.
			db := openDB(t)
			before := ffChecksum(t, db.SQL)
			if _, err = host.ApplyMigrations(ctx, db, p.Desc); err != nil {
				err = fmt.Errorf("load plugin %s: %w", file, err)
			}
			p.Close(ctx)
			if after := ffChecksum(t, db.SQL); after != before {
				t.Errorf("refusing %s's migrations changed FlowFabric's tables or the host's", file)
			}
		}
		loadErr = err
	} else {
		plugins, errs, err := eng.LoadDir(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plugins {
			if filepath.Base(p.File) == file {
				t.Errorf("%s loaded beside %s as %q", file, m.beside, p.Name())
			}
			p.Close(ctx)
		}
		for _, e := range errs {
			if strings.Contains(e.Error(), file) {
				loadErr = e
			}
		}
		// A name two files claim runs from neither: the genuine plugin
		// is refused too, so that the attacker cannot win by sorting
		// first. Any other refusal leaves the genuine plugin alone.
		if conflict := errors.Is(loadErr, host.ErrNameConflict); conflict != (len(plugins) == 0) {
			t.Errorf("%s beside %s: %d plugins loaded, a name conflict: %v", m.beside, file, len(plugins), conflict)
		}
	}
	elapsed := time.Since(start)
	growth := procStatus(os.Getpid(), "VmHWM") - rss
	t.Logf("load: %v, resident memory grew by %d MiB", elapsed.Round(time.Millisecond), growth>>20)
	if loadErr == nil {
		t.Fatalf("%s loaded; want it refused (%v)", file, m.reasons)
	}
	msg := loadErr.Error()
	if !strings.Contains(msg, file) {
		t.Errorf("the error does not name %s: %s", file, msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("the error is not one line: %q", msg)
	}
	for _, r := range m.reasons {
		if !strings.Contains(msg, r) {
			t.Errorf("the error does not say %q: %s", r, msg)
		}
	}
	bound := refuseTime
	if m.slowLoad {
		bound = slowRefuseTime
	}
	if elapsed > bound {
		t.Errorf("refusing %s took %v; want at most %v", file, elapsed.Round(time.Millisecond), bound)
	}
	if growth > refuseGrowth {
		t.Errorf("refusing %s grew resident memory by %d MiB; want at most %d MiB", file, growth>>20, refuseGrowth>>20)
	}
}

// linesNaming returns the lines of a log that name plugin.
func linesNaming(text, plugin string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if testutil.NamesPlugin(line, plugin) {
			b.WriteString(line)
		}
	}
	return b.String()
}
