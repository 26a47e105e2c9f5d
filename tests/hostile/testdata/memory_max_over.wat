;; memory_max_over: declares a maximum memory of 65536 pages (4 GiB), far
;; over the host's limit, with an initial size of one page, and grows by
;; one page per tick. ABI.md refuses only a module whose initial memory is
;; over the limit; past the limit memory.grow fails. The table expects what
;; ABI.md says: the module loads and memory.grow stops at the limit.
;; Built with: wat2wasm memory_max_over.wat -o memory_max_over.wasm
(module
  (memory (export "memory") 1 65536)
  (data $desc (i32.const 1024) "{\"name\":\"memory_max_over\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (memory.grow (i32.const 1)))
    (i32.const 0))
)
