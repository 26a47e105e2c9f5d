;; recursion_unbounded: a function that calls itself until the stack runs
;; out, each frame carrying a few locals. The runtime must trap it (stack
;; overflow) without taking the host down; the tick fails as a trap.
;; Built with: wat2wasm recursion_unbounded.wat -o recursion_unbounded.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"recursion_unbounded\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 91)))
  (func $down (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (i64.mul (local.get $n) (i64.const 3)))
    (local.set $b (i64.add (local.get $a) (i64.const 7)))
    (local.set $c (call $down (i64.add (local.get $n) (i64.const 1))))
    (local.set $d (i64.xor (local.get $b) (local.get $c)))
    (i64.add (local.get $d) (local.get $a)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.wrap_i64 (call $down (i64.const 0))))
)
