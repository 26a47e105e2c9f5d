;; tick_report_negative: reports negative counts (-5 items processed and
;; -2^63 item errors) and succeeds. The host takes negative counts as 0: no
;; counter may go backwards (a Prometheus counter panics on a negative
;; add).
;; Built with: wat2wasm tick_report_negative.wat -o tick_report_negative.wasm
(module
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"tick_report_negative\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 92)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (call $tick_report (i64.const 7) (i64.const 7))
    (call $tick_report (i64.const -5) (i64.const 0x8000000000000000))
    (i32.const 0))
)
