;; describe_name_budget_reset: a module whose descriptor claims the name
;; budget_reset, which the real budget_reset plugin already has. Loaded
;; beside it (its file name sorts after budget_reset.wasm), it must be
;; refused as a duplicate name and the real plugin keep running.
;; Built with: wat2wasm describe_name_budget_reset.wat -o describe_name_budget_reset.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"budget_reset\",\"abi_version\":\"1.0\",\"version\":\"9.9.9\",\"default_interval_ms\":1000,\"writes\":[\"ff_budget_policy\",\"ff_budget_usage\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 136)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
