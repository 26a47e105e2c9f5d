;; table_grow_loop: grows a table with no declared maximum by 2^24 entries
;; (128 MiB of host memory each) in a loop until table.grow fails. Tables
;; live in host memory, outside the plugin's memory limit: growth must stop
;; (table.grow answers -1, or the tick fails) long before the host runs out
;; of memory.
;; Built with: wat2wasm table_grow_loop.wat -o table_grow_loop.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"table_grow_loop\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (table $t 1 funcref)
  (func (export "scan_tick") (param $now i64) (result i32)
    (loop $grow
      (br_if $grow (i32.ne (table.grow $t (ref.null func) (i32.const 16777216)) (i32.const -1))))
    (i32.const 0))
)
