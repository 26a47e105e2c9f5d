package hostile

import (
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
)

// outcome is what must happen to a module.
type outcome int

const (
	// refused at load: the error names the file and contains every reason.
	refused outcome = iota + 1
	// loads; every tick fails: each reason appears in a log line that
	// names the plugin.
	tickFails
	// loads; ticks succeed or fail but change nothing; the reasons, if
	// any, appear in log lines that name the plugin.
	noChange
)

func (o outcome) String() string {
	switch o {
	case refused:
		return "refused at load"
	case tickFails:
		return "loads; every tick fails"
	case noChange:
		return "loads; ticks succeed or fail but change nothing"
	}
	return "unknown outcome"
}

// module is one row of the expectation table.
type module struct {
	// file is the module's name in testdata, without .wat or .wasm; it is
	// also the plugin name the module declares (describe_name_budget_reset
	// declares budget_reset).
	file string
	// category groups the modules in reports.
	category string
	// attack says in a few words what the module does.
	attack  string
	outcome outcome
	// reasons are substrings of the load error (refused) or of log lines
	// naming the plugin (the others). Keep them here: the host's messages
	// may change.
	reasons []string
	// never must not appear in a log line naming the plugin.
	never []string
	// daemon names the live daemon (TestDaemon) the module runs in.
	// Several modules share one where they cannot blur each other's
	// checks: at most one module per daemon holds the write lock for
	// whole ticks (a second one, or a module that needs the lock, would
	// wait behind it and fail for the wrong reason), and a module that may
	// take the whole daemon down on a host without its fix (a memory bomb,
	// a guest that freezes the runtime) shares its daemon only with
	// modules of its kind.
	daemon string

	// limits override the in-process limits (inProcessLimits) field by
	// field. The live daemon runs every module at 500 ms.
	limits host.Limits
	// interval is the in-process tick interval; 0 means badInterval.
	interval time.Duration
	// ownInterval keeps the descriptor's default_interval_ms in the daemon
	// instead of --interval NAME=200ms: the interval is the attack.
	ownInterval bool
	// dryRun runs the module in a dry run (RunnerOptions.DryRun in process,
	// `ffwasmhost tick --dry-run` for the binary) instead of beside a good
	// plugin: only a dry run gives it something to attack.
	dryRun bool
	// slowLoad allows the refusal to take the host's whole load deadline
	// (10 s) instead of a few seconds: the module spins while loading.
	slowLoad bool
	// beside names a real plugin the module is refused next to; alone it
	// would load.
	beside string
	// maxRSS bounds the peak resident memory of the process that runs the
	// module (the in-process child, the daemon), in bytes; 0 leaves only
	// the watchdog's bound (killBytes).
	maxRSS int64
	// maxTemp bounds the bytes of SQLite's temporary files open at once.
	maxTemp int64
}

// inProcessLimits are the bad plugin's limits in process, as the daemon's
// --limit tick-timeout=500ms.
var inProcessLimits = host.Limits{TickTimeout: 500 * time.Millisecond}

// The in-process bombs get ten times longer, so that what they eat in one
// tick is far over their bound on a host that does not bound it, and well
// under it on one that does.
var bombLimits = host.Limits{TickTimeout: 5 * time.Second}

const (
	mib = int64(1) << 20
	// timeout500 is the planned message of a tick stopped at a 500 ms
	// deadline.
	timeout500 = "tick timeout after 500ms"
	leftOpen   = "transaction left open"
	notAuth    = "not authorized"
	trapped    = "plugin trapped"
	unexpected = "UNEXPECTED" // logged by the conformance modules when the host answers against ABI.md
	escaped    = "ESCAPED"    // logged by the SQL probes when a statement is answered
)

