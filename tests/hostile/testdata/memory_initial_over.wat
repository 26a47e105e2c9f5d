;; memory_initial_over: declares an initial memory of 1025 pages, one page
;; (64 KiB) over the host's default limit of 64 MiB. It must not load.
;; Built with: wat2wasm memory_initial_over.wat -o memory_initial_over.wasm
(module
  (memory (export "memory") 1025)
  (data $desc (i32.const 1024) "{\"name\":\"memory_initial_over\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 91)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
