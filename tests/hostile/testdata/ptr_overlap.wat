;; ptr_overlap: out buffers that overlap the SQL text or the arguments of the
;; same call, arguments read from the SQL text, and a fetch over the SQL
;; text. The host must read its inputs before it writes the payload, and
;; answer each call as ABI.md says; anything else is logged as UNEXPECTED
;; and fails the tick. The texts and arguments are passive data segments,
;; copied into place (memory.init) at every tick, since the calls overwrite
;; them.
;; Built with: wat2wasm ptr_overlap.wat -o ptr_overlap.wasm
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
  (data $desc (i32.const 1024) "{\"name\":\"ptr_overlap\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 83)))
  (data $select "SELECT 7 AS x")
  (data $param (i32.const 2100) "SELECT ?")
  (data $big "SELECT zeroblob(3000)")
  ;; One blob argument of 32 bytes: count 1, tag 4, length 32.
  (data $args "\01\00\00\00\04\20\00\00\00" "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
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
    ;; 1-2: the out buffer is the SQL text. Payload: 1 column, "x", 1 row,
    ;; int 7 at offset 14.
    (memory.init $select (i32.const 3000) (i32.const 0) (i32.const 13))
    (call $status (call $sql_query (i32.const 3000) (i32.const 13) (i32.const 0) (i32.const 0) (i32.const 3000) (i32.const 1000)) (i64.const 0) (i32.const 1))
    (call $is64 (i64.load (i32.const 3014)) (i64.const 7) (i32.const 2))
    ;; 3-5: the out buffer is the arguments, shifted by 4 bytes. Payload:
    ;; 1 column "?", 1 row, blob tag at 13, length at 14, bytes at 18:
    ;; "ABCDEFGH" first and "YZ012345" last.
    (memory.init $args (i32.const 5000) (i32.const 0) (i32.const 41))
    (call $status (call $sql_query (i32.const 2100) (i32.const 8) (i32.const 5000) (i32.const 41) (i32.const 5004) (i32.const 1000)) (i64.const 0) (i32.const 3))
    (call $is64 (i64.load (i32.const 5022)) (i64.const 0x4847464544434241) (i32.const 4))
    (call $is64 (i64.load (i32.const 5046)) (i64.const 0x3534333231305a59) (i32.const 5))
    ;; 6-7: sql_exec whose out buffer is its arguments: rows affected 0.
    (memory.init $args (i32.const 5000) (i32.const 0) (i32.const 41))
    (call $status (call $sql_exec (i32.const 2100) (i32.const 8) (i32.const 5000) (i32.const 41) (i32.const 5000) (i32.const 16)) (i64.const 0) (i32.const 6))
    (call $is64 (i64.load (i32.const 5000)) (i64.const 0) (i32.const 7))
    ;; 8: the SQL text read again as the arguments: a bad encoding, invalid.
    (call $status (call $sql_query (i32.const 2100) (i32.const 8) (i32.const 2100) (i32.const 8) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 8))
    ;; 9-10: a payload kept for fetch (4 + 4 + 14 + 4 + 1 + 4 + 3000 bytes),
    ;; fetched over the SQL text itself.
    (memory.init $big (i32.const 3000) (i32.const 0) (i32.const 21))
    (call $is64 (i64.and (call $sql_query (i32.const 3000) (i32.const 21) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 16)) (i64.const 0xffffffff)) (i64.const 3031) (i32.const 9))
    (call $is32 (call $fetch (i32.const 3000) (i32.const 3031)) (i32.const 3031) (i32.const 10))
    (call $verdict))
)
