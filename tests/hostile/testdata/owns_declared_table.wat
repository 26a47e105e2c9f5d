;; owns_declared_table: describe declares owns a table it also declares in writes. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm owns_declared_table.wat -o owns_declared_table.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"owns_declared_table\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[\"owns_declared_table_t\"],\"owns\":[\"owns_declared_table_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE owns_declared_table_t (x)\"}]},\"description\":\"hostile: owns a table it also declares in writes\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 333)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
