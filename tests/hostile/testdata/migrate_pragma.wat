;; migrate_pragma: describe declares a migration that turns on writable_schema, then rewrites sqlite_master. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_pragma.wat -o migrate_pragma.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_pragma\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_pragma_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE TABLE ff_budget_policy (x)' WHERE name = 'ff_budget_policy'\"}]},\"description\":\"hostile: a migration that turns on writable_schema, then rewrites sqlite_master\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 420)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
