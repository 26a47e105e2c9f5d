;; migrate_alter_ff: describe declares a migration that adds a column to ff_worker_registry. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_alter_ff.wat -o migrate_alter_ff.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_alter_ff\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_alter_ff_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"ALTER TABLE ff_worker_registry ADD COLUMN pwned TEXT\"}]},\"description\":\"hostile: a migration that adds a column to ff_worker_registry\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 331)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
