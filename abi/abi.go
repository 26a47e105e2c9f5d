// Package abi is the contract between the ffwasmhost host and its plugins:
// export and import names, error classes, the descriptor a plugin returns
// from describe, and the compact binary encoding of SQL arguments and
// results. It uses only the standard library and builds for every GOOS,
// wasip1 included, so the host and the guest SDK share one definition.
//
// The language-neutral specification is ABI.md in this directory.
package abi

// Version is the ABI version this package speaks, as "major.minor". A host
// refuses a plugin whose major differs; minors only add.
const Version = "1.4"

// Major is the major part of Version.
const Major = 1

// HostModule is the wasm import module that holds every host function.
const HostModule = "ffhost"

// Names of the functions a plugin exports.
const (
	// ExportDescribe is "describe() -> i64": a packed (ptr<<32 | len)
	// reference to the plugin's descriptor JSON in guest memory.
	ExportDescribe = "describe"
	// ExportScanTick is "scan_tick(now_ms i64) -> i32": 0 on success,
	// non-zero on failure.
	ExportScanTick = "scan_tick"
	// ExportInitialize is the WASI reactor initializer, run once per
	// instance before any other export.
	ExportInitialize = "_initialize"
)

// Names of the host functions in HostModule.
const (
	FnExec       = "sql_exec"
	FnQuery      = "sql_query"
	FnFetch      = "fetch"
	FnBegin      = "tx_begin"
	FnCommit     = "tx_commit"
	FnRollback   = "tx_rollback"
	FnLog        = "log"
	FnTickReport = "tick_report"
	FnTickError  = "tick_error"
	// FnTickMore is "tick_more() -> ()", ABI 1.1: the running tick
	// stopped with work left.
	FnTickMore = "tick_more"
	// FnConfigGet is "config_get(key_ptr i32, key_len i32, out_ptr i32,
	// out_cap i32) -> i64", ABI 1.3: the value of one of the plugin's
	// configuration keys.
	FnConfigGet = "config_get"
	// FnTickPartition is "tick_partition() -> i32", ABI 1.4: the
	// partition the running tick is for, -1 outside scan_tick.
	FnTickPartition = "tick_partition"
	// FnSQLDialect is "sql_dialect() -> i32", ABI 1.4: the SQL the
	// plugin's connection speaks (DialectSQLite or DialectPostgres), -1
	// outside scan_tick.
	FnSQLDialect = "sql_dialect"
)

// SQL dialects, as sql_dialect returns them and as a descriptor's
// dialects names them (ABI 1.4).
const (
	DialectSQLite   = 0 // "sqlite": ? parameters, SQLite's SQL
	DialectPostgres = 1 // "postgres": $1 parameters, PostgreSQL's SQL
)

// Dialect names, as a descriptor's dialects field lists them.
const (
	DialectNameSQLite   = "sqlite"
	DialectNamePostgres = "postgres"
)

// Status is the class of a host call's outcome. It is the high 32 bits of
// every SQL and transaction host call's i64 result.
type Status uint32

// Statuses. Busy is the only retryable one.
const (
	StatusOK            Status = 0 // the call succeeded; the payload is its result
	StatusBusy          Status = 1 // SQLITE_BUSY or SQLITE_LOCKED: retry after a short wait
	StatusConstraint    Status = 2 // a constraint failed (unique, not null, check, ...)
	StatusNotAuthorized Status = 3 // the statement touches what the plugin did not declare, or is never allowed
	StatusOther         Status = 4 // any other database error
	StatusInvalid       Status = 5 // the call itself was malformed: bad pointer, bad encoding, over a limit, wrong transaction state
)

// String returns the status's lowercase name as used in logs and ABI.md.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusBusy:
		return "busy"
	case StatusConstraint:
		return "constraint"
	case StatusNotAuthorized:
		return "not_authorized"
	case StatusOther:
		return "other"
	case StatusInvalid:
		return "invalid"
	}
	return "unknown"
}

// Retryable reports whether a call that failed with s may succeed if
// repeated after a short wait.
func (s Status) Retryable() bool { return s == StatusBusy }

// Pack joins a status and a payload length into a host call's i64 result.
func Pack(s Status, n uint32) uint64 { return uint64(s)<<32 | uint64(n) }

// Unpack splits a host call's i64 result into its status and payload length.
func Unpack(v uint64) (Status, uint32) { return Status(v >> 32), uint32(v) }

// PackPtr joins a guest pointer and a length into describe's result.
func PackPtr(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// UnpackPtr splits describe's result into a guest pointer and a length.
func UnpackPtr(v uint64) (ptr, n uint32) { return uint32(v >> 32), uint32(v) }

// Log levels accepted by the log host function. They match log/slog.
const (
	LevelDebug int32 = -4
	LevelInfo  int32 = 0
	LevelWarn  int32 = 4
	LevelError int32 = 8
)
