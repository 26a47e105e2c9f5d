package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative grace", Config{Grace: -time.Second}, "grace"},
		{"negative interval", Config{Intervals: map[string]time.Duration{"alpha": -time.Second}}, "interval for alpha"},
		{"bad plugin name", Config{Intervals: map[string]time.Duration{"Alpha!": time.Second}}, `"Alpha!"`},
		{"bad limits", Config{Limits: host.Limits{MemoryBytes: 1}}, "limits"},
		{"bad plugin limits", Config{PluginLimits: map[string]host.Limits{"alpha": {MemoryBytes: 1}}}, "limits of alpha"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFailedOpenUndoesItself(t *testing.T) {
	notDB := filepath.Join(t.TempDir(), "not.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheFile := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(cacheFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := freeAddr(t)
	for _, c := range []struct {
		name string
		cfg  func(f *fixture) Config
		is   error
		want string
	}{
		{"plugin dir missing", func(f *fixture) Config { f.cfg.PluginDir = filepath.Join(f.dir, "nope"); return f.cfg }, host.ErrNoPluginDir, "nope"},
		{"not sqlite", func(f *fixture) Config { f.cfg.DBPath = notDB; return f.cfg }, sqlite.ErrNotSQLite, "not.db"},
		{"address in use", func(f *fixture) Config { f.cfg.HTTPAddr = busy.Addr().String(); return f.cfg }, nil, "admin http"},
		// Fails after the database is open and the listener is bound.
		{"cache dir unusable", func(f *fixture) Config {
			f.cfg.HTTPAddr, f.cfg.CacheDir = addr, filepath.Join(cacheFile, "sub")
			return f.cfg
		}, nil, "compilation cache"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			d, err := New(c.cfg(f))
			if err != nil {
				t.Fatal(err)
			}
			err = d.Open(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("Open = %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if err := d.Close(context.Background()); err != nil {
				t.Errorf("Close after failed Open = %v", err)
			}
			if c.name == "cache dir unusable" {
				ln, err := net.Listen("tcp", addr) // the failed Open let go of the port
				if err != nil {
					t.Fatalf("listener not released: %v", err)
				}
				ln.Close()
			}
		})
	}
}

func TestOpenTwiceAndCloseTwice(t *testing.T) {
	f := newFixture(t, Config{})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	d := f.open()
	if err := d.Open(context.Background()); err == nil {
		t.Error("second Open succeeded")
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := d.Ready(context.Background()); err == nil {
		t.Error("Ready after Close = nil")
	}
	d.Rescan(context.Background()) // a no-op after Close, not a panic
}

func TestCloseReportsUndrainedTicks(t *testing.T) {
	f := newFixture(t, Config{Grace: 10 * time.Millisecond})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	d, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	inTick, release := make(chan struct{}), make(chan struct{})
	first := true
	d.tickHook = func(ctx context.Context, _ string) {
		if first { // a tick that outlives the grace, and its abort
			first = false
			close(inTick)
			<-ctx.Done()
			<-release
		}
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-inTick
	err = d.Close(context.Background())
	close(release)
	if !errors.Is(err, ErrNotDrained) {
		t.Fatalf("Close = %v, want ErrNotDrained", err)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	f := newFixture(t, Config{HTTPAddr: "127.0.0.1:0"})
	d := f.open()
	base := "http://" + d.HTTPAddr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "no plugins loaded") {
		t.Errorf("/readyz with no plugins = %d %q", code, body)
	}
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	f.scan()
	f.waitTicks("alpha", "", 1)
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q", code, body)
	}
	d.denied(store.Denial{Plugin: "alpha", Action: "attach", Reason: "never allowed"})
	code, body := get("/metrics")
	for _, want := range []string{
		`ffwasmhost_ticks_total{outcome="ok",plugin="alpha"}`,
		`ffwasmhost_tick_duration_seconds_bucket{plugin="alpha"`,
		`ffwasmhost_processed_total{plugin="alpha"}`,
		`ffwasmhost_tick_item_errors_total{plugin="alpha"} 0`,
		`ffwasmhost_reloads_total{result="loaded"} 1`,
		`ffwasmhost_plugin_info{abi="1.0",plugin="alpha"`,
		`ffwasmhost_denied_statements_total{action="attach",plugin="alpha"} 1`,
		`ffwasmhost_plugin_failing{plugin="alpha"} 0`,
		`go_goroutines`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
	code, body = get("/v1/plugins")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("/v1/plugins = %d %v: %s", code, err, body)
	}
	if st.SchemaVersion != int64(sqlite.LatestSchemaVersion) {
		t.Errorf("/v1/plugins schema_version = %d, want %d", st.SchemaVersion, sqlite.LatestSchemaVersion)
	}
	if len(st.Plugins) != 1 || st.Plugins[0].Name != "alpha" || st.Plugins[0].IntervalMS != 20 || st.Plugins[0].LastTick == nil {
		t.Errorf("/v1/plugins = %+v", st.Plugins)
	}
	for _, key := range []string{"name", "file", "sha256", "abi", "version", "interval_ms", "reads", "writes",
		"description", "last_tick", "last_duration_ms", "last_report", "last_error", "ticks", "failures",
		"consecutive_failures", "failing", "next_tick"} {
		if !strings.Contains(body, `"`+key+`":`) {
			t.Errorf("/v1/plugins lacks %q", key)
		}
	}
}

// TestEndpointsDuringOpen: the admin endpoints answer from the moment they
// listen, while Open is still loading plugins, without reading anything
// Open has not set yet (run it with -race).
func TestEndpointsDuringOpen(t *testing.T) {
	addr := testutil.FreeAddr(t)
	f := newFixture(t, Config{HTTPAddr: addr})
	for i := range 3 {
		f.write(fmt.Sprintf("p%d.wasm", i), tinyWasm(t, tinySpec{Name: fmt.Sprintf("p%d", i), Version: "1", IntervalMS: 20}))
	}
	stop := make(chan struct{})
	polled := make(chan int)
	go func() {
		n := 0
		defer func() { polled <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, path := range []string{"/v1/plugins", "/readyz", "/metrics"} {
				if resp, err := http.Get("http://" + addr + path); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					n++
				}
			}
		}
	}()
	f.open()
	close(stop)
	if n := <-polled; n == 0 {
		t.Log("no request was answered during Open; the race went unexercised this time")
	}
	f.waitTicks("p2", "", 1)
}
