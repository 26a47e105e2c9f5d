;; global_get_none: a module with no globals of its own whose scan_tick
;; reads global 0, which exists only after the host's rewrite (it is the
;; host's interrupt flag), and returns it as its status. Invalid as written:
;; the host must refuse it instead of letting it read the host's state.
;; Built with: wat2wasm --no-check global_get_none.wat -o global_get_none.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_get_none\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (global.get 0))
)
