;; sql_select_dbpage: SELECT 1 FROM sqlite_dbpage LIMIT 1, which reads no
;; column of the raw page table either. It must be refused (not_authorized);
;; if it is answered the module logs ESCAPED.
;; Built with: wat2wasm sql_select_dbpage.wat -o sql_select_dbpage.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"sql_select_dbpage\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 89)))
  (data $stmt (i32.const 2048) "SELECT 1 FROM sqlite_dbpage LIMIT 1")
  (data $escaped (i32.const 1536) "ESCAPED: the statement was answered")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  ;; The statement's answer decides the tick: refused, the host's message
  ;; becomes the tick's error; answered, the module logs ESCAPED and the
  ;; tick succeeds.
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $r i64)
    (local.set $r (call $query (i32.const 2048) (i32.const 35)))
    (if (i64.eqz (i64.shr_u (local.get $r) (i64.const 32)))
      (then
        (call $log (i32.const 8) (i32.const 1536) (i32.const 35))
        (return (i32.const 0))))
    (call $tick_error (i32.const 8192)
      (select (i32.wrap_i64 (local.get $r)) (i32.const 4096) (i64.le_u (i64.and (local.get $r) (i64.const 0xffffffff)) (i64.const 4096))))
    (i32.const 1))
)
