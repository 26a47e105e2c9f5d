;; tick_error_bad: sets its tick's error message with bad pointers: past
;; memory, wrapping past 2^32, and a huge length, then fails. The tick fails
;; with the host's own message about the pointer, and nothing traps.
;; Built with: wat2wasm tick_error_bad.wat -o tick_error_bad.wasm
(module
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tick_error_bad\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 86)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (call $tick_error (i32.const 0) (i32.const 0xffffffff))
    (call $tick_error (i32.const 0xfffffff0) (i32.const 0x20))
    (call $tick_error (i32.const 0x7fffff00) (i32.const 64))
    (i32.const 1))
)
