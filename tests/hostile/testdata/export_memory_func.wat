;; export_memory_func: exports a function under the name memory and its real
;; memory as mem. The file must be refused at load: a plugin exports its
;; memory as memory.
;; Built with: wat2wasm export_memory_func.wat -o export_memory_func.wasm
(module
  (memory (export "mem") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_memory_func\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 90)))
  (func (export "memory") (result i32) (i32.const 0))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
