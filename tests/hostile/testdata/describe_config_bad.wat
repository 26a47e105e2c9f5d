;; describe_config_bad: describe declares an int key whose default is not a number, a
;; key named like SQL, and a duplicate. The file must be refused at load,
;; naming the key (the first problem found).
;; Built with: wat2wasm describe_config_bad.wat -o describe_config_bad.wasm
(module
  (memory (export "memory") 2)
  (data $desc (i32.const 1024) "{\"name\":\"describe_config_bad\",\"abi_version\":\"1.3\",\"version\":\"1\",\"default_interval_ms\":1000,\"config\":[{\"name\":\"batch\",\"type\":\"int\",\"default\":\"9223372036854775808\",\"doc\":\"overflows int64\"},{\"name\":\"x; DROP TABLE ff_budget_usage\",\"type\":\"string\",\"default\":\"\",\"doc\":\"\"},{\"name\":\"batch\",\"type\":\"int\",\"default\":\"1\",\"doc\":\"\"}]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 320)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
