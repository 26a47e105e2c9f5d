;; import_wrong_sig: imports ffhost.sql_exec with two i32 parameters instead
;; of six. A host that trusted the name would read four parameters that are
;; not there. The file must be refused at load, naming the import and both
;; signatures.
;; Built with: wat2wasm import_wrong_sig.wat -o import_wrong_sig.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"import_wrong_sig\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 88)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
