// Package abicompat checks that plugins built against an earlier minor
// version of the ABI run unchanged on this host: the reconcilers' suites
// against the frozen builds in testdata.
package abicompat

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// TestEarlierMinorPlugins: the ABI 1.0 and 1.1 builds of budget_reset and
// worker_ttl declare their version, load, and leave the rows their
// contract wants.
func TestEarlierMinorPlugins(t *testing.T) {
	for _, version := range []string{"1.0", "1.1"} {
		for _, tc := range []struct {
			file  string
			suite func(*testing.T, string)
		}{
			{"testdata/abi" + version + "/budget_reset_c.wasm", reconcilertest.BudgetReset},
			{"testdata/abi" + version + "/worker_ttl_c.wasm", reconcilertest.WorkerTTL},
		} {
			t.Run(tc.file, func(t *testing.T) {
				h := plugintest.New(t, tc.file)
				if v := h.Plugin.Desc.ABIVersion; v != version {
					t.Fatalf("%s declares ABI %s, want the frozen %s", tc.file, v, version)
				}
				if len(h.Plugin.Desc.Owns) != 0 || len(h.Migrations) != 0 {
					t.Fatalf("%s owns %q with %d migrations applied, want none", tc.file, h.Plugin.Desc.Owns, len(h.Migrations))
				}
				tc.suite(t, tc.file)
			})
		}
	}
}

// TestABI10UnderAConfigFile: a frozen 1.0 plugin runs unchanged under a
// daemon with grants and configuration values (ABI 1.3): granted, it loads
// with no config keys; a value for a key it cannot declare refuses the new
// settings and leaves it running.
func TestABI10UnderAConfigFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile("testdata/abi1.0/budget_reset_c.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "budget_reset_c.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "budget_reset_c.wasm"), old, old); err != nil {
		t.Fatal(err)
	}
	cfg := daemon.Config{DBPath: filepath.Join(root, "ff.db"), PluginDir: dir, CacheDir: plugintest.CacheDir(),
		RescanInterval: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Grants: map[string]host.Grant{"budget_reset_c": {Write: []string{"ff_budget_policy", "ff_budget_usage"}}}}
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	st := d.Status(ctx)
	if len(st.Plugins) != 1 || st.Plugins[0].Name != "budget_reset_c" || st.Plugins[0].ABI != "1.0" || len(st.Plugins[0].Config) != 0 {
		t.Fatalf("plugins = %+v, invalid = %+v; want the 1.0 budget_reset, granted, without config keys", st.Plugins, st.Invalid)
	}
	// Narrower than it declares: refused, so the grant above is what let it load.
	narrow := cfg
	narrow.Grants = map[string]host.Grant{"budget_reset_c": {Write: []string{"ff_budget_policy"}}}
	if err := d.Reconfigure(ctx, narrow); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(ctx); len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, "ff_budget_usage (write)") {
		t.Fatalf("under a narrower grant: plugins %+v, invalid %+v", st.Plugins, st.Invalid)
	}
	if err := d.Reconfigure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st = d.Status(ctx)
	if len(st.Plugins) != 1 {
		t.Fatalf("the grant widened again: plugins %+v, invalid %+v", st.Plugins, st.Invalid)
	}
	loaded := st.Plugins[0].LoadedAt
	cfg.PluginConfig = map[string]map[string]host.ConfigValue{"budget_reset_c": {"batch": {Literal: int64(5)}}}
	if err := d.Reconfigure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st = d.Status(ctx)
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, "unknown key batch (declared: none)") {
		t.Errorf("invalid = %+v, want the value for an undeclared key refused", st.Invalid)
	}
	if len(st.Plugins) != 1 || !st.Plugins[0].LoadedAt.Equal(loaded) {
		t.Errorf("plugins = %+v, want the running version untouched", st.Plugins)
	}
}

// TestABI10PluginsRefusedOnPostgres: a 1.0 plugin declares no dialects, so
// it speaks SQLite only; on PostgreSQL it is refused before it runs, with
// one line that says why.
func TestABI10PluginsRefusedOnPostgres(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := plugintest.Engine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	for _, file := range []string{"testdata/abi1.0/budget_reset_c.wasm", "testdata/abi1.0/worker_ttl_c.wasm"} {
		p, err := eng.Load(ctx, file, host.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := host.NewRunner(ctx, st, p, host.RunnerOptions{})
		if err == nil {
			r.Close(ctx)
			t.Errorf("%s runs on postgres", file)
		}
		want := "plugin " + p.Desc.Name + " speaks sqlite only (ABI 1.0, no dialects declared), database postgres://"
		if msg := err.Error(); !errors.Is(err, host.ErrDialect) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("%s on postgres: %q, want one line with %q", file, msg, want)
		}
		p.Close(ctx)
	}
}
