;; sql_current_timestamp: SQL's clock. ABI.md says now_ms is the only
;; time a plugin sees; the host makes SQL's 'now' (current_timestamp,
;; strftime and the other date functions) the tick's now_ms. The statement
;; below compares both with now_ms, passed as its argument, and fails
;; (integer overflow) unless they agree to the millisecond; then the module
;; logs ESCAPED and fails its tick.
;; Built with: wat2wasm sql_current_timestamp.wat -o sql_current_timestamp.wasm
(module
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"sql_current_timestamp\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 93)))
  (data $stmt (i32.const 2048) "SELECT CASE WHEN CAST(strftime('%s','now') AS INTEGER) * 1000 + CAST(substr(strftime('%f','now'), 4) AS INTEGER) = ?1 AND current_timestamp = datetime(?1 / 1000, 'unixepoch') THEN 1 ELSE abs(-9223372036854775807 - 1) END")
  (data $escaped (i32.const 1536) "ESCAPED: SQL saw a clock other than now_ms")
  ;; The statement's answer decides the tick: answered, SQL saw now_ms and
  ;; the tick succeeds; refused, the module logs ESCAPED and the host's
  ;; message becomes the tick's error.
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $r i64)
    ;; arguments at 3072: count 1, then int (tag 1) now_ms
    (i32.store (i32.const 3072) (i32.const 1))
    (i32.store8 (i32.const 3076) (i32.const 1))
    (i64.store (i32.const 3077) (local.get $now))
    (local.set $r (call $sql_query (i32.const 2048) (i32.const 220) (i32.const 3072) (i32.const 13) (i32.const 8192) (i32.const 4096)))
    (if (i64.eqz (i64.shr_u (local.get $r) (i64.const 32)))
      (then (return (i32.const 0))))
    (call $log (i32.const 8) (i32.const 1536) (i32.const 42))
    (call $tick_error (i32.const 8192)
      (select (i32.wrap_i64 (local.get $r)) (i32.const 4096) (i64.le_u (i64.and (local.get $r) (i64.const 0xffffffff)) (i64.const 4096))))
    (i32.const 1))
)
