package polyglot

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// TestBudgetReset runs the budget_reset suite the Go plugin runs against
// the C, Rust and Extism builds.
func TestBudgetReset(t *testing.T) {
	for _, p := range append(budgetResetPorts, budgetResetExtism) {
		t.Run(p.lang, func(t *testing.T) {
			reconcilertest.BudgetReset(t, p.build(t))
		})
	}
}

// TestWorkerTTL runs the worker_ttl suite the Go plugin runs against the
// C, Rust and Extism builds.
func TestWorkerTTL(t *testing.T) {
	for _, p := range append(workerTTLPorts, workerTTLExtism) {
		t.Run(p.lang, func(t *testing.T) {
			reconcilertest.WorkerTTL(t, p.build(t))
		})
	}
}
