// Package adversarial runs each misbehaving fixture plugin of
// ../../host/testdata/plugins beside a well-behaved one under the host's
// supervisor, and checks that the host stays up, the good plugin keeps
// ticking, the bad one changes nothing in the database, and the log names
// the bad plugin and what it did.
package adversarial

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// badPlugin is one row of the suite.
type badPlugin struct {
	fixture string
	limits  host.Limits // the bad plugin's limits
	// fails is whether each of its ticks must fail (swallow_denial's succeed).
	fails bool
	// reasons must each appear in a log line that names the plugin.
	reasons []string
	// never must not appear in its tick errors or anywhere in the log: the
	// fixtures say ESCAPED or UNEXPECTED when the host let them through.
	never []string
	// files on the host that the plugin tries to create and must not.
	files []string
}

// Timeouts are short so the looping fixtures cost little; the memory cap is
// low so the bombs go off quickly.
var (
	quick = host.Limits{TickTimeout: 400 * time.Millisecond}
	small = host.Limits{MemoryBytes: 32 << 20}
)

var escaped = []string{"ESCAPED", "UNEXPECTED"}

var suite = []badPlugin{
	{fixture: "loop", limits: quick, fails: true, reasons: []string{"tick timeout"}},
	{fixture: "loop_in_tx", limits: quick, fails: true, reasons: []string{"tick timeout", "transaction left open"}},
	{fixture: "memory_bomb", limits: small, fails: true, reasons: []string{"plugin trapped", "out of memory"}},
	{fixture: "panic", fails: true, reasons: []string{"panic: assignment to entry in nil map"}, never: []string{"plugin trapped"}},
	{fixture: "trap", fails: true, reasons: []string{"plugin trapped", "deliberate panic"}},
	{fixture: "recursion", limits: small, fails: true, reasons: []string{"plugin trapped"}},
	{fixture: "huge_output", fails: true, reasons: []string{"huge_output: eeee", "(cut)", "log lines dropped"}},
	{fixture: "huge_sql", fails: true, reasons: []string{"exceeds the 1048576-byte limit"}, never: escaped},
	{fixture: "bad_pointer", fails: true, reasons: []string{"bad pointers refused", "pointer outside its memory"}, never: append([]string{"plugin trapped"}, escaped...)},
	{fixture: "drop_table", fails: true, reasons: []string{"not authorized", "statement denied"}, never: escaped},
	{fixture: "attach", fails: true, reasons: []string{"not authorized", "attach"}, never: escaped, files: []string{"/tmp/ffwasmhost-adversarial-attach.db"}},
	{fixture: "writable_schema", fails: true, reasons: []string{"not authorized", "writable_schema"}, never: escaped},
	{fixture: "undeclared_read", fails: true, reasons: []string{"not authorized", "table not declared"}, never: escaped},
	{fixture: "readonly_write", fails: true, reasons: []string{"not authorized", "table declared read-only"}, never: escaped},
	{fixture: "tx_left_open", fails: true, reasons: []string{"transaction left open"}},
	{fixture: "wasi_escape", fails: true, reasons: []string{"sandbox held"}, never: escaped, files: []string{"/tmp/ffwasmhost-adversarial-wasi"}},
	{fixture: "vacuum", fails: true, reasons: []string{"not authorized"}, never: escaped, files: []string{"/tmp/ffwasmhost-adversarial-vacuum.db"}},
	{fixture: "dbpage", fails: true, reasons: []string{"not authorized", "sqlite_dbpage"}, never: escaped},
	{fixture: "load_extension", fails: true, reasons: []string{"not authorized", "load_extension"}, never: escaped},
	{fixture: "swallow_denial", fails: false, reasons: []string{"statement denied", "table not declared"}},
	{fixture: "sleep", limits: quick, fails: true, reasons: []string{"tick timeout"}},
	{fixture: "slow_query", limits: quick, fails: true, reasons: []string{"too many columns"}},
	{fixture: "slow_init", limits: quick, fails: true, reasons: []string{"tick timeout"}},
	{fixture: "deny_flood", fails: true, reasons: []string{"not authorized", "statement denied", "more statements denied than logged"}},
	{fixture: "sql_bomb", fails: true, reasons: []string{"out of memory"}, never: escaped},
}

// goodTable is the good fixture's own table, left out of the checksum.
const goodTable = "ff_worker_registry_event"

// Ticks to see before stopping: the bad plugin's first runs on the
// instance made at load, its second on a fresh one.
const (
	goodTicks = 3
	badTicks  = 2
)

func TestBadPluginBesideGoodPlugin(t *testing.T) {
	good := fixture(t, "good")
	for _, bp := range suite {
		t.Run(bp.fixture, func(t *testing.T) {
			t.Parallel()
			runBeside(t, good, fixture(t, bp.fixture), bp)
		})
	}
}

