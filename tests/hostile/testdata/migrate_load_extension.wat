;; migrate_load_extension: describe declares a migration that calls load_extension. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_load_extension.wat -o migrate_load_extension.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_load_extension\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_load_extension_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_load_extension_t AS SELECT load_extension('/tmp/x.so') AS y\"}]},\"description\":\"hostile: a migration that calls load_extension\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 356)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
