;; memory_multi: two memories (the multi-memory proposal), the first exported
;; as memory and the second, larger one holding the descriptor. The host
;; must refuse the file.
;; Built with: wat2wasm --enable-multi-memory memory_multi.wat -o memory_multi.wasm
(module
  (memory (export "memory") 1)
  (memory $second 2)
  (data $desc (i32.const 1024) "{\"name\":\"memory_multi\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 84)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
