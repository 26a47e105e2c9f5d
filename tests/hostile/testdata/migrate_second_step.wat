;; migrate_second_step: describe declares a good first step, then one that drops ff_budget_usage: the first stays applied, the second is refused. A correct host refuses the
;; plugin with a one-line error that names the file, the migration and what
;; is wrong, and changes nothing of FlowFabric's or the host's.
;; Built with: wat2wasm migrate_second_step.wat -o migrate_second_step.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"migrate_second_step\",\"abi_version\":\"1.2\",\"version\":\"1\",\"default_interval_ms\":1000,\"reads\":[],\"writes\":[],\"owns\":[\"migrate_second_step_t\"],\"migrations\":{\"sqlite\":[{\"id\":1,\"name\":\"step 1\",\"sql\":\"CREATE TABLE migrate_second_step_t (x)\"},{\"id\":2,\"name\":\"step 2\",\"sql\":\"DROP TABLE ff_budget_usage\"}]},\"description\":\"hostile: a good first step, then one that drops ff_budget_usage: the first stays applied, the second is refused\"}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 433)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
