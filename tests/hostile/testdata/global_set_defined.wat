;; global_set_defined: a module that defines two globals of its own and
;; writes globals 2 and 3 in a loop, the indices the host's rewrite gives
;; its interrupt flag and yield budget. Invalid as written; after the
;; rewrite the loop could never be stopped.
;; Built with: wat2wasm --no-check global_set_defined.wat -o global_set_defined.wasm
(module
  (global $counter (mut i32) (i32.const 0))
  (global $seed i64 (i64.const 42))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_set_defined\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (loop $spin
      (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
      (global.set 2 (i32.const 0))
      (global.set 3 (i32.const 1))
      (br $spin))
    (i32.const 0))
)
