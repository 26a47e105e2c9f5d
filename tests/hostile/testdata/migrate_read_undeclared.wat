;; migrate_read_undeclared: describe declares a migration that copies an undeclared table into its owned one. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_read_undeclared.wat -o migrate_read_undeclared.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_read_undeclared\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_read_undeclared_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_read_undeclared_t AS SELECT * FROM ff_budget_policy\"}]},\"description\":\"hostile: a migration that copies an undeclared table into its owned one\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 375)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
