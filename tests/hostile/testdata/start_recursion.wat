;; start_recursion: the module's start function computes fib(47) by
;; loop-free recursion: half a minute of work inside instantiation, before
;; any export is called. Loading must give up at the load deadline and
;; refuse the file, naming it.
;; Built with: wat2wasm start_recursion.wat -o start_recursion.wasm
(module
  (memory (export "memory") 1)
  (global $seed (mut i64) (i64.const 0))
  (data $desc (i32.const 1024) "{\"name\":\"start_recursion\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add
        (call $fib (i64.sub (local.get $n) (i64.const 1)))
        (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func $init
    (global.set $seed (call $fib (i64.const 47))))
  (start $init)
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
