;; extism_good: the smallest Extism plugin of the host's tests. describe
;; declares ext_ticks; scan_tick inserts its now_ms there with ff_sql_exec
;; (the argument encoded by hand: count 1, tag int, 8 bytes), logs a line
;; with ff_log and one, with a newline in it, with Extism's log_warn,
;; reports one row processed, and fails with the host's message if the
;; statement does.
;; Built with: wat2wasm extism_good.wat -o extism_good.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/user" "ff_sql_exec" (func $ff_sql_exec (param i64 i64) (result i64)))
  (import "extism:host/user" "ff_log" (func $ff_log (param i32 i64)))
  (import "extism:host/user" "ff_tick_report" (func $ff_tick_report (param i64 i64)))
  (import "extism:host/user" "ff_tick_error" (func $ff_tick_error (param i64)))
  (import "extism:host/env" "log_warn" (func $log_warn (param i64)))
  (memory (export "memory") 1)
  ;; $block copies len bytes at ptr in this module's memory into a new
  ;; Extism memory block and returns its offset: 8 bytes a kernel call,
  ;; then the rest one by one, as go-pdk does.
  (func $block (param $ptr i32) (param $len i32) (result i64)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $words
      (loop $word
        (br_if $words (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (call $store_u64 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i64.load (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $word)))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (local.get $off))
  (data (i32.const 1024) "{\22name\22:\22extism_good\22,\22abi_version\22:\221.0\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[\22ext_ticks\22]}")
  (data (i32.const 2048) "INSERT INTO ext_ticks(now_ms) VALUES (?)")
  (data (i32.const 3072) "extism tick")
  (data (i32.const 3200) "extism warn\0aforged line")
  (data (i32.const 4096) "\01\00\00\00\01")
  (func (export "describe") (result i32)
    (call $output_set (call $block (i32.const 1024) (i32.const 121)) (i64.const 121))
    (i32.const 0))
  (func (export "scan_tick") (result i32)
    (local $r i64)
    (i64.store (i32.const 4101) (call $input_load_u64 (i64.const 0)))
    (local.set $r (call $ff_sql_exec (call $block (i32.const 2048) (i32.const 40)) (call $block (i32.const 4096) (i32.const 13))))
    (if (i32.ne (call $load_u8 (local.get $r)) (i32.const 0))
      (then
        (call $ff_tick_error (local.get $r))
        (return (i32.const 1))))
    (call $ff_log (i32.const 0) (call $block (i32.const 3072) (i32.const 11)))
    (call $log_warn (call $block (i32.const 3200) (i32.const 23)))
    (call $ff_tick_report (i64.const 1) (i64.const 0))
    (i32.const 0))
)
