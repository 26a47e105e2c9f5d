;; ffhost_bench: extism_bench for the ffhost kind, for comparison. scan_tick
;; runs now_ms single-row UPDATEs in one transaction, each one sql_exec call with its
;; arguments and result in the module's own memory.
;; Built with: wat2wasm ffhost_bench.wat -o ffhost_bench.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "ffhost" "tx_commit" (func $tx_commit (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\22name\22:\22ffhost_bench\22,\22abi_version\22:\221.0\22,\22version\22:\220.0.1\22,\22default_interval_ms\22:1000,\22reads\22:[],\22writes\22:[\22bench_rows\22]}")
  (data (i32.const 2048) "UPDATE bench_rows SET v = v + 1 WHERE id = ?")
  (data (i32.const 4096) "\01\00\00\00\01")
  (func (export "describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 123)))
  (func (export "scan_tick") (param $n i64) (result i32)
    (local $i i64)
    (if (i64.ne (call $tx_begin (i32.const 8192) (i32.const 64)) (i64.const 0)) (then (return (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
        (i64.store (i32.const 4101) (i64.add (i64.rem_u (local.get $i) (i64.const 1000)) (i64.const 1)))
        (if (i64.ne (i64.shr_u (call $sql_exec (i32.const 2048) (i32.const 44) (i32.const 4096) (i32.const 13) (i32.const 8192) (i32.const 64)) (i64.const 32)) (i64.const 0))
          (then (return (i32.const 1))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (if (i64.ne (call $tx_commit (i32.const 8192) (i32.const 64)) (i64.const 0)) (then (return (i32.const 1))))
    (call $tick_report (local.get $n) (i64.const 0))
    (i32.const 0)))
