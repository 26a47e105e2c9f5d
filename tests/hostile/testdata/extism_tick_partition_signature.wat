;; extism_tick_partition_signature: imports ff_tick_partition with a parameter and an i64 result instead of () -> i32. The load must refuse it when it
;; starts the first instance.
;; Built with: wat2wasm extism_tick_partition_signature.wat -o extism_tick_partition_signature.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/user" "ff_tick_partition" (func $ff_tick_partition (param i64) (result i64)))
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
  (data (i32.const 1024) "{\22name\22:\22extism_tick_partition_signature\22,\22abi_version\22:\221.4\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[]}")
  (func (export "describe") (result i32)
    (call $output_set (call $block (i32.const 1024) (i32.const 130)) (i64.const 130))
    (i32.const 0))
  (func (export "scan_tick") (result i32) (i32.const 0))
)
