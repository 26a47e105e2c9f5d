;; memory_grow_cap: grows its memory (no declared maximum) one page at a
;; time until memory.grow fails, touching every page, then asks for 65536
;; more pages and for 2^32-1 more. Growth must stop at the host's limit (64 MiB by
;; default, 1024 pages; the module logs UNEXPECTED if it got further), every
;; failed grow must return -1, and the tick must not trap.
;; Built with: wat2wasm memory_grow_cap.wat -o memory_grow_cap.wasm
(module
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"memory_grow_cap\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 87)))
  (data $unexpected (i32.const 1536) "UNEXPECTED: memory grew past 64 MiB, or a grow past the limit did not fail")
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $pages i32)
    (loop $grow
      (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1))
        (then
          (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i32.const 1))
          (br $grow))))
    (local.set $pages (memory.size))
    (call $tick_report (i64.extend_i32_u (local.get $pages)) (i64.const 0))
    (if (i32.or
          (i32.gt_u (local.get $pages) (i32.const 1024))
          (i32.or
            (i32.ne (memory.grow (i32.const 65536)) (i32.const -1))
            (i32.ne (memory.grow (i32.const -1)) (i32.const -1))))
      (then
        (call $tick_error (i32.const 1536) (i32.const 74))
        (return (i32.const 1))))
    (i32.const 0))
)
