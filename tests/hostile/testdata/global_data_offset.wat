;; global_data_offset: a module with no globals whose second data segment
;; is placed at the offset global 0 holds: the host's interrupt flag once
;; the rewrite has appended it. Invalid as written.
;; Built with: wat2wasm --no-check global_data_offset.wat -o global_data_offset.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_data_offset\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (data (global.get 0) "flag")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
