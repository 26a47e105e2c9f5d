// Package abicompat checks that plugins built against an earlier minor
// version of the ABI run unchanged on this host: the reconcilers' suites
// against the frozen builds in testdata.
package abicompat

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// TestABI10Plugins: the ABI 1.0 builds of budget_reset and worker_ttl
// declare 1.0, load, and leave the rows their contract wants.
func TestABI10Plugins(t *testing.T) {
	for _, tc := range []struct {
		file  string
		suite func(*testing.T, string)
	}{
		{"testdata/abi1.0/budget_reset_c.wasm", reconcilertest.BudgetReset},
		{"testdata/abi1.0/worker_ttl_c.wasm", reconcilertest.WorkerTTL},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if v := plugintest.New(t, tc.file).Plugin.Desc.ABIVersion; v != "1.0" {
				t.Fatalf("%s declares ABI %s, want the frozen 1.0", tc.file, v)
			}
			tc.suite(t, tc.file)
		})
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
