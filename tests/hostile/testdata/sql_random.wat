;; sql_random: SELECT random(), randomblob(16): SQLite's own randomness,
;; which ABI.md does not promise to make deterministic (only WASI's
;; random_get). The statement may be answered or refused; either way the
;; tick changes nothing.
;; Built with: wat2wasm sql_random.wat -o sql_random.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "ffhost" "sql_query" (func $sql_query (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"sql_random\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 82)))
  (data $stmt (i32.const 2048) "SELECT random(), randomblob(16)")
  ;; $exec and $query run one statement without arguments; the out buffer
  ;; is 4096 bytes at 8192.
  (func $exec (param $sql i32) (param $len i32) (result i64)
    (call $sql_exec (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func $query (param $sql i32) (param $len i32) (result i64)
    (call $sql_query (local.get $sql) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.wrap_i64 (i64.shr_u (call $query (i32.const 2048) (i32.const 31)) (i64.const 32))))
)
