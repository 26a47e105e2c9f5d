;; describe_interval_max: default_interval_ms is 9223372036854775807, the
;; largest int64: in nanoseconds it overflows Go's time.Duration (to -1 ms).
;; ABI.md only asks for >= 0; a demanding operator expects a default
;; interval that the host cannot represent to be refused at load, naming the
;; field, rather than wrapped; the table expects that.
;; Built with: wat2wasm describe_interval_max.wat -o describe_interval_max.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_interval_max\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":9223372036854775807}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 108)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
