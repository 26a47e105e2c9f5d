package main

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// TestWorkerTTL builds this package to wasm and runs the reconciler suite
// every build of worker_ttl shares (the C and Rust ports run it in
// tests/polyglot): fixed now_ms values, fresh databases, whole tables
// compared.
func TestWorkerTTL(t *testing.T) {
	reconcilertest.WorkerTTL(t, plugintest.Build(t, "."))
}
