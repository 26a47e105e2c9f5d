;; recursion_fanout62: each level calls itself twice, 62 levels deep: 2^62
;; calls, a stack never deeper than 63 frames and no loop anywhere. It
;; would run for centuries; the tick must end at its deadline.
;; Built with: wat2wasm recursion_fanout62.wat -o recursion_fanout62.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"recursion_fanout62\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (func $fan (param $n i32)
    (if (local.get $n)
      (then
        (call $fan (i32.sub (local.get $n) (i32.const 1)))
        (call $fan (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "scan_tick") (param $now i64) (result i32)
    (call $fan (i32.const 62))
    (i32.const 0))
)
