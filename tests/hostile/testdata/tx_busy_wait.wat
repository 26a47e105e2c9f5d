;; tx_busy_wait: begins a transaction, inserts a row, then busy-waits for a
;; minute in a loop that reads WASI's monotonic clock, so the deadline
;; usually falls inside a host call while the write lock is held. The tick
;; must end at its deadline and the transaction be rolled back.
;; Built with: wat2wasm tx_busy_wait.wat -o tx_busy_wait.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tx_busy_wait\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"writes\":[\"ff_worker_registry_event\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 122)))
  (data $insert (i32.const 2048) "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT 'hostile', 'tx_busy_wait', 'attack', coalesce(max(event_at_ms), 0) + 1 FROM ff_worker_registry_event")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  ;; $now_ns reads the monotonic clock (id 1) through the scratch word at 16.
  (func $now_ns (result i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 16)))
    (i64.load (i32.const 16)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $start i64)
    (drop (call $tx_begin (i32.const 8192) (i32.const 4096)))
    (drop (call $exec (i32.const 2048) (i32.const 201)))
    (local.set $start (call $now_ns))
    (loop $wait
      (br_if $wait (i64.lt_u (i64.sub (call $now_ns) (local.get $start)) (i64.const 60000000000))))
    (i32.const 0))
)
