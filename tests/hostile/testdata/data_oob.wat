;; data_oob: an active data segment that starts 6 bytes before the end of
;; its one page of memory and is 10 bytes long. Instantiation fails; the
;; host must refuse the file, naming it.
;; Built with: wat2wasm data_oob.wat -o data_oob.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"data_oob\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 80)))
  (data (i32.const 65530) "0123456789")
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
