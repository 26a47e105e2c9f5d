;; describe_dialect_bogus: declares a SQL dialect no host speaks (ABI 1.4
;; dialects). It must be refused at load, naming the dialect.
;; Built with: wat2wasm describe_dialect_bogus.wat -o describe_dialect_bogus.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"describe_dialect_bogus\",\"abi_version\":\"1.4\",\"version\":\"1\",\"default_interval_ms\":1000,\"dialects\":[\"sqlite\",\"mysql\"]}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 124)))
  (func (export "scan_tick") (param $now i64) (result i32) (i32.const 0))
)
