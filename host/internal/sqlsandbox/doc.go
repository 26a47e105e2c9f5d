// Package sqlsandbox is the SQLite sandbox of plugin connections: one
// connection per plugin with SQLite's authorizer (deny by default: the
// plugin's declared tables, an allowlist of functions and pragmas), SQLite
// limits, a VFS whose clock is the tick's now_ms and which opens no
// temporary file, a heap cap of its own, statements interrupted at the
// tick's deadline, and the plugin's transaction tracked from SQLite's own
// state. Session implements store.Conn; the SQLite store opens one per
// plugin. Migrator is the connection that applies a plugin's migrations
// to the tables it owns, under an authorizer of its own that allows DDL on
// those tables only.
//
// Every use of unsafe and modernc.org/libc in the host (SQLite's C API
// through modernc.org/sqlite/lib) is in this package: interrupt.go,
// sqlconn.go and sqlheap.go. It must not import the plugin runtime or
// wazero; of the host it imports only host/store.
package sqlsandbox
