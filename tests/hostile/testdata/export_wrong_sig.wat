;; export_wrong_sig: exports scan_tick as (i32) -> i64 instead of
;; (i64) -> i32. The file must be refused at load, naming scan_tick.
;; Built with: wat2wasm export_wrong_sig.wat -o export_wrong_sig.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_wrong_sig\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 88)))
  (func (export "scan_tick") (param $now i32) (result i64)
    (i64.const 0))
)