// corpus is the expectation table: one row per module in testdata.
var corpus = []module{
	// Extism plugins (abi/ABI.md section 13): the same attacks through
	// Extism's kernel and the host functions of extism:host/user.
	{file: "extism_loop", category: "extism", attack: "an Extism plugin spinning in `loop br 0` in scan_tick",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "extism-time"},
	// Under load the 500 ms deadline may come before the stack runs out:
	// either stops it cleanly.
	{file: "extism_recursion", category: "extism", attack: "an Extism plugin recursing until the stack runs out, or the deadline comes",
		outcome: tickFails, reasons: []string{"tick failed"}, never: []string{"panic"}, daemon: "extism-time"},
	{file: "extism_slow_call", category: "extism", attack: "an ff_sql_query that outlasts the deadline, then return 0",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "extism-time"},
	{file: "extism_memory_bomb", category: "extism", attack: "allocates 1 MiB Extism blocks until the kernel's memory is full, then traps",
		outcome: tickFails, reasons: []string{trapped}, daemon: "extism-memory", maxRSS: 400 * mib},
	{file: "extism_bad_offsets", category: "extism", attack: "ff_sql_exec and ff_log with offsets that are no Extism block: past memory, inside a block, 2^64-1",
		outcome: tickFails, reasons: []string{"is not an Extism memory block"}, never: []string{unexpected}, daemon: "extism"},
	{file: "extism_describe_sql", category: "extism", attack: "ff_sql_exec from describe, where no database is open",
		outcome: noChange, never: []string{trapped}, daemon: "extism"},
	{file: "extism_huge_output", category: "extism", attack: "describe outputs 4 MiB of Extism memory",
		outcome: refused, reasons: []string{"describe: 4194304 bytes, limit"}, daemon: "extism"},
	{file: "extism_unknown_import", category: "extism", attack: "imports extism:host/user ff_spawn_shell",
		outcome: refused, reasons: []string{"ff_spawn_shell", "which the host does not provide"}, daemon: "extism"},
	{file: "extism_http", category: "extism", attack: "imports Extism's http_request",
		outcome: refused, reasons: []string{"http_request", "no network"}, daemon: "extism"},
	{file: "extism_ffhost_mix", category: "extism", attack: "an Extism plugin importing ffhost's sql_exec too",
		outcome: refused, reasons: []string{"ffhost.sql_exec", "not ffhost"}, daemon: "extism"},
	{file: "extism_bad_signature", category: "extism", attack: "imports ff_sql_exec with i32 offsets",
		outcome: refused, reasons: []string{"ff_sql_exec"}, daemon: "extism"},
	{file: "extism_config_abuse", category: "extism", attack: "ff_config_get from _initialize and describe, with offsets no block has (never allocated, past memory, inside a block, above 2^32, 0), a 65-byte key, an undeclared key, a freed block",
		outcome: noChange, reasons: []string{"5key offset 4294", "is not an Extism memory block", "5config key over 64 bytes", "0strict"}, never: []string{unexpected, trapped}, daemon: "extism"},
	{file: "extism_tick_info_abuse", category: "extism", attack: "ff_tick_partition and ff_sql_dialect in _initialize and describe, ten thousand times a tick",
		outcome: noChange, reasons: []string{"extism tick_info ok"}, never: []string{trapped}, daemon: "extism"},
	{file: "extism_tick_partition_signature", category: "extism", attack: "imports ff_tick_partition as (i64) -> i64",
		outcome: refused, reasons: []string{"ff_tick_partition"}, daemon: "extism"},
	{file: "extism_sql_dialect_signature", category: "extism", attack: "imports ff_sql_dialect as () -> i64",
		outcome: refused, reasons: []string{"ff_sql_dialect"}, daemon: "extism"},

	// Injected-global tampering: code that is invalid as written and valid
	// once the host's loop-check rewrite has appended its interrupt flag
	// and yield budget. The host must judge the module as written.
	{file: "global_set_none", category: "globals", attack: "writes globals 0 and 1 in a loop with no globals of its own: clears the host's interrupt flag",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "global_get_none", category: "globals", attack: "reads global 0 with no globals of its own: the host's interrupt flag",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	// Also imports a global no host module provides; a host that checks
	// imports first reports that instead.
	// Refused before its code is read: the host imports functions only.
	{file: "global_set_imported", category: "globals", attack: "one imported global; writes globals 1 and 2 in a loop",
		outcome: refused, reasons: []string{"may import only functions, not a global"}, daemon: "globals"},
	{file: "global_set_defined", category: "globals", attack: "two defined globals; writes globals 2 and 3 in a loop",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "global_init_expr", category: "globals", attack: "a global initializer reads the global just past its own",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "global_data_offset", category: "globals", attack: "a data segment offset reads global 0 with no globals of its own",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "global_elem_offset", category: "globals", attack: "an element segment offset reads global 0 with no globals of its own",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "global_export_injected", category: "globals", attack: "exports globals 0 and 1 with no globals of its own",
		outcome: refused, reasons: []string{"global index"}, daemon: "globals"},
	{file: "export_ffhost_interrupt", category: "globals", attack: "exports a global of its own as __ffhost_interrupt",
		outcome: refused, reasons: []string{"__ffhost_interrupt"}, daemon: "globals"},
	// ABI.md reserves only __ffhost_interrupt; a demanding operator expects
	// the host's whole prefix reserved.
	{file: "export_ffhost_prefix", category: "globals", attack: "exports __ffhost_budget and __ffhost_yield",
		outcome: refused, reasons: []string{"__ffhost_"}, daemon: "globals"},

	// Running past the deadline without a loop.
	{file: "recursion_fib47", category: "recursion", attack: "fib(47) by loop-free recursion in scan_tick",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "recursion"},
	{file: "recursion_mutual", category: "recursion", attack: "two functions calling each other twice, from n = 50",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "recursion"},
	{file: "recursion_fanout62", category: "recursion", attack: "each level calls itself twice, 62 levels: 2^62 calls",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "recursion"},
	{file: "recursion_deep_unwind", category: "recursion", attack: "1,000,000 frames deep, each running 2,000 straight-line instructions while unwinding",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "unwind"},
	{file: "recursion_unbounded", category: "recursion", attack: "recurses until the stack runs out",
		outcome: tickFails, reasons: []string{trapped, "stack overflow"}, daemon: "unwind"},
	{file: "overrun_returns_zero", category: "recursion", attack: "an endless CTE cut short by the deadline, then return 0",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "unwind"},

	// Spinning while the host loads the module, where no tick deadline
	// applies: the load deadline (10 s) must.
	{file: "describe_recursion", category: "load-time", attack: "describe computes fib(47) by recursion",
		outcome: refused, reasons: []string{"describe", "timeout"}, slowLoad: true, daemon: "load-time"},
	{file: "init_loop", category: "load-time", attack: "_initialize loops forever",
		outcome: refused, reasons: []string{"timeout"}, slowLoad: true, daemon: "load-time"},
	{file: "init_recursion", category: "load-time", attack: "_initialize computes fib(47) by recursion",
		outcome: refused, reasons: []string{"timeout"}, slowLoad: true, daemon: "load-time"},
	{file: "start_loop", category: "load-time", attack: "the start function loops forever",
		outcome: refused, reasons: []string{"timeout"}, slowLoad: true, daemon: "load-time"},
	{file: "start_recursion", category: "load-time", attack: "the start function computes fib(47) by recursion",
		outcome: refused, reasons: []string{"timeout"}, slowLoad: true, daemon: "load-time"},

	// Transactions left open in every way.
	{file: "tx_return_open", category: "transactions", attack: "returns 0 with its transaction open",
		outcome: tickFails, reasons: []string{leftOpen}, daemon: "tx-quick"},
	{file: "tx_trap_open", category: "transactions", attack: "traps with its transaction open",
		outcome: tickFails, reasons: []string{trapped, leftOpen}, daemon: "tx-quick"},
	{file: "tx_endless_cte", category: "transactions", attack: "deadline in the middle of an endless CTE inside the transaction",
		outcome: tickFails, reasons: []string{timeout500, leftOpen}, daemon: "recursion"},
	{file: "tx_busy_wait", category: "transactions", attack: "busy-waits on WASI's clock holding the write lock",
		outcome: tickFails, reasons: []string{timeout500, leftOpen}, daemon: "unwind"},
	{file: "tx_sleep", category: "transactions", attack: "sleeps through poll_oneoff by recursion holding the write lock",
		outcome: tickFails, reasons: []string{timeout500, leftOpen}, daemon: "memory"},
	// The plugin rolled back (too late); whether the host then reports the
	// transaction as left open is its choice.
	{file: "tx_rollback_late", category: "transactions", attack: "tx_rollback after the deadline",
		outcome: tickFails, reasons: []string{timeout500}, daemon: "sql-bombs"},
	{file: "tx_commit_late", category: "transactions", attack: "tx_commit after the deadline",
		outcome: tickFails, reasons: []string{timeout500, leftOpen}, daemon: "load-time"},
	{file: "tx_begin_twice", category: "transactions", attack: "tx_begin twice, then returns with the transaction open",
		outcome: tickFails, reasons: []string{leftOpen}, never: []string{unexpected}, daemon: "tx-quick"},
	// Whatever the host does about OR ROLLBACK, the plugin's transaction
	// is open as far as the ABI goes when the tick ends.
	{file: "tx_or_rollback", category: "transactions", attack: "INSERT OR ROLLBACK hits a constraint inside the transaction, then more writes",
		outcome: tickFails, reasons: []string{leftOpen}, daemon: "tx-quick"},
	{file: "tx_or_rollback_dryrun", category: "transactions", attack: "INSERT OR ROLLBACK ends a dry run's outer transaction, then more writes",
		outcome: noChange, dryRun: true, daemon: "cli-dry-run"},

	// Host calls with bad, overlapping and wrapping pointers.
	{file: "ptr_out_of_range", category: "host calls", attack: "every host function with pointers past memory",
		outcome: noChange, never: []string{unexpected, trapped}, daemon: "calls"},
	{file: "ptr_wrapping", category: "host calls", attack: "every host function with ptr+len past 2^32",
		outcome: noChange, never: []string{unexpected, trapped}, daemon: "calls"},
	{file: "ptr_overlap", category: "host calls", attack: "out buffers overlapping the SQL text and the arguments",
		outcome: noChange, never: []string{unexpected, trapped}, daemon: "calls"},
	{file: "config_abuse", category: "host calls", attack: "config_get (ABI 1.3) from describe, with bad keys and buffers, undeclared and other plugins' keys",
		outcome: noChange, reasons: []string{"strict"}, never: []string{unexpected, trapped}, daemon: "calls"},
	{file: "fetch_abuse", category: "host calls", attack: "fetch with nothing kept, twice, too small, out of range, after a drop",
		outcome: noChange, never: []string{unexpected, trapped}, daemon: "calls"},

	// Memory.
	{file: "memory_grow_cap", category: "memory", attack: "memory.grow one page at a time to the cap, then far beyond",
		outcome: noChange, never: []string{unexpected, trapped}, daemon: "memory"},
	// ABI.md refuses only an initial memory over the limit; the table
	// expects what it says.
	{file: "memory_max_over", category: "memory", attack: "declares a 4 GiB maximum memory, over the limit",
		outcome: noChange, never: []string{trapped}, daemon: "calls"},
	{file: "memory_initial_over", category: "memory", attack: "initial memory one page over the limit",
		outcome: refused, reasons: []string{"memory", "limit"}, daemon: "refused"},
	{file: "memory64", category: "memory", attack: "a 64-bit memory",
		outcome: refused, reasons: []string{"memory"}, daemon: "refused"},
	{file: "memory_multi", category: "memory", attack: "two memories",
		outcome: refused, reasons: []string{"memory"}, daemon: "refused"},
	{file: "import_table", category: "imports/exports", attack: "imports a table",
		outcome: refused, reasons: []string{"may import only functions, not a table"}, daemon: "refused"},
	{file: "memory_imported", category: "memory", attack: "imports its memory",
		outcome: refused, reasons: []string{"may import only functions, not a memory"}, daemon: "refused"},

	// Modules that cost the runtime far more to compile than their size.
	{file: "huge_locals", category: "load bounds", attack: "2,500 functions × 50,000 locals in 20 KB",
		outcome: refused, reasons: []string{"locals"}, daemon: "huge"},
	{file: "huge_nesting", category: "load bounds", attack: "100,000 nested blocks",
		outcome: refused, reasons: []string{"nesting"}, daemon: "huge"},
	{file: "huge_body", category: "load bounds", attack: "one function body of 7,654,400 bytes",
		outcome: refused, reasons: []string{"function body"}, daemon: "huge"},

	// Tables.
	{file: "table_oob", category: "tables", attack: "call_indirect past the end of the table",
		outcome: tickFails, reasons: []string{trapped}, daemon: "memory"},
	{file: "table_sig_mismatch", category: "tables", attack: "call_indirect through the wrong signature",
		outcome: tickFails, reasons: []string{trapped}, daemon: "memory"},
	{file: "table_null", category: "tables", attack: "call_indirect through a null entry",
		outcome: tickFails, reasons: []string{trapped}, daemon: "memory"},
	// Tables live in host memory, outside the memory limit; a demanding
	// operator expects eight gigabytes of them refused, not reserved.
	{file: "table_huge", category: "tables", attack: "eight tables of 2^27 entries, filled",
		outcome: refused, reasons: []string{"table"}, daemon: "tables"},
	{file: "table_grow_loop", category: "tables", attack: "table.grow by 2^24 entries in a loop",
		outcome: noChange, maxRSS: 512 * mib, daemon: "tables"},

	// Imports and exports.
	{file: "import_wrong_sig", category: "imports/exports", attack: "imports ffhost.sql_exec with two parameters",
		outcome: refused, reasons: []string{"imports ffhost.sql_exec as", "host provides"}, daemon: "refused"},
	{file: "import_wasi_wrong_sig", category: "imports/exports", attack: "imports fd_write returning an i64",
		outcome: refused, reasons: []string{"imports wasi_snapshot_preview1.fd_write as", "host provides"}, daemon: "refused"},
	{file: "import_unknown_module", category: "imports/exports", attack: "imports env.abort",
		outcome: refused, reasons: []string{"env.abort"}, daemon: "refused"},
	{file: "import_unknown_function", category: "imports/exports", attack: "imports ffhost.sql_exec_unchecked",
		outcome: refused, reasons: []string{"ffhost.sql_exec_unchecked"}, daemon: "refused"},
	{file: "export_scan_tick_global", category: "imports/exports", attack: "exports scan_tick as a global",
		outcome: refused, reasons: []string{`"scan_tick"`}, daemon: "refused"},
	{file: "export_memory_func", category: "imports/exports", attack: "exports a function as memory",
		outcome: refused, reasons: []string{`"memory"`}, daemon: "refused"},
	{file: "export_missing_describe", category: "imports/exports", attack: "exports no describe",
		outcome: refused, reasons: []string{`"describe"`}, daemon: "refused"},
	{file: "export_wrong_sig", category: "imports/exports", attack: "exports scan_tick as (i32) -> i64",
		outcome: refused, reasons: []string{`"scan_tick"`, "signature"}, daemon: "refused"},

	// Segments. The runtime silently skips an out-of-bounds element
	// segment (and the ones after it) where the specification fails the
	// instantiation; a demanding operator expects the specification.
	{file: "data_oob", category: "segments", attack: "a data segment past the end of memory",
		outcome: refused, reasons: []string{"out of bounds"}, daemon: "refused"},
	{file: "elem_oob", category: "segments", attack: "an element segment past the end of the table",
		outcome: refused, reasons: []string{"run past the end of table"}, daemon: "refused"},

	// SQL from a valid module. Whether a bomb ends with a timeout or a
	// limit of the host's is the host's choice: the table asks for a failed
	// tick and bounded resources.
	{file: "sql_json_group_array", category: "sql", attack: "four growing aggregates over an endless recursive CTE",
		outcome: tickFails, reasons: []string{"tick failed"}, never: []string{escaped}, limits: bombLimits, maxRSS: 512 * mib, daemon: "sql-bombs"},
	{file: "sql_order_by", category: "sql", attack: "an endless recursive CTE ordered by 200 KB values",
		outcome: tickFails, reasons: []string{"tick failed"}, never: []string{escaped}, limits: bombLimits, maxTemp: 256 * mib, daemon: "sql-bombs"},
	{file: "sql_count_dbpage", category: "sql", attack: "SELECT count(*) FROM sqlite_dbpage",
		outcome: tickFails, reasons: []string{notAuth, "sqlite_dbpage"}, never: []string{escaped}, daemon: "calls"},
	{file: "sql_select_dbpage", category: "sql", attack: "SELECT 1 FROM sqlite_dbpage LIMIT 1",
		outcome: tickFails, reasons: []string{notAuth, "sqlite_dbpage"}, never: []string{escaped}, daemon: "calls"},
	{file: "sql_count_schema", category: "sql", attack: "SELECT count(*) FROM sqlite_schema",
		outcome: tickFails, reasons: []string{notAuth, "sqlite_"}, never: []string{escaped}, daemon: "calls"},
	{file: "sql_count_master", category: "sql", attack: "SELECT count(*) FROM sqlite_master",
		outcome: tickFails, reasons: []string{notAuth, "sqlite_"}, never: []string{escaped}, daemon: "calls"},
	{file: "sql_count_temp_schema", category: "sql", attack: "SELECT count(*) FROM sqlite_temp_schema",
		outcome: tickFails, reasons: []string{notAuth, "sqlite_"}, never: []string{escaped}, daemon: "calls"},
	// ABI.md promises now_ms is the only time a plugin sees: SQL's 'now'
	// is the tick's now_ms, to the millisecond.
	{file: "sql_current_timestamp", category: "sql", attack: "current_timestamp and strftime('now'): the real wall clock",
		outcome: noChange, never: []string{escaped}, daemon: "calls"},
	{file: "sql_random", category: "sql", attack: "SELECT random(), randomblob(16)",
		outcome: noChange, daemon: "calls"},

	// Log and report abuse.
	{file: "log_flood", category: "log/report", attack: "100,000 log lines in one tick",
		outcome: noChange, reasons: []string{"log lines dropped"}, daemon: "calls"},
	{file: "log_huge", category: "log/report", attack: "log with huge and impossible lengths and levels",
		outcome: noChange, reasons: []string{"(cut)"}, never: []string{trapped}, daemon: "calls"},
	{file: "tick_error_bad", category: "log/report", attack: "tick_error with pointers past memory and wrapping",
		outcome: tickFails, reasons: []string{"outside guest memory"}, daemon: "calls"},
	{file: "tick_report_negative", category: "log/report", attack: "tick_report(-5, -2^63)",
		outcome: noChange, never: []string{trapped}, daemon: "calls"},
	{file: "tick_more_abuse", category: "log/report", attack: "tick_more (ABI 1.1) in _initialize and describe, a thousand times, then a trap",
		outcome: tickFails, reasons: []string{trapped}, daemon: "calls"},
	{file: "tick_info_abuse", category: "log/report", attack: "tick_partition and sql_dialect (ABI 1.4) in _initialize and describe, ten thousand times a tick",
		outcome: noChange, reasons: []string{"tick_info ok"}, never: []string{trapped}, daemon: "calls"},

	// Descriptor tricks.
	{file: "describe_oob_ptr", category: "describe", attack: "describe points past memory",
		outcome: refused, reasons: []string{"outside guest memory"}, daemon: "refused"},
	{file: "describe_huge_len", category: "describe", attack: "describe returns a length of 2^32-1",
		outcome: refused, reasons: []string{"limit"}, daemon: "refused"},
	{file: "describe_dialect_bogus", category: "describe", attack: "dialects lists mysql (ABI 1.4)",
		outcome: refused, reasons: []string{`dialect "mysql": want sqlite or postgres`}, daemon: "refused"},
	{file: "describe_config_abi10", category: "describe", attack: "config keys (ABI 1.3) in a 1.0 descriptor",
		outcome: refused, reasons: []string{"config keys need abi_version 1.3"}, daemon: "refused"},
	{file: "describe_config_bad", category: "describe", attack: "config keys: an int default past int64, a key named like SQL, a duplicate",
		outcome: refused, reasons: []string{"config key batch: default", "is not a whole number"}, daemon: "refused"},
	{file: "describe_config_many", category: "describe", attack: "33 config keys, one over the limit",
		outcome: refused, reasons: []string{"33 config keys, limit 32"}, daemon: "refused"},
	{file: "describe_config_text", category: "describe", attack: "32 config keys with 8 KiB of defaults together",
		outcome: refused, reasons: []string{"names, defaults and docs are", "limit 4096"}, daemon: "refused"},
	{file: "describe_bad_json", category: "describe", attack: "describe returns invalid JSON",
		outcome: refused, reasons: []string{"JSON"}, daemon: "refused"},
	{file: "describe_name_budget_reset", category: "describe", attack: "claims the name budget_reset",
		outcome: refused, reasons: []string{"duplicate plugin name"}, beside: "budget_reset", daemon: "refused"},
	// ABI.md asks only for >= 0; a demanding operator expects an interval
	// the host cannot represent refused, not wrapped.
	{file: "describe_interval_max", category: "describe", attack: "default_interval_ms 9223372036854775807: -1 ms as a time.Duration",
		outcome: refused, reasons: []string{"default_interval_ms"}, ownInterval: true, daemon: "refused"},
	{file: "describe_interval_wrap", category: "describe", attack: "default_interval_ms 76480200929599801: 64 ns as a time.Duration",
		outcome: refused, reasons: []string{"default_interval_ms"}, ownInterval: true, daemon: "refused"},
	{file: "describe_interval_1ms", category: "describe", attack: "default_interval_ms 1, a write transaction every tick",
		outcome: noChange, interval: time.Millisecond, ownInterval: true, daemon: "calls"},

	// Owned tables and migrations (ABI 1.2). A plugin that loads is refused
	// when its migrations are applied (in process: on a fresh database; in
	// the daemon: before its runner), with the database unchanged.
	{file: "migrate_drop_ff", category: "migrations", attack: "a migration that drops ff_budget_policy",
		outcome: refused, reasons: []string{"migration 1 (step 1)", "migrations may not drop"}, daemon: "refused"},
	{file: "migrate_alter_ff", category: "migrations", attack: "a migration that adds a column to ff_worker_registry",
		outcome: refused, reasons: []string{"alter table ff_worker_registry: not a table the plugin owns"}, daemon: "refused"},
	{file: "migrate_trigger_ff", category: "migrations", attack: "a migration that puts a trigger on ff_budget_usage emptying ff_budget_policy",
		outcome: refused, reasons: []string{"statement 2", "create trigger"}, daemon: "refused"},
	{file: "migrate_attach", category: "migrations", attack: "a migration that attaches another database file and writes it",
		outcome: refused, reasons: []string{"attach"}, daemon: "refused"},
	{file: "migrate_pragma", category: "migrations", attack: "PRAGMA writable_schema = ON, then a rewrite of sqlite_master",
		outcome: refused, reasons: []string{"pragma writable_schema"}, daemon: "refused"},
	{file: "migrate_forge_ledger", category: "migrations", attack: "a migration that forges its own row in the migration ledger",
		outcome: refused, reasons: []string{"insert ffwasmhost_plugin_migrations"}, daemon: "refused"},
	{file: "migrate_rename_escape", category: "migrations", attack: "creates its owned table, then renames it to an ff_ name",
		outcome: refused, reasons: []string{"only ALTER TABLE ... ADD COLUMN"}, daemon: "refused"},
	{file: "migrate_vacuum_into", category: "migrations", attack: "VACUUM INTO a file of its choice: the whole database copied out",
		outcome: refused, reasons: []string{"VACUUM is not allowed"}, daemon: "refused"},
	{file: "migrate_read_undeclared", category: "migrations", attack: "copies an undeclared table into its owned one",
		outcome: refused, reasons: []string{"read ff_budget_policy: table not declared"}, daemon: "refused"},
	{file: "migrate_load_extension", category: "migrations", attack: "a migration that calls load_extension",
		outcome: refused, reasons: []string{"function load_extension"}, daemon: "refused"},
	{file: "migrate_fk_ff", category: "migrations", attack: "an owned table with a foreign key to ff_budget_policy, ON DELETE RESTRICT",
		outcome: refused, reasons: []string{"references ff_budget_policy, which the plugin does not own"}, daemon: "refused"},
	{file: "migrate_second_step", category: "migrations", attack: "a good first step, then one that drops ff_budget_usage",
		outcome: refused, reasons: []string{"migration 2 (step 2)", "migrations may not drop"}, daemon: "refused"},
	{file: "owns_sqlite_master", category: "migrations", attack: "owns sqlite_master, so that a migration may rewrite the schema",
		outcome: refused, reasons: []string{"internal to SQLite"}, daemon: "refused"},
	{file: "owns_ff_table", category: "migrations", attack: "owns ff_budget_policy, so that a migration may alter it",
		outcome: refused, reasons: []string{"belong to FlowFabric"}, daemon: "refused"},
	{file: "owns_declared_table", category: "migrations", attack: "owns a table it also declares in writes",
		outcome: refused, reasons: []string{"also declared in writes"}, daemon: "refused"},
	{file: "migrate_too_many", category: "migrations", attack: "65 migrations, one over the limit",
		outcome: refused, reasons: []string{"65 sqlite migrations, limit 64"}, daemon: "refused"},
	{file: "migrate_huge_sql", category: "migrations", attack: "one migration of 16 KiB and one byte",
		outcome: refused, reasons: []string{"limit 16384"}, daemon: "refused"},
	{file: "migrate_bad_ids", category: "migrations", attack: "two migrations numbered 1",
		outcome: refused, reasons: []string{"sqlite migration 2 has id 1"}, daemon: "refused"},
}
