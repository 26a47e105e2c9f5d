;; ptr_out_of_range: calls every host function with pointers outside its one
;; page (64 KiB) of memory: at the end of memory, far past it, near 4 GiB,
;; with and without a length. Each call must answer as ABI.md says (status
;; 5, invalid; -1 from fetch; a log or tick_error range ignored), never
;; trap and never touch host memory. A call that answers otherwise is logged
;; as UNEXPECTED and fails the tick. The SQL is read-only: nothing changes.
;; Built with: wat2wasm ptr_out_of_range.wat -o ptr_out_of_range.wasm
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
  (data $desc (i32.const 1024) "{\"name\":\"ptr_out_of_range\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 88)))
  (data $select (i32.const 2048) "SELECT 1")
  (data $msg (i32.const 2100) "ptr_out_of_range: every pointer refused")
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
    ;; 1-3: the SQL text outside memory: far past it, at its end, length 0 past it.
    (call $status (call $sql_exec (i32.const 0x7fffffff) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 1))
    (call $status (call $sql_query (i32.const 65536) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 2))
    (call $status (call $sql_query (i32.const 0xffffffff) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 3))
    ;; 4-5: the arguments outside memory.
    (call $status (call $sql_query (i32.const 2048) (i32.const 8) (i32.const 0xffffff00) (i32.const 16) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 4))
    (call $status (call $sql_exec (i32.const 2048) (i32.const 8) (i32.const 65535) (i32.const 2) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 5))
    ;; 6-7: a length over max-call-bytes, and the largest possible.
    (call $status (call $sql_query (i32.const 0) (i32.const 0x00200000) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 6))
    (call $status (call $sql_exec (i32.const 0) (i32.const 0xffffffff) (i32.const 0) (i32.const 0xffffffff) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 7))
    ;; 8-9: a good statement whose payload fits the cap but not memory:
    ;; invalid with length 0.
    (call $exact (call $sql_exec (i32.const 2048) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 0x7ffffff0) (i32.const 4096)) (i64.const 0x500000000) (i32.const 8))
    (call $exact (call $sql_query (i32.const 2048) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 65530) (i32.const 100)) (i64.const 0x500000000) (i32.const 9))
    ;; 10: an error message (no transaction open) that cannot be written.
    (call $exact (call $tx_commit (i32.const 0xfffff000) (i32.const 4096)) (i64.const 0x500000000) (i32.const 10))
    (call $exact (call $tx_rollback (i32.const 65536) (i32.const 64)) (i64.const 0x500000000) (i32.const 11))
    ;; 12: begin and roll back with out buffers past memory; whatever they
    ;; answer, no transaction may be left behind: a fresh begin and
    ;; rollback with a good buffer must both succeed.
    (drop (call $tx_begin (i32.const 0xffffffff) (i32.const 0)))
    (drop (call $tx_rollback (i32.const 0xffffffff) (i32.const 0)))
    (call $status (call $tx_begin (i32.const 8192) (i32.const 4096)) (i64.const 0) (i32.const 12))
    (call $status (call $tx_rollback (i32.const 8192) (i32.const 4096)) (i64.const 0) (i32.const 13))
    ;; 14: fetch past memory, with and without a payload kept.
    (call $is32 (call $fetch (i32.const 0xfffffff0) (i32.const 100)) (i32.const -1) (i32.const 14))
    (drop (call $sql_query (i32.const 2048) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 1)))
    (call $is32 (call $fetch (i32.const 65536) (i32.const 4096)) (i32.const -1) (i32.const 15))
    ;; log and tick_error past memory: ignored, never a trap.
    (call $log (i32.const 0) (i32.const 0xfffffff0) (i32.const 16))
    (call $log (i32.const 4) (i32.const 65530) (i32.const 100))
    (call $log (i32.const 8) (i32.const 65536) (i32.const 0))
    (call $tick_error (i32.const 0x80000000) (i32.const 64))
    (call $tick_error (i32.const 65535) (i32.const 2))
    (call $tick_report (i64.const 0) (i64.const 0))
    (call $log (i32.const 0) (i32.const 2100) (i32.const 39))
    (call $verdict))
)
