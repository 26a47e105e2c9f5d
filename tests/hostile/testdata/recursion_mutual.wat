;; recursion_mutual: two functions that call each other, each twice, with
;; no loop anywhere: ping(n) = pong(n-1) + pong(n-2), pong likewise, from
;; n = 50. Billions of calls; the tick must still end at its deadline.
;; Built with: wat2wasm recursion_mutual.wat -o recursion_mutual.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"recursion_mutual\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 88)))
  (func $ping (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (i64.const 1))
      (else (i64.add
        (call $pong (i64.sub (local.get $n) (i64.const 1)))
        (call $pong (i64.sub (local.get $n) (i64.const 2)))))))
  (func $pong (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (i64.const 1))
      (else (i64.add
        (call $ping (i64.sub (local.get $n) (i64.const 2)))
        (call $ping (i64.sub (local.get $n) (i64.const 1)))))))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.wrap_i64 (i64.and (call $ping (i64.const 50)) (i64.const 0))))
)
