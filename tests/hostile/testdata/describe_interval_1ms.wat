;; describe_interval_1ms: default_interval_ms is 1, and every tick takes the
;; write lock (tx_begin, a read, tx_commit): a thousand short write
;; transactions a second. Valid; the host must keep the other plugins on
;; their cadence, answer its endpoints and let other writers in.
;; Built with: wat2wasm describe_interval_1ms.wat -o describe_interval_1ms.wasm
(module
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "ffhost" "tx_commit" (func $tx_commit (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_interval_1ms\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1,\"reads\":[\"ff_worker_registry_event\"]}")
  (data $select (i32.const 2048) "SELECT count(*) FROM ff_worker_registry_event")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 127)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (if (i64.ne (i64.shr_u (call $tx_begin (i32.const 8192) (i32.const 4096)) (i64.const 32)) (i64.const 0))
      (then (return (i32.const 1))))
    (drop (call $sql_query (i32.const 2048) (i32.const 45) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
    (drop (call $tx_commit (i32.const 8192) (i32.const 4096)))
    (i32.const 0))
)
