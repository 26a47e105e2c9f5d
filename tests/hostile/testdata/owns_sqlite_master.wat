;; owns_sqlite_master: describe declares owns sqlite_master, so that its migrations may rewrite the schema. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm owns_sqlite_master.wat -o owns_sqlite_master.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"owns_sqlite_master\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"sqlite_master\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"UPDATE sqlite_master SET sql = ''\"}]},\"description\":\"hostile: owns sqlite_master, so that its migrations may rewrite the schema\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 322)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
