;; extism_bench: the per-statement cost of the Extism profile, as a PDK
;; author writes it. scan_tick's now_ms is the number of statements n, run
;; in one transaction: the SQL block is allocated once; each statement allocates its arguments
;; block, calls ff_sql_exec, checks the status byte and frees both blocks.
;; Built with: wat2wasm extism_bench.wat -o extism_bench.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/user" "ff_sql_exec" (func $ff_sql_exec (param i64 i64) (result i64)))
  (import "extism:host/user" "ff_tick_report" (func $ff_tick_report (param i64 i64)))
  (import "extism:host/user" "ff_tx_begin" (func $ff_tx_begin (result i64)))
  (import "extism:host/user" "ff_tx_commit" (func $ff_tx_commit (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
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
  (data (i32.const 1024) "{\22name\22:\22extism_bench\22,\22abi_version\22:\221.0\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[\22bench_rows\22]}")
  (data (i32.const 2048) "UPDATE bench_rows SET v = v + 1 WHERE id = ?")
  (data (i32.const 4096) "\01\00\00\00\01")
  (func (export "describe") (result i32)
    (call $output_set (call $block (i32.const 1024) (i32.const 123)) (i64.const 123))
    (i32.const 0))
  (func (export "scan_tick") (result i32)
    (local $n i64) (local $i i64) (local $sql i64) (local $args i64) (local $r i64)
    (local.set $n (call $input_load_u64 (i64.const 0)))
    (local.set $sql (call $block (i32.const 2048) (i32.const 44)))
    (if (i32.ne (call $load_u8 (call $ff_tx_begin)) (i32.const 0)) (then (return (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
        (i64.store (i32.const 4101) (i64.add (i64.rem_u (local.get $i) (i64.const 1000)) (i64.const 1)))
        (local.set $args (call $block (i32.const 4096) (i32.const 13)))
        (local.set $r (call $ff_sql_exec (local.get $sql) (local.get $args)))
        (if (i32.ne (call $load_u8 (local.get $r)) (i32.const 0)) (then (return (i32.const 1))))
        (call $free (local.get $args))
        (call $free (local.get $r))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (if (i32.ne (call $load_u8 (call $ff_tx_commit)) (i32.const 0)) (then (return (i32.const 1))))
    (call $ff_tick_report (local.get $n) (i64.const 0))
    (i32.const 0))
)
