;; global_init_expr: a global whose initializer reads global 1, the index
;; just past the module's own single global: the host's interrupt flag once
;; the rewrite has appended it. Invalid as written.
;; Built with: wat2wasm --no-check global_init_expr.wat -o global_init_expr.wasm
(module
  (global $copy i32 (global.get 1))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_init_expr\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 88)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (global.get $copy))
)
