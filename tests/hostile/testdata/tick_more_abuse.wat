;; tick_more_abuse: calls tick_more (ABI 1.1) where it means nothing, in
;; _initialize and in describe, then a thousand times in scan_tick before
;; trapping. The host ignores it outside scan_tick, keeps it idempotent
;; inside, and never drains after a tick that failed: every tick fails
;; with the trap and the plugin keeps its interval.
;; Built with: wat2wasm tick_more_abuse.wat -o tick_more_abuse.wasm
(module
  (import "ffhost" "tick_more" (func $tick_more))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"tick_more_abuse\",\"abi_version\":\"1.1\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "_initialize") (call $tick_more))
  (func (export "describe") (result i64)
    (call $tick_more)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $i i32)
    (loop $again
      (call $tick_more)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
    unreachable)
)
