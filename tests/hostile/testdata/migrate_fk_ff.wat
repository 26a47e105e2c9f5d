;; migrate_fk_ff: describe declares an owned table with a foreign key to ff_budget_policy, ON DELETE RESTRICT: FlowFabric's deletes would be blocked. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_fk_ff.wat -o migrate_fk_ff.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_fk_ff\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_fk_ff_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_fk_ff_t (p INTEGER, b TEXT, FOREIGN KEY (p, b) REFERENCES ff_budget_policy (partition_key, budget_id) ON DELETE RESTRICT)\"}]},\"description\":\"hostile: an owned table with a foreign key to ff_budget_policy, ON DELETE RESTRICT: FlowFabric's deletes would be blocked\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 475)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
