;; extism_config_abuse: ff_config_get (the Extism twin of config_get, ABI
;; 1.3) from _initialize and describe, then in scan_tick with offsets that
;; are no Extism block: one the kernel never handed out, past the end of
;; memory, inside a block, above 2^32, and 0 (the empty key); with a
;; 65-byte key, an undeclared key, a block the guest freed, and last the
;; declared key. Every answer
;; but the last must be invalid (5) and the last ok (0); anything else is
;; logged as UNEXPECTED and fails the tick. It logs the answers for the
;; offset above 2^32, the 65-byte key and the declared key, each with its
;; status byte made a digit.
;; Built with: wat2wasm extism_config_abuse.wat -o extism_config_abuse.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/user" "ff_config_get" (func $ff_config_get (param i64) (result i64)))
  (import "extism:host/user" "ff_log" (func $ff_log (param i32 i64)))
  (import "extism:host/user" "ff_tick_report" (func $ff_tick_report (param i64 i64)))
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
  (data (i32.const 1024) "{\22name\22:\22extism_config_abuse\22,\22abi_version\22:\221.3\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[],\22config\22:[{\22name\22:\22mode\22,\22type\22:\22string\22,\22default\22:\22strict\22,\22doc\22:\22a string\22}]}")
  ;; Keys: mode at 2048 (4), nope at 2052 (4), 65 bytes at 2064.
  (data (i32.const 2048) "modenope")
  (data (i32.const 2064) "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk")
  (data (i32.const 2200) "UNEXPECTED: an ff_config_get answer is not as ABI.md says; processed is the number of the first failed check")
  (global $from_init (mut i32) (i32.const -1))
  (global $from_describe (mut i32) (i32.const -1))
  (global $bad (mut i32) (i32.const 0))
  ;; $get is the status of ff_config_get(off).
  (func $get (param $off i64) (result i32)
    (call $load_u8 (call $ff_config_get (local.get $off))))
  (func (export "_initialize")
    (global.set $from_init (call $get (call $block (i32.const 2048) (i32.const 4)))))
  (func (export "describe") (result i32)
    (global.set $from_describe (call $get (call $block (i32.const 2048) (i32.const 4))))
    (call $output_set (call $block (i32.const 1024) (i32.const 197)) (i64.const 197))
    (i32.const 0))
  ;; $want records check id as the first failed one unless got is want.
  (func $want (param $got i32) (param $want i32) (param $id i32)
    (if (i32.and (i32.ne (local.get $got) (local.get $want)) (i32.eqz (global.get $bad)))
      (then (global.set $bad (local.get $id)))))
  ;; $show checks the status of the result block at r and logs the block
  ;; with its status byte made a digit.
  (func $show (param $r i64) (param $want i32) (param $id i32)
    (call $want (call $load_u8 (local.get $r)) (local.get $want) (local.get $id))
    (call $store_u8 (local.get $r) (i32.add (i32.const 48) (call $load_u8 (local.get $r))))
    (call $ff_log (i32.const 0) (local.get $r)))
  (func (export "scan_tick") (result i32)
    (local $k i64) (local $f i64)
    (global.set $bad (i32.const 0))
    ;; 1-2: from _initialize and describe: invalid.
    (call $want (global.get $from_init) (i32.const 5) (i32.const 1))
    (call $want (global.get $from_describe) (i32.const 5) (i32.const 2))
    ;; 3: an offset in Extism memory the kernel never handed out: 4 KiB
    ;; past the newest block, before anything else is allocated.
    (local.set $k (call $block (i32.const 2048) (i32.const 4)))
    (call $want (call $get (i64.add (local.get $k) (i64.const 4096))) (i32.const 5) (i32.const 3))
    ;; 4-7: past the end of memory, inside a block, above 2^32, u64 max.
    (call $want (call $get (i64.const 0x7fff0000)) (i32.const 5) (i32.const 4))
    (call $want (call $get (i64.add (local.get $k) (i64.const 1))) (i32.const 5) (i32.const 5))
    (call $show (call $ff_config_get (i64.add (local.get $k) (i64.const 0x100000000))) (i32.const 5) (i32.const 6))
    (call $want (call $get (i64.const -1)) (i32.const 5) (i32.const 7))
    ;; 8: offset 0, the empty key: not declared.
    (call $want (call $get (i64.const 0)) (i32.const 5) (i32.const 8))
    ;; 9: a 65-byte key.
    (call $show (call $ff_config_get (call $block (i32.const 2064) (i32.const 65))) (i32.const 5) (i32.const 9))
    ;; 10: an undeclared key.
    (call $want (call $get (call $block (i32.const 2052) (i32.const 4))) (i32.const 5) (i32.const 10))
    ;; 11: a block the guest freed, which held the declared key.
    (local.set $f (call $block (i32.const 2048) (i32.const 4)))
    (call $free (local.get $f))
    (call $want (call $get (local.get $f)) (i32.const 5) (i32.const 11))
    ;; 12: the declared key, its default.
    (call $show (call $ff_config_get (local.get $k)) (i32.const 0) (i32.const 12))
    (if (global.get $bad)
      (then
        (call $ff_log (i32.const 8) (call $block (i32.const 2200) (i32.const 108)))
        (call $ff_tick_report (i64.extend_i32_u (global.get $bad)) (i64.const 0))
        (return (i32.const 1))))
    (call $ff_tick_report (i64.const 1) (i64.const 0))
    (i32.const 0))
)
