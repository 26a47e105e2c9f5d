;; memory64: a 64-bit memory (the memory64 proposal). Plugins have a 32-bit
;; memory; the host must refuse the file, not misread its pointers.
;; Built with: wat2wasm --enable-memory64 memory64.wat -o memory64.wasm
(module
  (memory (export "memory") i64 1)
  (data $desc (i64.const 1024) "{\"name\":\"memory64\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 80)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
