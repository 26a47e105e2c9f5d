;; elem_oob: an active element segment of two functions placed at index 1 of
;; a table of two entries. Instantiation fails; the host must refuse the
;; file, naming it.
;; Built with: wat2wasm elem_oob.wat -o elem_oob.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"elem_oob\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 80)))
  (table 2 funcref)
  (func $f)
  (elem (i32.const 1) $f $f)
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
