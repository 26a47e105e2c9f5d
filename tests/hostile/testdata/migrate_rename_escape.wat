;; migrate_rename_escape: describe declares a migration that creates its owned table, then renames it to an ff_ name. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_rename_escape.wat -o migrate_rename_escape.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_rename_escape\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_rename_escape_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_rename_escape_t (x); ALTER TABLE migrate_rename_escape_t RENAME TO ff_hostile\"}]},\"description\":\"hostile: a migration that creates its owned table, then renames it to an ff_ name\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 407)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
