package main

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// TestBudgetReset builds this package to wasm and runs the reconciler
// suite every build of budget_reset shares (the C and Rust ports run it in
// tests/polyglot): fixed now_ms values, fresh databases, whole tables
// compared.
func TestBudgetReset(t *testing.T) {
	reconcilertest.BudgetReset(t, plugintest.Build(t, "."))
}
