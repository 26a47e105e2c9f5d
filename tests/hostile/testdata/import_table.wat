;; import_table: imports a table (and would call through it). The host
;; provides functions only; the module is refused at load, naming the
;; import, rather than failing to instantiate later.
;; Built with: wat2wasm import_table.wat -o import_table.wasm
(module
  (import "env" "table" (table 4 funcref))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"import_table\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 84)))
  (func (export "scan_tick") (param i64) (result i32) (i32.const 0))
)
