// Package host is the ffwasmhost runtime: it opens and migrates the SQLite
// database, loads and validates WebAssembly reconciler plugins, runs each
// one sandboxed with host functions for SQL, and supervises their tick
// loops.
//
// The pieces, in the order a daemon uses them:
//
//   - OpenDB opens the database with the host's durability settings and
//     Migrate creates the reconciler tables.
//   - NewEngine compiles plugin files (Engine.Load) and checks them against
//     the ABI in ../abi/ABI.md.
//   - NewRunner binds a Plugin to the database; Runner.Tick runs scan_tick
//     once, reusing one wasm instance across ticks.
//   - Supervisor runs one tick loop per job with the semantics of
//     FlowFabric's scanner supervisor.
package host
