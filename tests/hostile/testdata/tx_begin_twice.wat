;; tx_begin_twice: calls tx_begin twice (the second must fail with status 5,
;; invalid: one transaction at a time), inserts a row and returns 0 with the
;; transaction open. If the second tx_begin does not answer invalid the
;; module logs UNEXPECTED.
;; Built with: wat2wasm tx_begin_twice.wat -o tx_begin_twice.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tx_begin_twice\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"writes\":[\"ff_worker_registry_event\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 124)))
  (data $insert (i32.const 2048) "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT 'hostile', 'tx_begin_twice', 'attack', coalesce(max(event_at_ms), 0) + 1 FROM ff_worker_registry_event")
  (data $unexpected (i32.const 4000) "UNEXPECTED: a second tx_begin did not answer invalid")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (call $tx_begin (i32.const 8192) (i32.const 4096)))
    (if (i64.ne (i64.shr_u (call $tx_begin (i32.const 8192) (i32.const 4096)) (i64.const 32)) (i64.const 5))
      (then (call $log (i32.const 8) (i32.const 4000) (i32.const 52))))
    (drop (call $exec (i32.const 2048) (i32.const 203)))
    (i32.const 0))
)
