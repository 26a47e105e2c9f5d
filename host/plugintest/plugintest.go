// Package plugintest runs one ffwasmhost plugin against a fresh database,
// so a plugin can be unit-tested alone:
//
//	func TestReset(t *testing.T) {
//		h := plugintest.New(t, plugintest.Build(t, "."))
//		h.Exec(`INSERT INTO ff_budget_policy ...`)
//		rep := h.MustTick(1_000)
//		...assert on h.DB...
//	}
//
// Build compiles a plugin package to wasm with the standard toolchain once
// per test process; Go's build cache makes later runs fast.
//
// It is for plugin authors: it uses the runtime and the SQLite store as a
// daemon does; nothing in the host may import it.
package plugintest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

var builds struct {
	mu    sync.Mutex
	paths map[string]string
}

// Build compiles the plugin package pkg (a path relative to the test's
// directory, or an import path) to a .wasm file with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, and returns its path.
// A path is built in its own directory, so in the Go module that holds it
// (plugins/extism is a module of its own).
// It uses the build tags the test binary was built with (go test -tags).
// A package is built once per test process.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	return BuildWith(tb, pkg, BuildOptions{})
}

// BuildOptions configure BuildWith.
type BuildOptions struct {
	// Tags are the build tags; nil means those the test binary was built
	// with (go test -tags), and an empty, non-nil slice none.
	Tags []string
}

// BuildWith is Build with options.
func BuildWith(tb testing.TB, pkg string, o BuildOptions) string {
	tb.Helper()
	path, err := BuildWasmWith(pkg, o)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BuildWasm is Build without a testing.TB, for benchmarks and tools.
func BuildWasm(pkg string) (string, error) { return BuildWasmWith(pkg, BuildOptions{}) }

// BuildWasmWith is BuildWith without a testing.TB. The file goes to a
// fixed directory of the user's (see CacheDir), one file per package and
// set of tags, replaced atomically, so concurrent test processes share it
// and nothing piles up.
func BuildWasmWith(pkg string, o BuildOptions) (string, error) {
	abs, dir, target := pkg, "", pkg
	if strings.HasPrefix(pkg, ".") || filepath.IsAbs(pkg) {
		var err error
		if abs, err = filepath.Abs(pkg); err != nil {
			return "", err
		}
		dir, target = abs, "."
	}
	tags := o.Tags
	if tags == nil {
		tags = testTags()
	}
	key := abs + "\x00" + strings.Join(tags, ",")
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if p, ok := builds.paths[key]; ok {
		return p, nil
	}
	outDir := filepath.Join(userTempDir(), "plugintest")
	if err := host.PrivateDir(outDir); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	sum := sha256.Sum256([]byte(key))
	out := filepath.Join(outDir, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6])+".wasm")
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", tmp}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, target)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build %s for wasip1: %v\n%s", pkg, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	if builds.paths == nil {
		builds.paths = map[string]string{}
	}
	builds.paths[key] = out
	return out, nil
}

// testTags returns the build tags the running binary was built with.
func testTags() []string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return []string{}
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && s.Value != "" {
			return strings.Split(s.Value, ",")
		}
	}
	return []string{}
}

var shared struct {
	once sync.Once
	eng  *host.Engine
	err  error
}

// CacheDir is the wazero compilation cache every test engine shares. The
// cache's files are written atomically, so concurrent test processes may
// share it, and a plugin compiled by a plain test run is reused by a -race
// run, whose compiles are many times slower. It is private to the user
// (host.PrivateDir), never the user's real cache directory.
func CacheDir() string { return filepath.Join(userTempDir(), "wazero-cache") }

// userTempDir is this user's directory under os.TempDir for test builds
// and caches: a fixed, private path, so that test processes share it and
// other users cannot write to it.
func userTempDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("ffwasmhost-%d", os.Getuid()))
}

// Engine returns an engine shared by the tests of one process, so each
// plugin compiles once, and at most once across processes (CacheDir).
func Engine() (*host.Engine, error) {
	shared.once.Do(func() {
		shared.eng, shared.err = host.NewEngine(host.EngineConfig{CacheDir: CacheDir(), Logger: slog.New(slog.DiscardHandler)})
	})
	return shared.eng, shared.err
}

// Options configure a Harness. The zero value is usable.
type Options struct {
	Limits host.Limits         // overrides of host.DefaultLimits
	DB     sqlite.Options      // database settings, e.g. MaxSizeBytes
	DryRun bool                // see host.RunnerOptions.DryRun
	Logger *slog.Logger        // plugin and host logs; default: discarded
	Denied func(store.Denial)  // see host.RunnerOptions.Denied
	Setup  func(*sql.DB) error // runs after the host's schema, before the plugin loads and its migrations run
	// Config are values for the plugin's config keys (ABI 1.3), as the
	// daemon's configuration file gives them; refused as the daemon
	// refuses them (host.ResolveConfig). Secrets read os.LookupEnv.
	Config map[string]host.ConfigValue
}

