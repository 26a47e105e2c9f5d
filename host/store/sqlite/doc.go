// Package sqlite is the SQLite store: one database file in WAL mode, with
// FlowFabric's SQLite schema for the reconcilers, the host's numbered
// migrations, plugins' migrations of the tables they own with their ledger
// (store.PluginMigrator), the flock that lets one daemon be active at a time, and a
// connection per plugin sandboxed by SQLite's authorizer
// (host/internal/sqlsandbox).
//
// It implements host/store's interfaces; it must not import the plugin
// runtime, wazero, or another store. Everything that calls into SQLite's
// C API goes through host/internal/sqlsandbox.
package sqlite
