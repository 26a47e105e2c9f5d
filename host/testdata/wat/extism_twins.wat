;; extism_twins: reads the Extism twins of config_get, tick_partition and
;; sql_dialect (ABI 1.3, 1.4). describe fails, naming the check, unless
;; ff_tick_partition and ff_sql_dialect return -1 there and ff_config_get
;; answers invalid. scan_tick logs "partition=P dialect=D", then the result
;; blocks of ff_config_get for greeting, batch and nope (undeclared), each
;; with its status byte made a digit: "0salut", "5config key ...".
;; Built with: wat2wasm extism_twins.wat -o extism_twins.wasm
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/user" "ff_config_get" (func $ff_config_get (param i64) (result i64)))
  (import "extism:host/user" "ff_tick_partition" (func $ff_tick_partition (result i32)))
  (import "extism:host/user" "ff_sql_dialect" (func $ff_sql_dialect (result i32)))
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
  (data (i32.const 1024) "{\22name\22:\22extism_twins\22,\22abi_version\22:\221.4\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[],\22config\22:[{\22name\22:\22greeting\22,\22type\22:\22string\22,\22default\22:\22hello\22,\22doc\22:\22logged\22},{\22name\22:\22batch\22,\22type\22:\22int\22,\22default\22:\2210\22,\22doc\22:\22items\22}]}")
  (data (i32.const 2048) "greeting")
  (data (i32.const 2064) "batch")
  (data (i32.const 2080) "nope")
  (data (i32.const 2100) "partition=")
  (data (i32.const 2112) " dialect=")
  (data (i32.const 2200) "ff_tick_partition in describe did not return -1")
  (data (i32.const 2300) "ff_sql_dialect in describe did not return -1")
  (data (i32.const 2400) "ff_config_get in describe did not answer invalid")
  ;; $fail sets the Extism error to the len bytes at ptr; describe returns
  ;; what it returns.
  (func $fail (param $ptr i32) (param $len i32) (result i32)
    (call $error_set (call $block (local.get $ptr) (local.get $len)))
    (i32.const 1))
  ;; $putstr copies len bytes at src to dst and returns the end.
  (func $putstr (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))
  ;; $putnum writes v (-99 to 99) in decimal at dst and returns the end.
  (func $putnum (param $dst i32) (param $v i32) (result i32)
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then
        (i32.store8 (local.get $dst) (i32.const 45))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $v (i32.sub (i32.const 0) (local.get $v)))))
    (if (i32.ge_u (local.get $v) (i32.const 10))
      (then
        (i32.store8 (local.get $dst) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))))
    (i32.store8 (local.get $dst) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
    (i32.add (local.get $dst) (i32.const 1)))
  ;; $show logs the result block at r with its status byte made a digit.
  (func $show (param $r i64)
    (call $store_u8 (local.get $r) (i32.add (i32.const 48) (call $load_u8 (local.get $r))))
    (call $ff_log (i32.const 0) (local.get $r)))
  (func (export "describe") (result i32)
    (if (i32.ne (call $ff_tick_partition) (i32.const -1))
      (then (return (call $fail (i32.const 2200) (i32.const 47)))))
    (if (i32.ne (call $ff_sql_dialect) (i32.const -1))
      (then (return (call $fail (i32.const 2300) (i32.const 44)))))
    (if (i32.ne (call $load_u8 (call $ff_config_get (call $block (i32.const 2048) (i32.const 8)))) (i32.const 5))
      (then (return (call $fail (i32.const 2400) (i32.const 48)))))
    (call $output_set (call $block (i32.const 1024) (i32.const 250)) (i64.const 250))
    (i32.const 0))
  (func (export "scan_tick") (result i32)
    (local $p i32)
    (local.set $p (call $putstr (i32.const 3000) (i32.const 2100) (i32.const 10)))
    (local.set $p (call $putnum (local.get $p) (call $ff_tick_partition)))
    (local.set $p (call $putstr (local.get $p) (i32.const 2112) (i32.const 9)))
    (local.set $p (call $putnum (local.get $p) (call $ff_sql_dialect)))
    (call $ff_log (i32.const 0) (call $block (i32.const 3000) (i32.sub (local.get $p) (i32.const 3000))))
    (call $show (call $ff_config_get (call $block (i32.const 2048) (i32.const 8))))
    (call $show (call $ff_config_get (call $block (i32.const 2064) (i32.const 5))))
    (call $show (call $ff_config_get (call $block (i32.const 2080) (i32.const 4))))
    (call $ff_tick_report (i64.const 1) (i64.const 0))
    (i32.const 0))
)
