;; tick_info_abuse: calls tick_partition and sql_dialect (ABI 1.4) where
;; they mean nothing, in _initialize and describe (both must answer -1
;; there, or describe traps and the module is refused), then ten thousand
;; times in scan_tick. On SQLite a partition-scoped plugin ticks partition 0
;; only, with dialect 0 (sqlite): only then does the tick log its line.
;; Built with: wat2wasm tick_info_abuse.wat -o tick_info_abuse.wasm
(module
  (import "ffhost" "tick_partition" (func $partition (result i32)))
  (import "ffhost" "sql_dialect" (func $dialect (result i32)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"tick_info_abuse\",\"abi_version\":\"1.4\",\"version\":\"1\",\"default_interval_ms\":1000,\"dialects\":[\"sqlite\"],\"partition_family\":\"budget\"}")
  (data (i32.const 2048) "tick_info ok: partition 0 dialect 0 everywhere, -1 outside scan_tick")
  (global $init (mut i32) (i32.const 0))
  (func (export "_initialize")
    (global.set $init (i32.add (call $partition) (call $dialect))))
  (func (export "describe") (result i64)
    (if (i32.ne (i32.add (call $partition) (call $dialect)) (i32.const -2))
      (then unreachable))
    (i64.or (i64.const 0x40000000000) (i64.const 137)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $i i32)
    (local $acc i32)
    (loop $again
      (local.set $acc (i32.or (local.get $acc) (i32.or (call $partition) (call $dialect))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 10000))))
    (if (i32.or (local.get $acc) (i32.ne (global.get $init) (i32.const -2)))
      (then (return (i32.const 1))))
    (call $log (i32.const 0) (i32.const 2048) (i32.const 68))
    (i32.const 0))
)
