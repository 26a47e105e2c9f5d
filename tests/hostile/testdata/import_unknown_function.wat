;; import_unknown_function: imports ffhost.sql_exec_unchecked, a function the
;; ffhost module does not have. The file must be refused at load, naming the
;; import.
;; Built with: wat2wasm import_unknown_function.wat -o import_unknown_function.wasm
(module
  (import "ffhost" "sql_exec_unchecked" (func $x (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"import_unknown_function\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 95)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
