;; table_sig_mismatch: call_indirect of a function taking nothing and
;; returning nothing through a type that returns an i32. The call traps; the
;; tick fails.
;; Built with: wat2wasm table_sig_mismatch.wat -o table_sig_mismatch.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"table_sig_mismatch\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (type $void (func))
  (type $int (func (result i32)))
  (table 2 funcref)
  (func $a (type $void))
  (elem (i32.const 0) $a $a)
  (func (export "scan_tick") (param $now i64) (result i32)
    (call_indirect (type $int) (i32.const 1)))
)
