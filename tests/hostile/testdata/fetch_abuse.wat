;; fetch_abuse: fetch with nothing kept, twice, with a cap one byte short,
;; past memory, after another call dropped the payload, after a log (which
;; does not drop it), and at a new tick. Each must answer as ABI.md section
;; 4.1 says; anything else is logged as UNEXPECTED and fails the tick.
;; Built with: wat2wasm fetch_abuse.wat -o fetch_abuse.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "fetch" (func $fetch (param i32 i32) (result i32)))
  (import "ffhost" "tx_begin" (func $tx_begin (param i32 i32) (result i64)))
  (import "ffhost" "tx_commit" (func $tx_commit (param i32 i32) (result i64)))
  (import "ffhost" "tx_rollback" (func $tx_rollback (param i32 i32) (result i64)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"fetch_abuse\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 83)))
  ;; 20,000 bytes of blob: 4 + (4 + 15) + 4 + 1 + 4 + 20000 = 20032 bytes.
  (data $big (i32.const 2048) "SELECT zeroblob(20000)")
  (data $one (i32.const 2100) "SELECT 1")
  (data $msg (i32.const 2200) "fetch_abuse: logging keeps the payload")
  (global $bad (mut i32) (i32.const 0))
  (data $unexpected (i32.const 1536) "UNEXPECTED: a host call answered against ABI.md; processed is the number of the first failed check")
  ;; $status checks the status half of a packed (status << 32 | length).
  (func $status (param $got i64) (param $want i64) (param $id i32)
    (if (i64.ne (i64.shr_u (local.get $got) (i64.const 32)) (local.get $want))
      (then (call $fail (local.get $id)))))
  ;; $exact checks a whole packed result.
  (func $exact (param $got i64) (param $want i64) (param $id i32)
    (if (i64.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $is32 (param $got i32) (param $want i32) (param $id i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $is64 (param $got i64) (param $want i64) (param $id i32)
    (if (i64.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $fail (param $id i32)
    (if (i32.eqz (global.get $bad))
      (then (global.set $bad (local.get $id)))))
  ;; $verdict ends the tick: 0 if every check held.
  (func $verdict (result i32)
    (if (global.get $bad)
      (then
        (call $tick_report (i64.extend_i32_u (global.get $bad)) (i64.const 0))
        (call $tick_error (i32.const 1536) (i32.const 98))
        (return (i32.const 1))))
    (i32.const 0))
  (func $keep (result i64)
    (call $sql_query (i32.const 2048) (i32.const 22) (i32.const 0) (i32.const 0) (i32.const 16384) (i32.const 16)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (global.set $bad (i32.const 0))
    ;; 1: nothing kept (a new tick drops what the last one kept).
    (call $is32 (call $fetch (i32.const 16384) (i32.const 40000)) (i32.const -1) (i32.const 1))
    ;; 2-4: kept; a cap one byte short fails and drops it.
    (call $exact (call $keep) (i64.const 20032) (i32.const 2))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 20031)) (i32.const -1) (i32.const 3))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 40000)) (i32.const -1) (i32.const 4))
    ;; 5-6: past memory fails and drops it.
    (drop (call $keep))
    (call $is32 (call $fetch (i32.const 50000) (i32.const 40000)) (i32.const -1) (i32.const 5))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 40000)) (i32.const -1) (i32.const 6))
    ;; 7-8: a tx call and an SQL call drop it.
    (drop (call $keep))
    (call $status (call $tx_rollback (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 7))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 40000)) (i32.const -1) (i32.const 8))
    (drop (call $keep))
    (drop (call $sql_exec (i32.const 2100) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 40000)) (i32.const -1) (i32.const 9))
    ;; 10-11: a log call keeps it; the exact cap works, once.
    (drop (call $keep))
    (call $log (i32.const 0) (i32.const 2200) (i32.const 38))
    (call $tick_report (i64.const 1) (i64.const 0))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 20032)) (i32.const 20032) (i32.const 10))
    (call $is32 (call $fetch (i32.const 16384) (i32.const 20032)) (i32.const -1) (i32.const 11))
    ;; 12: the payload fetched is the blob: 20,000 zero bytes after the header.
    (call $is64 (i64.load (i32.const 36408)) (i64.const 0) (i32.const 12))
    ;; Leave one kept payload behind for the end of the tick to drop.
    (drop (call $keep))
    (call $verdict))
)
