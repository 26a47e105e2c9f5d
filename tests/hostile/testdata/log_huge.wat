;; log_huge: log calls with huge lengths: 65,636 bytes of its two pages
;; (over MaxOutputBytes, 64 KiB: cut and marked), all of memory, 2^31-1 and
;; 2^32-1 bytes from address 0, and 2^32-1 bytes from its last byte, at
;; levels far outside [-4, 8]. The host must cut or ignore each, never
;; trap and never write a line longer than the limit.
;; Built with: wat2wasm log_huge.wat -o log_huge.wasm
(module
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data $desc (i32.const 1024) "{\"name\":\"log_huge\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 80)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (call $log (i32.const 0) (i32.const 0) (i32.const 65636))
    (call $log (i32.const 4) (i32.const 0) (i32.const 131072))
    (call $log (i32.const 0x7fffffff) (i32.const 0) (i32.const 0x7fffffff))
    (call $log (i32.const 0x80000000) (i32.const 0) (i32.const 0xffffffff))
    (call $log (i32.const -1) (i32.const 131071) (i32.const 0xffffffff))
    (i32.const 0))
)
