// Package host is the ffwasmhost plugin runtime: it compiles, validates
// and runs WebAssembly reconciler plugins, each sandboxed, against a
// database it reaches only through host/store.
//
// The pieces, in the order a daemon uses them:
//
//   - NewEngine makes an Engine, which compiles plugin files (Engine.Load,
//     Engine.LoadDir), rewrites them so a running guest can be stopped
//     (host/internal/loopcheck), and checks them against the ABI in
//     abi/ABI.md. A Plugin is a file that passed.
//   - ApplyMigrations applies the migrations of the tables a Plugin owns
//     (ABI 1.2) through the store's store.PluginMigrator, before its
//     runner; PendingMigrations lists them without applying them.
//   - NewRunner binds a Plugin to a store.Store; Runner.Tick runs scan_tick
//     once, with the host functions (fn_*.go) serving SQL, transactions,
//     logs and reports, reusing one wasm instance across ticks.
//   - Limits bound what a plugin may use: memory, time, output, logs, and
//     the size of the module itself.
//   - A plugin is of one of two kinds (Kind): an ffhost module, which
//     imports the ffhost host module, or an Extism module (extism.go),
//     which imports Extism's kernel and runs through the Extism Go SDK.
//     Both kinds share the host functions' cores (fn_core.go), the
//     limits, the Runner and everything above it.
//
// It owns the wasm side and nothing else. It must not import a store
// implementation (host/store/sqlite, host/store/postgres), the scheduler
// (host/sched) or the daemon; they, and the commands, import it.
package host
