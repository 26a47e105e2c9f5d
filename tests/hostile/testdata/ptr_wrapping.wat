;; ptr_wrapping: calls every host function with (pointer, length) pairs whose
;; sum passes 2^32 and wraps to a small number inside memory: a host that
;; adds them in 32 bits would read or write the start of memory instead of
;; refusing. Each call must answer as ABI.md says; an out_cap larger than
;; memory with a payload that fits is fine and must work. Anything else is
;; logged as UNEXPECTED and fails the tick.
;; Built with: wat2wasm ptr_wrapping.wat -o ptr_wrapping.wasm
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
  (data $desc (i32.const 1024) "{\"name\":\"ptr_wrapping\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 84)))
  (data $select (i32.const 2048) "SELECT 42")
  (data $msg (i32.const 2100) "ptr_wrapping: every wrapping range refused")
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
  (func (export "scan_tick") (param $now i64) (result i32)
    (global.set $bad (i32.const 0))
    (call $status (call $sql_query (i32.const 0xfffffff0) (i32.const 0x20) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 1))
    (call $status (call $sql_exec (i32.const 0xffffffff) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 2))
    (call $status (call $sql_query (i32.const 2048) (i32.const 9) (i32.const 0xfffffff8) (i32.const 0x10) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 3))
    ;; The payload (27 bytes) fits out_cap, but out_ptr + 27 wraps.
    (call $exact (call $sql_query (i32.const 2048) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 0xfffffff0) (i32.const 0x20)) (i64.const 0x500000000) (i32.const 4))
    (call $exact (call $tx_commit (i32.const 0xffffffe0) (i32.const 0x40)) (i64.const 0x500000000) (i32.const 5))
    ;; An out_cap of 4 GiB with a good out_ptr: the payload is written.
    (i64.store (i32.const 8206) (i64.const 0))
    (call $status (call $sql_query (i32.const 2048) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 0xffffffff)) (i64.const 0) (i32.const 6))
    ;; columns 1, name "42" (4 + 4 + 2), rows 1, tag 1 at 8206, value at 8207.
    (call $is64 (i64.load (i32.const 8207)) (i64.const 42) (i32.const 7))
    ;; fetch with a wrapping range, a payload kept.
    (drop (call $sql_query (i32.const 2048) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 1)))
    (call $is32 (call $fetch (i32.const 0xfffffff0) (i32.const 0x40)) (i32.const -1) (i32.const 8))
    (call $is32 (call $fetch (i32.const 8192) (i32.const 4096)) (i32.const -1) (i32.const 9))
    ;; 10-12: an error message (no transaction open) that would wrap; then
    ;; begin and roll back with wrapping out buffers: whatever they answer,
    ;; no transaction may be left behind.
    (call $exact (call $tx_rollback (i32.const 0xffffffe0) (i32.const 0x40)) (i64.const 0x500000000) (i32.const 10))
    (drop (call $tx_begin (i32.const 0xfffffff0) (i32.const 0x20)))
    (drop (call $tx_rollback (i32.const 0xfffffff0) (i32.const 0x20)))
    (call $status (call $tx_begin (i32.const 8192) (i32.const 4096)) (i64.const 0) (i32.const 11))
    (call $status (call $tx_rollback (i32.const 8192) (i32.const 4096)) (i64.const 0) (i32.const 12))
    (call $log (i32.const 0) (i32.const 0xfffffff0) (i32.const 0x20))
    (call $log (i32.const 0) (i32.const 0xffffffff) (i32.const 0xffffffff))
    (call $tick_error (i32.const 0xfffffff0) (i32.const 0x20))
    (call $log (i32.const 0) (i32.const 2100) (i32.const 42))
    (call $verdict))
)
