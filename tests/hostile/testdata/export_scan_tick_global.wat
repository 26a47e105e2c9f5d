;; export_scan_tick_global: exports scan_tick as a global instead of a
;; function. The file must be refused at load, naming scan_tick.
;; Built with: wat2wasm export_scan_tick_global.wat -o export_scan_tick_global.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_scan_tick_global\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 95)))
  (global (export "scan_tick") i32 (i32.const 0))
)
