;; memory_imported: imports its memory (env.memory) and re-exports it as
;; memory. ABI.md section 1: importing a memory is refused.
;; Built with: wat2wasm memory_imported.wat -o memory_imported.wasm
(module
  (import "env" "memory" (memory 1))
  (export "memory" (memory 0))
  (data $desc (i32.const 1024) "{\"name\":\"memory_imported\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
