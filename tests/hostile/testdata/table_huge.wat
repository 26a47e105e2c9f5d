;; table_huge: eight tables of 2^27 entries each, the most the runtime
;; accepts per table, which scan_tick fills: 8 GiB of host memory (8 bytes
;; per entry) outside the plugin's memory limit, asked for by a module of a
;; few hundred bytes. A demanding operator expects such a module refused at
;; load rather than the host reserving gigabytes for it and then touching
;; them; the table expects that, naming the table.
;; Built with: wat2wasm table_huge.wat -o table_huge.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"table_huge\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 82)))
  (table $t0 134217728 funcref)
  (table $t1 134217728 funcref)
  (table $t2 134217728 funcref)
  (table $t3 134217728 funcref)
  (table $t4 134217728 funcref)
  (table $t5 134217728 funcref)
  (table $t6 134217728 funcref)
  (table $t7 134217728 funcref)
  (func $f)
  (elem declare func $f)
  (func (export "scan_tick") (param $now i64) (result i32)
    (table.fill $t0 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t1 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t2 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t3 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t4 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t5 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t6 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (table.fill $t7 (i32.const 0) (ref.func $f) (i32.const 134217728))
    (i32.const 0))
)
