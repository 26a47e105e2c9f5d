;; export_missing_describe: exports memory and scan_tick but no describe.
;; The file must be refused at load, naming describe.
;; Built with: wat2wasm export_missing_describe.wat -o export_missing_describe.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_missing_describe\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
