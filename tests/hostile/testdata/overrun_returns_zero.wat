;; overrun_returns_zero: runs an endless recursive CTE (no transaction) that
;; the deadline cuts short, then returns 0 without passing a loop header.
;; The tick overran its deadline: it must be counted as a failure (tick
;; timeout), never as a success.
;; Built with: wat2wasm overrun_returns_zero.wat -o overrun_returns_zero.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"overrun_returns_zero\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 92)))
  (data $endless (i32.const 2048) "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (drop (call $query (i32.const 2048) (i32.const 86)))
    (i32.const 0))
)
