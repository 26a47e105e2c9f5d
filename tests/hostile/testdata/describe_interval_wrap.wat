;; describe_interval_wrap: default_interval_ms is 76480200929599801, chosen
;; so that in nanoseconds it wraps Go's time.Duration to 64 ns: a host that
;; multiplies without checking ticks the plugin back to back. As for
;; describe_interval_max, the table expects it refused at load, naming the
;; field.
;; Built with: wat2wasm describe_interval_wrap.wat -o describe_interval_wrap.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_interval_wrap\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":76480200929599801}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 107)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
