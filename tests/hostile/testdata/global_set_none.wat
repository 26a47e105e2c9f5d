;; global_set_none: a module with no globals of its own whose scan_tick
;; writes globals 0 and 1 at every turn of a loop. As written it is invalid:
;; there is no global 0. After the host's loop-check rewrite appends its two
;; globals, 0 is the interrupt flag and 1 the yield budget, so the loop
;; clears the flag the host sets at the deadline and never yields: the tick
;; can never be stopped. The host must validate the module as the author
;; wrote it and refuse it.
;; Built with: wat2wasm --no-check global_set_none.wat -o global_set_none.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_set_none\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (loop $spin
      (global.set 0 (i32.const 0))
      (global.set 1 (i32.const 1))
      (br $spin))
    (i32.const 0))
)
