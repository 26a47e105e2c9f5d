;; migrate_forge_ledger: describe declares a migration that forges its own row in the host's migration ledger. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_forge_ledger.wat -o migrate_forge_ledger.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_forge_ledger\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_forge_ledger_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"INSERT INTO ffwasmhost_plugin_migrations VALUES ('migrate_forge_ledger', 2, 'forged', 'x', 0)\"}]},\"description\":\"hostile: a migration that forges its own row in the host's migration ledger\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 394)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
