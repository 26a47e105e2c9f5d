;; migrate_bad_ids: describe declares two migrations both numbered 1. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_bad_ids.wat -o migrate_bad_ids.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_bad_ids\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_bad_ids_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"a\",\"sql\":\"CREATE TABLE migrate_bad_ids_t (x)\"},{\"id\":1,\"name\":\"b\",\"sql\":\"CREATE INDEX migrate_bad_ids_i ON migrate_bad_ids_t (x)\"}]},\"description\":\"hostile: two migrations both numbered 1\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 368)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
