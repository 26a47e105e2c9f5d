// Package reconcilertest is the test suite of the two reconcilers,
// budget_reset and worker_ttl, for every build of them: the Go plugins in
// plugins/budget_reset and plugins/worker_ttl, their C and Rust ports, and
// their Extism builds (plugins/extism).
//
// Each entry point takes the path of a built .wasm file, runs every case
// through the host harness (host/plugintest) against fresh databases at
// fixed now_ms values, and compares whole tables with what the contract
// says they must hold, so every build that passes leaves byte-identical
// rows. The plugin's descriptor name (budget_reset, budget_reset_c, ...)
// and default interval do not matter; its declared tables do.
//
//	func TestBudgetReset(t *testing.T) {
//		reconcilertest.BudgetReset(t, plugintest.Build(t, "."))
//	}
package reconcilertest

import (
	"slices"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// BudgetReset runs every budget_reset case against the plugin at wasm.
func BudgetReset(t *testing.T, wasm string) {
	t.Helper()
	t.Run("Descriptor", func(t *testing.T) {
		checkTables(t, wasm, []string{"ff_budget_policy", "ff_budget_usage"})
	})
	t.Run("Tick", func(t *testing.T) { budgetResetTick(t, wasm) })
	t.Run("UnusableIntervalClearsSchedule", func(t *testing.T) { budgetResetUnusableIntervalClearsSchedule(t, wasm) })
	t.Run("BatchesOf20InDueOrder", func(t *testing.T) { budgetResetBatchesOf20InDueOrder(t, wasm) })
	t.Run("SkipsBudgetChangedAfterScan", func(t *testing.T) { budgetResetSkipsBudgetChangedAfterScan(t, wasm) })
	t.Run("CountsFailuresAndGoesOn", func(t *testing.T) { budgetResetCountsFailuresAndGoesOn(t, wasm) })
	t.Run("IntervalAsPolicyJSONReadsIt", func(t *testing.T) { budgetResetIntervalAsPolicyJSON(t, wasm) })
}

// WorkerTTL runs every worker_ttl case against the plugin at wasm: the
// rows it leaves (WorkerTTLRows) and the shipped builds' idle tick, which
// takes no write lock.
func WorkerTTL(t *testing.T, wasm string) {
	t.Helper()
	WorkerTTLRows(t, wasm)
	t.Run("IdleTickTakesNoWriteLock", func(t *testing.T) { workerTTLIdleTickTakesNoWriteLock(t, wasm) })
}

// WorkerTTLRows runs the worker_ttl cases that check the rows a tick
// leaves: the contract any worker_ttl must keep, one written from ABI.md
// alone included.
func WorkerTTLRows(t *testing.T, wasm string) {
	t.Helper()
	t.Run("Descriptor", func(t *testing.T) {
		checkTables(t, wasm, []string{"ff_worker_registry", "ff_worker_registry_event"})
	})
	t.Run("Sweep", func(t *testing.T) { workerTTLSweep(t, wasm) })
	t.Run("LaterTickSweepsWhatBecameExpired", func(t *testing.T) { workerTTLLaterTickSweepsWhatBecameExpired(t, wasm) })
}

// minorAtLeast reports whether the ABI version v ("1.x") is at least 1.min.
func minorAtLeast(v string, min int) bool {
	_, minor, err := describe.ParseVersion(v)
	return err == nil && minor >= min
}

// checkTables fails the test unless the plugin at wasm declares exactly
// writes and reads nothing else.
func checkTables(t *testing.T, wasm string, writes []string) {
	d := plugintest.New(t, wasm).Plugin.Desc
	if len(d.Reads) != 0 || !slices.Equal(d.Writes, writes) {
		t.Errorf("plugin %s declares reads %q and writes %q, want no reads and writes %q", d.Name, d.Reads, d.Writes, writes)
	}
	if major, _, err := describe.ParseVersion(d.ABIVersion); err != nil || major != 1 {
		t.Errorf("plugin %s speaks ABI %q, want 1.x", d.Name, d.ABIVersion)
	}
}