// Harness is one plugin bound to a fresh, migrated database in a temporary
// directory. New closes everything when the test ends; Open leaves that to
// Close.
type Harness struct {
	// DB is a host-side pool on the same database, for setup and assertions.
	DB *sql.DB
	// Path is the database file.
	Path string
	// Plugin is the loaded plugin.
	Plugin *host.Plugin
	// Runner runs its ticks.
	Runner *host.Runner
	// Migrations are the plugin's migrations (ABI 1.2), applied to the
	// fresh database before its first tick as a daemon applies them.
	Migrations []store.PluginMigration

	tb      testing.TB // nil for a Harness from Open
	closers []func()
}

// New loads the plugin at wasmPath against a fresh database and fails the
// test if that fails.
func New(tb testing.TB, wasmPath string, opts ...Options) *Harness {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	h, err := Open(wasmPath, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	h.tb = tb
	return h
}

// Open is New outside a test: the caller must Close the Harness. Its Must
// methods and Exec panic instead of failing a test.
func Open(wasmPath string, o Options) (_ *Harness, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "plugintest-db-")
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	h := &Harness{Path: filepath.Join(dir, "ff.db"), closers: []func(){func() { os.RemoveAll(dir) }}}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	db, err := sqlite.Open(ctx, h.Path, o.DB)
	if err != nil {
		return nil, err
	}
	h.DB = db.SQL
	h.closers = append(h.closers, func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	if o.Setup != nil {
		if err := o.Setup(db.SQL); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	eng, err := Engine()
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		if eng, err = host.NewEngine(host.EngineConfig{CacheDir: CacheDir(), Logger: o.Logger}); err != nil {
			return nil, err
		}
		h.closers = append(h.closers, func() { eng.Close(ctx) })
	}
	if h.Plugin, err = eng.Load(ctx, wasmPath, o.Limits); err != nil {
		return nil, err
	}
	h.closers = append(h.closers, func() { h.Plugin.Close(ctx) })
	cfg, err := host.ResolveConfig(h.Plugin.Desc, o.Config, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if h.Migrations, err = host.ApplyMigrations(ctx, db, h.Plugin.Desc); err != nil {
		return nil, err
	}
	h.Runner, err = host.NewRunner(ctx, db, h.Plugin, host.RunnerOptions{DryRun: o.DryRun, Denied: o.Denied,
		Config: host.ConfigValues(cfg)})
	if err != nil {
		return nil, err
	}
	h.closers = append(h.closers, func() { h.Runner.Close(ctx) })
	return h, nil
}

// Close closes the runner, plugin and database and removes the directory.
// It is safe to call more than once.
func (h *Harness) Close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
	h.closers = nil
}

// fatalf fails the test, or panics for a Harness from Open.
func (h *Harness) fatalf(format string, args ...any) {
	if h.tb == nil {
		panic(fmt.Sprintf(format, args...))
	}
	h.tb.Helper()
	h.tb.Fatalf(format, args...)
}

// helper marks the caller as a test helper, when there is a test.
func (h *Harness) helper() {
	if h.tb != nil {
		h.tb.Helper()
	}
}

// Tick runs one tick at nowMS.
func (h *Harness) Tick(nowMS int64) (host.Report, error) {
	return h.Runner.Tick(context.Background(), nowMS)
}

// MustTick runs one tick at nowMS and fails the test if it fails.
func (h *Harness) MustTick(nowMS int64) host.Report {
	h.helper()
	rep, err := h.Tick(nowMS)
	if err != nil {
		h.fatalf("tick at %d: %v", nowMS, err)
	}
	return rep
}

// LoadFixture fills the database with the rows of a replay fixture (a
// failed tick the daemon wrote down with `ffwasmhost run --fixtures`) and
// returns it, so that the failure becomes a unit test:
//
//	f := h.LoadFixture("testdata/budget_reset-1767225600000-p0.json")
//	if _, err := h.Tick(f.NowMS); err != nil { ... }
//
// The fixture must be of this harness's plugin.
func (h *Harness) LoadFixture(path string) *replay.Fixture {
	h.helper()
	f, err := replay.Read(path)
	if err != nil {
		h.fatalf("%v", err)
		return nil
	}
	if f.Plugin != h.Plugin.Desc.Name {
		h.fatalf("fixture %s is of plugin %q, the harness runs %q", path, f.Plugin, h.Plugin.Desc.Name)
		return nil
	}
	if err := f.Restore(context.Background(), h.DB); err != nil {
		h.fatalf("%s: %v", path, err)
		return nil
	}
	return f
}

// Exec runs a statement on the host-side pool and fails the test on error.
func (h *Harness) Exec(query string, args ...any) {
	h.helper()
	if _, err := h.DB.Exec(query, args...); err != nil {
		h.fatalf("exec %q: %v", query, err)
	}
}

// Int returns the single integer a query yields; NULL is returned as -1
// with ok false.
func (h *Harness) Int(query string, args ...any) (v int64, ok bool) {
	h.helper()
	var n sql.NullInt64
	if err := h.DB.QueryRow(query, args...).Scan(&n); err != nil {
		h.fatalf("query %q: %v", query, err)
	}
	if !n.Valid {
		return -1, false
	}
	return n.Int64, true
}
