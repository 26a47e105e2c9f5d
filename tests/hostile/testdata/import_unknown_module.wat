;; import_unknown_module: imports a function from a module named env, which
;; the host does not provide. The file must be refused at load, naming the
;; import.
;; Built with: wat2wasm import_unknown_module.wat -o import_unknown_module.wasm
(module
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"import_unknown_module\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 93)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
