package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestExtismPluginTicks loads a hand-written Extism plugin: it is of kind
// extism, its statement reaches the database with the tick's now_ms, its
// log lines (ff_log and Extism's log_warn) and report reach the host, and
// its instance is reused.
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
	if lines := fxEngineLog().fxLines("plugin=extism_good", "extism tick"); len(lines) != 2 {
		t.Errorf("%d ff_log lines from the plugin, want 2", len(lines))
	}
	// Extism's own log_warn, as one line.
	if lines := fxEngineLog().fxLines("plugin=extism_good", "level=WARN", `"extism warn forged line"`); len(lines) != 2 {
		t.Errorf("%d log_warn lines from the plugin, want 2:\n%s", len(lines), fxEngineLog())
	}
	// The guest's one page and the kernel's memory.
	if n := r.MemoryBytes(); n <= 64<<10 {
		t.Errorf("MemoryBytes = %d with a live instance, want the guest's page and the kernel's memory", n)
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

// TestExtismTimeoutsWhileEveryPSpins is TestTimeoutsWhileEveryPSpins for
// Extism plugins: more spinning guests than Ps, each stopped at its tick
// timeout. The hostile Extism modules, each with what must happen to it,
// are in tests/hostile.
func TestExtismTimeoutsWhileEveryPSpins(t *testing.T) {
	// Not parallel: it changes GOMAXPROCS for the whole process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	tickAllAtOnce(t, filepath.Join("testdata", "wat", "extism_loop.wasm"), "spinning Extism", nil)
}

// TestExtismTickOutputNotCopied: scan_tick's output, which the profile
// ignores, is dropped before the SDK would copy it into the host's heap.
// Not parallel: it counts the process's allocations.
func TestExtismTickOutputNotCopied(t *testing.T) {
	s := fxOpen(t, sqlite.Options{})
	r := fxRunner(t, s.DB, "extism_tick_output.wasm", host.Limits{}, host.RunnerOptions{})
	ctx := context.Background()
	if _, err := r.Tick(ctx, 1); err != nil { // the instance's first call
		t.Fatal(err)
	}
	const ticks = 5
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range ticks {
		if rep, err := r.Tick(ctx, int64(2+i)); err != nil || rep.Processed != 1 {
			t.Fatalf("tick: %+v %v", rep, err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / ticks; per > 1<<20 {
		t.Errorf("a tick allocated %d bytes in the host: the 4 MiB output was copied", per)
	}
}

// TestExtismTwins: ff_config_get, ff_tick_partition and ff_sql_dialect
// answer as config_get, tick_partition and sql_dialect do. The plugin's
// describe fails unless, there, the first two say -1 and ff_config_get
// answers invalid; its tick logs what they say during scan_tick on SQLite.
func TestExtismTwins(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	h := plugintest.New(t, filepath.Join("testdata", "wat", "extism_twins.wasm"), plugintest.Options{
		Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Config: map[string]host.ConfigValue{"greeting": {Literal: "salut"}},
	})
	if k := h.Plugin.Kind; k != host.KindExtism {
		t.Fatalf("kind %q, want %q", k, host.KindExtism)
	}
	if rep := h.MustTick(1); rep.Processed != 1 {
		t.Fatalf("report %+v, want 1 processed", rep)
	}
	var got []string
	dec := json.NewDecoder(&log)
	for {
		var line struct{ Plugin, Msg string }
		if err := dec.Decode(&line); err != nil {
			break
		}
		if line.Plugin == "extism_twins" {
			got = append(got, line.Msg)
		}
	}
	want := []string{
		"partition=0 dialect=0",
		"0salut", // the operator's value
		"010",    // the default
		`5config key "nope" is not declared by the plugin`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("the plugin logged\n%q\nwant\n%q", got, want)
	}
}

// TestExtismPDKConfig: a plugin on go-pdk (plugins/extism/pdkhost) reads
// its config keys of every type through ff_config_get: an operator's
// value longer than the SDK's out buffer (so it is fetched), an
// operator's int, the defaults of a bool and a duration; a key it does not
// declare fails as invalid; the tick is partition 0 on SQLite.
func TestExtismPDKConfig(t *testing.T) {
	t.Parallel()
	wasm := plugintest.BuildWith(t, filepath.Join("..", "plugins", "extism", "pdkhost", "testdata", "pdk_config"),
		plugintest.BuildOptions{Tags: []string{"ffextism"}})
	var log bytes.Buffer
	greeting := strings.Repeat("x", 40<<10) + "salut!"
	h := plugintest.New(t, wasm, plugintest.Options{
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Config: map[string]host.ConfigValue{"greeting": {Literal: greeting}, "batch": {Literal: int64(7)}},
	})
	if k := h.Plugin.Kind; k != host.KindExtism {
		t.Fatalf("kind %q, want %q", k, host.KindExtism)
	}
	if rep := h.MustTick(1); rep.Processed != 1 {
		t.Fatalf("report %+v, want 1 processed", rep)
	}
	// The SDK's key/value pairs arrive as attributes (structured logs,
	// ABI 1.2), through the Extism profile as through ffhost.
	want := fmt.Sprintf(`msg=config plugin=pdk_config source=plugin attrs.greeting_bytes=%d attrs.greeting_tail=salut! `+
		`attrs.batch=7 attrs.on=true attrs.every=1m30s attrs.nope="ffhost invalid: config key \"nope\" is not declared by the plugin" `+
		`attrs.partition=0 attrs.dialect=0`, len(greeting))
	if !strings.Contains(log.String(), want) {
		t.Errorf("the plugin logged\n%s\nwant a line with\n%s", log.String(), want)
	}
}
