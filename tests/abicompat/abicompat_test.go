// Package abicompat checks that plugins built against an earlier minor
// version of the ABI run unchanged on this host: the reconcilers' suites
// against the frozen builds in testdata.
package abicompat

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
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
