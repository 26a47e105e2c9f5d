;; log_flood: logs 100,000 lines in one tick, in a loop. The host keeps
;; MaxLogLines (1000) of them and counts the rest in one warning; the tick
;; succeeds.
;; Built with: wat2wasm log_flood.wat -o log_flood.wasm
(module
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"log_flood\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 81)))
  (data $line (i32.const 2048) "log_flood: line")
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $i i32)
    (loop $more
      (call $log (i32.const 0) (i32.const 2048) (i32.const 15))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
    (i32.const 0))
)
