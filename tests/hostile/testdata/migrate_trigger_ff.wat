;; migrate_trigger_ff: describe declares a migration that creates a trigger on ff_budget_usage which empties ff_budget_policy. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_trigger_ff.wat -o migrate_trigger_ff.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_trigger_ff\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_trigger_ff_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_trigger_ff_t (x); CREATE TRIGGER hostile_trg AFTER INSERT ON ff_budget_usage BEGIN DELETE FROM ff_budget_policy; END\"}]},\"description\":\"hostile: a migration that creates a trigger on ff_budget_usage which empties ff_budget_policy\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 452)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
