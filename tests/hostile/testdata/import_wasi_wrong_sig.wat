;; import_wasi_wrong_sig: imports wasi_snapshot_preview1.fd_write returning
;; an i64 instead of an i32. The file must be refused at load, naming the
;; import.
;; Built with: wat2wasm import_wasi_wrong_sig.wat -o import_wasi_wrong_sig.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"import_wasi_wrong_sig\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 93)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
