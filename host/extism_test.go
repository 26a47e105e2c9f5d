package host_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestExtismPluginTicks loads a hand-written Extism plugin: it is of kind
// extism, its statement reaches the database with the tick's now_ms, its
// log line and report reach the host, and its instance is reused.
func TestExtismPluginTicks(t *testing.T) {
	t.Parallel()
	s := fxOpen(t, sqlite.Options{}, "CREATE TABLE ext_ticks (now_ms INTEGER NOT NULL)")
	r := fxRunner(t, s.DB, "extism_good.wasm", host.Limits{}, host.RunnerOptions{})
	if k := r.Plugin().Kind; k != host.KindExtism {
		t.Fatalf("kind %q, want %q", k, host.KindExtism)
	}
	for _, now := range []int64{1_700_000_000_123, 1_700_000_001_456} {
		rep, err := r.Tick(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Processed != 1 || rep.Errors != 0 {
			t.Errorf("report %+v, want 1 processed", rep)
		}
	}
	if got := fxDump(t, s.DB.SQL); !strings.Contains(got, "1700000000123") || !strings.Contains(got, "1700000001456") {
		t.Errorf("ext_ticks holds\n%s\nwant both ticks' now_ms", got)
	}
	// TestExtismHostile's ticks of the same plugin may log too.
	if lines := fxEngineLog().fxLines("plugin=extism_good", "extism tick"); len(lines) < 2 {
		t.Errorf("%d log lines from the plugin, want 2", len(lines))
	}
	if r.MemoryBytes() == 0 {
		t.Error("MemoryBytes is 0 with a live instance")
	}
}

// TestExtismPluginStatementDenied: an Extism plugin runs under the same
// authorizer as an ffhost one; the refusal reaches it as a status and
// fails the tick with the host's message.
func TestExtismPluginStatementDenied(t *testing.T) {
	t.Parallel()
	s := fxOpen(t, sqlite.Options{}, "CREATE TABLE other (now_ms INTEGER)")
	// Declared ext_ticks does not exist: the statement is refused.
	r := fxRunner(t, s.DB, "extism_good.wasm", host.Limits{}, host.RunnerOptions{})
	_, err := r.Tick(context.Background(), 1)
	fxWantErr(t, err, nil, "ext_ticks")
}

// TestExtismHostile runs the hostile Extism modules: each fails at load or
// at its tick with one clear line, and the engine keeps working after.
func TestExtismHostile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := host.Limits{TickTimeout: 300 * time.Millisecond, MemoryBytes: 8 << 20}
	for _, tc := range []struct {
		file    string
		load    []string // the load fails with these
		tick    []string // or the first tick does
		timeout bool
	}{
		{file: "extism_loop.wasm", tick: []string{"tick timeout after 300ms"}, timeout: true},
		{file: "extism_recursion.wasm", tick: []string{}}, // a trap or the timeout, whichever first
		{file: "extism_bad_offsets.wasm", tick: []string{"is not an Extism memory block"}},
		{file: "extism_huge_output.wasm", load: []string{"describe: 4194304 bytes, limit"}},
		{file: "extism_describe_sql.wasm", tick: nil},
		{file: "extism_unknown_import.wasm", load: []string{"imports extism:host/user.ff_spawn_shell, which the host does not provide"}},
		{file: "extism_http.wasm", load: []string{"extism:host/env.http_request", "no network"}},
		{file: "extism_memory_bomb.wasm", tick: []string{"plugin trapped"}},
		{file: "extism_slow_call.wasm", tick: []string{"tick timeout after 300ms"}, timeout: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			p, err := fxEngine(t).Load(ctx, filepath.Join("testdata", "wat", tc.file), lim)
			if tc.load != nil {
				t.Logf("load: %v", err)
				fxWantErr(t, err, nil, append(tc.load, tc.file)...)
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error of %d lines: %q", strings.Count(err.Error(), "\n")+1, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			s := fxOpen(t, sqlite.Options{})
			r, err := host.NewRunner(ctx, s.DB, p, host.RunnerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close(ctx)
			start := time.Now()
			_, err = r.Tick(ctx, 1)
			if tc.tick == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var targets []error
			if tc.timeout {
				targets = []error{host.ErrTimeout}
				if d := time.Since(start); d > fxSlowBound {
					t.Errorf("a 300ms tick timeout took %v to stop the plugin", d)
				}
			}
			t.Logf("tick: %v", err)
			fxWantErr(t, err, targets, tc.tick...)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of %d lines: %q", strings.Count(err.Error(), "\n")+1, err)
			}
		})
	}
	// The engine still loads and runs a good plugin.
	s := fxOpen(t, sqlite.Options{}, "CREATE TABLE ext_ticks (now_ms INTEGER NOT NULL)")
	r := fxRunner(t, s.DB, "extism_good.wasm", host.Limits{}, host.RunnerOptions{})
	if _, err := r.Tick(ctx, 5); err != nil {
		t.Fatal(err)
	}
}

// TestExtismTimeoutsWhileEveryPSpins is TestTimeoutsWhileEveryPSpins for
// Extism plugins: more spinning guests than Ps, each stopped at its tick
// timeout.
func TestExtismTimeoutsWhileEveryPSpins(t *testing.T) {
	// Not parallel: it changes GOMAXPROCS for the whole process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	n := runtime.GOMAXPROCS(0) + 1
	wasm := filepath.Join("testdata", "wat", "extism_loop.wasm")
	hs := make([]*plugintest.Harness, n)
	for i := range hs {
		hs[i] = plugintest.New(t, wasm, plugintest.Options{Limits: host.Limits{TickTimeout: 300 * time.Millisecond}})
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, h := range hs {
		wg.Go(func() { _, errs[i] = h.Tick(1) })
	}
	wg.Wait()
	for _, err := range errs {
		fxWantErr(t, err, []error{host.ErrTimeout}, "300ms")
	}
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("%d spinning Extism ticks with a 300ms timeout on 2 Ps took %v to stop", n, d)
	}
}
