;; owns_ff_table: describe declares owns ff_budget_policy, so that its migrations may alter it. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm owns_ff_table.wat -o owns_ff_table.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"owns_ff_table\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"ff_budget_policy\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"ALTER TABLE ff_budget_policy ADD COLUMN pwned TEXT\"}]},\"description\":\"hostile: owns ff_budget_policy, so that its migrations may alter it\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 330)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
