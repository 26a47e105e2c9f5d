;; describe_oob_ptr: describe points at 100 bytes at 0xffffff00, far past its
;; one page of memory. The file must be refused at load.
;; Built with: wat2wasm describe_oob_ptr.wat -o describe_oob_ptr.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_oob_ptr\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.const 0xffffff0000000064))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
