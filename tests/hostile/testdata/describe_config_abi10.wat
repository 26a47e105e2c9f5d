;; describe_config_abi10: describe declares config keys while speaking ABI 1.0, which has none. The
;; file must be refused at load: config keys need abi_version 1.3.
;; Built with: wat2wasm describe_config_abi10.wat -o describe_config_abi10.wasm
(module
  (memory (export "memory") 2)
  (data $desc (i32.const 1024) "{\"name\":\"describe_config_abi10\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000,\"config\":[{\"name\":\"mode\",\"type\":\"string\",\"default\":\"x\",\"doc\":\"d\"}]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 160)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
