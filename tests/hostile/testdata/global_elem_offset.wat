;; global_elem_offset: a module with no globals whose element segment is
;; placed at the offset global 0 holds: the host's interrupt flag once the
;; rewrite has appended it. Invalid as written.
;; Built with: wat2wasm --no-check global_elem_offset.wat -o global_elem_offset.wasm
(module
  (table 4 funcref)
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_elem_offset\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (elem (global.get 0) $describe)
  (func $describe (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
