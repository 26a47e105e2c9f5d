;; tx_or_rollback: begins a transaction, inserts a row, then runs INSERT OR
;; ROLLBACK of a copy of that row: the constraint fails and SQLite's ROLLBACK
;; conflict resolution ends the whole transaction behind the host's back.
;; The module then inserts another row (which would commit on its own in
;; autocommit mode) and returns 0 without committing. Whatever the host does
;; about OR ROLLBACK, nothing may reach the database: the plugin's
;; transaction, as far as the ABI goes, was left open.
;; Built with: wat2wasm tx_or_rollback.wat -o tx_or_rollback.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tx_or_rollback\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"writes\":[\"ff_worker_registry_event\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 124)))
  (data $insert (i32.const 2048) "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT 'hostile', 'tx_or_rollback', 'attack', coalesce(max(event_at_ms), 0) + 1 FROM ff_worker_registry_event")
  (data $or_rollback (i32.const 3072) "INSERT OR ROLLBACK INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT namespace, worker_instance_id, event_kind, event_at_ms FROM ff_worker_registry_event WHERE namespace = 'hostile' ORDER BY event_at_ms DESC LIMIT 1")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (call $tx_begin (i32.const 8192) (i32.const 4096)))
    (drop (call $exec (i32.const 2048) (i32.const 203)))
    (drop (call $exec (i32.const 3072) (i32.const 259)))
    (drop (call $exec (i32.const 2048) (i32.const 203)))
    (i32.const 0))
)
