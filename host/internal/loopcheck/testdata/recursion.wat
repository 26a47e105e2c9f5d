;; Loop-free code that runs for a very long time: only the checks at
;; function entry and after calls can stop it.
(module
  (memory 1)
  ;; fib: the naive doubly recursive Fibonacci; fib(47) is about 3e9 calls
  (func $fib (export "fib") (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else
        (i64.add
          (call $fib (i64.sub (local.get $n) (i64.const 1)))
          (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  ;; twice: calls itself twice per level, depth levels deep: 2^depth calls
  (func $twice (export "twice") (param $depth i32)
    (if (local.get $depth)
      (then
        (call $twice (i32.sub (local.get $depth) (i32.const 1)))
        (call $twice (i32.sub (local.get $depth) (i32.const 1)))))))
