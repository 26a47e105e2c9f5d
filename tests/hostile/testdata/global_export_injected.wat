;; global_export_injected: a module with no globals that exports global 0
;; and global 1 under names of its own: after the rewrite, the host's
;; interrupt flag and yield budget, handed to whoever reads the exports.
;; Invalid as written.
;; Built with: wat2wasm --no-check global_export_injected.wat -o global_export_injected.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_export_injected\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (export "flag" (global 0))
  (export "budget" (global 1))
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 94)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
