;; tx_sleep: begins a transaction, inserts a row, then sleeps through WASI
;; poll_oneoff (a relative 60 s clock subscription) again and again by
;; recursion, with no loop anywhere. The host cuts every sleep to 10 ms, but
;; a host that checks its deadline only at loop headers never stops the
;; guest between two sleeps. The tick must end at its deadline and the
;; transaction be rolled back.
;; Built with: wat2wasm tx_sleep.wat -o tx_sleep.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tx_sleep\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"writes\":[\"ff_worker_registry_event\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 118)))
  (data $insert (i32.const 2048) "INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind, event_at_ms) SELECT 'hostile', 'tx_sleep', 'attack', coalesce(max(event_at_ms), 0) + 1 FROM ff_worker_registry_event")
  ;; One clock subscription at 256: userdata 0, tag 0 (clock), clock id 1
  ;; (monotonic) at +16, timeout 60 s at +24, precision 0, flags 0
  ;; (relative). The event is written at 512, the count at 600.
  (data (i32.const 272) "\01\00\00\00\00\00\00\00\00\58\47\f8\0d\00\00\00")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $sleep_forever
    (drop (call $poll_oneoff (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))
    (call $sleep_forever))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (call $tx_begin (i32.const 8192) (i32.const 4096)))
    (drop (call $exec (i32.const 2048) (i32.const 197)))
    (call $sleep_forever)
    (i32.const 0))
)
