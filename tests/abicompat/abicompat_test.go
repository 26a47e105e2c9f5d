// Package abicompat checks that plugins built against an earlier minor
// version of the ABI run unchanged on this host: the reconcilers' suites
// against the frozen builds in testdata.
package abicompat

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
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
