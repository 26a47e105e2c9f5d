;; table_oob: call_indirect through index 5 of a table of two entries. The
;; call traps; the tick fails and the instance is replaced.
;; Built with: wat2wasm table_oob.wat -o table_oob.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"table_oob\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 81)))
  (type $void (func))
  (type $int (func (result i32)))
  (table 2 funcref)
  (func $a (type $void))
  (func $b (type $void))
  (elem (i32.const 0) $a $b)
  (func (export "scan_tick") (param $now i64) (result i32)
    (call_indirect (type $void) (i32.const 5))
    (i32.const 0))
)
