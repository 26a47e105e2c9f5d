;; swallow_timeout: runs a statement that outlasts any tick timeout, drops
;; its result and returns 0 with no loop in between, so the interrupt flag
;; is never checked before scan_tick returns. The tick must still fail.
;; Built with: wat2wasm swallow_timeout.wat -o swallow_timeout.wasm
(module
  (import "ffhost" "sql_exec" (func $sql_exec (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\22name\22:\22swallow_timeout_wat\22,\22abi_version\22:\221.0\22,\22version\22:\220\22,\22default_interval_ms\22:1000}")
  (data (i32.const 2048) "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c")
  (func (export "describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 91)))
  (func (export "scan_tick") (param i64) (result i32)
    (drop (call $sql_exec (i32.const 2048) (i32.const 107) (i32.const 0) (i32.const 0) (i32.const 4096) (i32.const 256)))
    (i32.const 0)))
