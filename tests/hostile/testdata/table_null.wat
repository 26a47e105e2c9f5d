;; table_null: call_indirect through an entry of the table that no element
;; segment filled (a null reference). The call traps; the tick fails.
;; Built with: wat2wasm table_null.wat -o table_null.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"table_null\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 82)))
  (type $void (func))
  (type $int (func (result i32)))
  (table 4 funcref)
  (func $a (type $void))
  (elem (i32.const 0) $a)
  (func (export "scan_tick") (param $now i64) (result i32)
    (call_indirect (type $void) (i32.const 3))
    (i32.const 0))
)
