;; migrate_attach: describe declares a migration that attaches another database file. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_attach.wat -o migrate_attach.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_attach\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_attach_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"ATTACH DATABASE '/tmp/ffwasmhost-hostile-attach.db' AS x; CREATE TABLE x.migrate_attach_t (y)\"}]},\"description\":\"hostile: a migration that attaches another database file\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 363)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
