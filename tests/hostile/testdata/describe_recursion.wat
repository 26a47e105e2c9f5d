;; describe_recursion: describe computes fib(47) by loop-free recursion
;; before it answers: half a minute of work at load, where no tick deadline
;; applies. Loading must give up at the load deadline (10 s) and refuse the
;; file, naming it.
;; Built with: wat2wasm describe_recursion.wat -o describe_recursion.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_recursion\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add
        (call $fib (i64.sub (local.get $n) (i64.const 1)))
        (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "describe") (result i64)
    (i64.or
      (i64.and (call $fib (i64.const 47)) (i64.const 0))
      (i64.or (i64.const 0x40000000000) (i64.const 90))))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
