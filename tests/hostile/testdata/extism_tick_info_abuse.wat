;; extism_tick_info_abuse: calls ff_tick_partition and ff_sql_dialect (the
;; Extism twins of tick_partition and sql_dialect, ABI 1.4) where they mean
;; nothing, in _initialize and describe (both must answer -1 there, or
;; describe traps and the module is refused), then ten thousand times in
;; scan_tick. On SQLite a partition-scoped plugin ticks partition 0 only,
;; with dialect 0 (sqlite): only then does the tick log its line.
;; Built with: wat2wasm extism_tick_info_abuse.wat -o extism_tick_info_abuse.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "ff_tick_partition" (func $partition (result i32)))
  (import "extism:host/user" "ff_sql_dialect" (func $dialect (result i32)))
  (import "extism:host/user" "ff_log" (func $ff_log (param i32 i64)))
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
  (data (i32.const 1024) "{\22name\22:\22extism_tick_info_abuse\22,\22abi_version\22:\221.4\22,\22version\22:\221\22,\22default_interval_ms\22:1000,\22dialects\22:[\22sqlite\22],\22partition_family\22:\22budget\22}")
  (data (i32.const 2048) "extism tick_info ok: partition 0 dialect 0 everywhere, -1 outside scan_tick")
  (global $init (mut i32) (i32.const 0))
  (func (export "_initialize")
    (global.set $init (i32.add (call $partition) (call $dialect))))
  (func (export "describe") (result i32)
    (if (i32.ne (i32.add (call $partition) (call $dialect)) (i32.const -2))
      (then unreachable))
    (call $output_set (call $block (i32.const 1024) (i32.const 144)) (i64.const 144))
    (i32.const 0))
  (func (export "scan_tick") (result i32)
    (local $i i32)
    (local $acc i32)
    (loop $again
      (local.set $acc (i32.or (local.get $acc) (i32.or (call $partition) (call $dialect))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 10000))))
    (if (i32.or (local.get $acc) (i32.ne (global.get $init) (i32.const -2)))
      (then (return (i32.const 1))))
    (call $ff_log (i32.const 0) (call $block (i32.const 2048) (i32.const 75)))
    (i32.const 0))
)
