;; recursion_fib47: fib(47) by plain double recursion in scan_tick, with no
;; loop anywhere: about 10^10 calls, half a minute of work. A host that
;; checks its interrupt flag only at loop headers never stops it; the tick
;; must still end at its deadline.
;; Built with: wat2wasm recursion_fib47.wat -o recursion_fib47.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"recursion_fib47\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add
        (call $fib (i64.sub (local.get $n) (i64.const 1)))
        (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.wrap_i64 (i64.and (call $fib (i64.const 47)) (i64.const 0))))
)