func runBeside(t *testing.T, goodWasm, badWasm string, bp badPlugin) {
	ctx := context.Background()
	for _, f := range bp.files {
		os.Remove(f) // a leftover of an earlier, failed run
	}
	db := openDB(t)
	before := checksum(t, db.SQL)
	log := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: cacheDir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	goodR := runner(t, eng, db, goodWasm, host.Limits{})
	badR := runner(t, eng, db, badWasm, bp.limits)
	bad := badR.Plugin().Name()

	var (
		mu      sync.Mutex
		results = map[string][]sched.TickResult{}
		enough  = make(chan struct{})
		once    sync.Once
	)
	sup := sched.NewSupervisor(sched.SupervisorConfig{
		Logger:     logger,
		MaxBackoff: 200 * time.Millisecond,
		OnTick: func(r sched.TickResult) {
			mu.Lock()
			defer mu.Unlock()
			results[r.Job] = append(results[r.Job], r)
			if len(results["good"]) >= goodTicks && len(results[bad]) >= badTicks {
				once.Do(func() { close(enough) })
			}
		},
	})
	for _, r := range []*host.Runner{goodR, badR} {
		if err := sup.Add(testutil.RunnerJob(r, 50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-enough:
	case <-time.After(45 * time.Second):
		t.Error("the plugins did not tick enough within 45 s")
	}
	if late := sup.Shutdown(10 * time.Second); late != 0 {
		t.Errorf("%d tick loops did not stop within 10 s of Shutdown", late)
	}
	mu.Lock()
	goodRes, badRes := results["good"], results[bad]
	mu.Unlock()

	// The good plugin ticked on, every tick a success that added one row.
	for i, r := range goodRes {
		if r.Err != nil {
			t.Errorf("good tick %d failed beside %s: %v", i+1, bad, r.Err)
		} else if r.Report.Processed != int64(i+1) {
			t.Errorf("good tick %d saw %d of its rows, want %d", i+1, r.Report.Processed, i+1)
		}
	}
	if n := testutil.Count(t, db.SQL, `SELECT count(*) FROM `+goodTable+` WHERE namespace = 'good'`); n != int64(len(goodRes)) || n < goodTicks {
		t.Errorf("good plugin has %d rows after %d ticks", n, len(goodRes))
	}
	// The host is up: the good runner still ticks after the supervisor stopped.
	if rep, err := goodR.Tick(ctx, time.Now().UnixMilli()); err != nil || rep.Processed != int64(len(goodRes)+1) {
		t.Errorf("good tick after Shutdown: %+v, %v", rep, err)
	}

	// The bad plugin failed (or not) every time, and its errors say why.
	for i, r := range badRes {
		if (r.Err != nil) != bp.fails {
			t.Errorf("%s tick %d: error %v, want failure %v", bad, i+1, r.Err, bp.fails)
		}
		for _, s := range bp.never {
			if r.Err != nil && strings.Contains(r.Err.Error(), s) {
				t.Errorf("%s tick %d error contains %q: %s", bad, i+1, s, short(r.Err.Error()))
			}
		}
	}

	// The database is exactly as it was, but for the good plugin's rows.
	if after := checksum(t, db.SQL); after != before {
		t.Errorf("%s changed the database:\nbefore:\n%s\nafter:\n%s", bad, before, after)
	}
	var ic string
	if err := db.SQL.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check: %q, %v", ic, err)
	}
	if err := testutil.TryWriteLock(db.Path()); err != nil {
		t.Errorf("after %s another writer cannot take the lock: %v", bad, err)
	}
	for _, f := range bp.files {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s created %s on the host", bad, f)
			os.Remove(f)
		}
	}

	// The log names the plugin and each reason, stays bounded, and never
	// reports an escape.
	text := log.String()
	for _, reason := range bp.reasons {
		if !testutil.HasLogLine(text, bad, reason) {
			t.Errorf("no log line names plugin=%s and %q; log:\n%s", bad, reason, short(text))
		}
	}
	for _, s := range bp.never {
		if strings.Contains(text, s) {
			t.Errorf("the log contains %q", s)
		}
	}
	lines := 0
	for line := range strings.Lines(text) {
		if len(line) > 256<<10 {
			t.Errorf("a log line of %d bytes: %s", len(line), short(line))
		}
		if testutil.NamesPlugin(line, bad) {
			lines++
		}
	}
	// Whatever it does, a plugin's share of the log stays within its
	// MaxLogLines per tick, plus a few lines the host writes about the tick.
	if limit := (host.DefaultLimits.MaxLogLines + 20) * (len(badRes) + 1); lines > limit {
		t.Errorf("%d log lines name %s after %d ticks; want at most %d", lines, bad, len(badRes), limit)
	}
}

// cacheDir is wazero's compilation cache, shared by the engines of every
// subtest and by test runs, so each fixture compiles once.
var cacheDir = plugintest.CacheDir()

func fixture(t *testing.T, name string) string {
	t.Helper()
	return plugintest.Build(t, "../../host/testdata/plugins/"+name)
}

func runner(t *testing.T, eng *host.Engine, db *sqlite.Store, wasm string, lim host.Limits) *host.Runner {
	t.Helper()
	ctx := context.Background()
	p, err := eng.Load(ctx, wasm, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(ctx) })
	return r
}

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

// checksum renders the whole database (testutil.DumpDatabase) but the good
// plugin's own rows.
func checksum(t *testing.T, db *sql.DB) string {
	t.Helper()
	return testutil.DumpDatabase(t, db, map[string]string{goodTable: "namespace <> 'good'"})
}

func short(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}
