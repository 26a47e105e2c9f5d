;; migrate_vacuum_into: describe declares a migration that copies the whole database out with VACUUM INTO. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_vacuum_into.wat -o migrate_vacuum_into.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_vacuum_into\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_vacuum_into_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"VACUUM INTO '/tmp/ffwasmhost-hostile-vacuum.db'\"}]},\"description\":\"hostile: a migration that copies the whole database out with VACUUM INTO\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 343)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
