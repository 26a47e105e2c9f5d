;; export_ffhost_interrupt: a module that exports a mutable global of its
;; own as __ffhost_interrupt, the name of the host's interrupt flag, hoping
;; the host finds its global instead of the one it adds.
;; Built with: wat2wasm export_ffhost_interrupt.wat -o export_ffhost_interrupt.wasm
(module
  (global $fake (export "__ffhost_interrupt") (mut i32) (i32.const 0))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_ffhost_interrupt\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 95)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
