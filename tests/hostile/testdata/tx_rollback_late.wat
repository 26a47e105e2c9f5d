;; tx_rollback_late: begins a transaction, inserts a row, runs an endless
;; recursive CTE that the deadline cuts short, then calls tx_rollback after
;; the deadline and returns 0. A rollback that fails because the deadline
;; passed must not leave the transaction, and SQLite's write lock, held by
;; the plugin's connection.
;; Built with: wat2wasm tx_rollback_late.wat -o tx_rollback_late.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "ffhost" "tx_rollback" (func $tx_rollback (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tx_rollback_late\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"writes\":[\"ff_worker_registry_event\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 126)))
  (data $insert (i32.const 2048) "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT 'hostile', 'tx_rollback_late', 'attack', coalesce(max(event_at_ms), 0) + 1 FROM ff_worker_registry_event")
  (data $endless (i32.const 3072) "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (call $tx_begin (i32.const 8192) (i32.const 4096)))
    (drop (call $exec (i32.const 2048) (i32.const 205)))
    (drop (call $query (i32.const 3072) (i32.const 86)))
    (drop (call $tx_rollback (i32.const 8192) (i32.const 4096)))
    (i32.const 0))
)
