;; config_echo: reads its config key "greeting" with config_get (ABI 1.3)
;; on every tick and logs the value, as a plugin that logs a secret would:
;; what a plugin logs is its own doing.
;; Built with: wat2wasm config_echo.wat -o config_echo.wasm
(module
  (import "ffhost" "config_get" (func $config_get (param i32 i32 i32 i32) (result i64)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"config_echo\",\"abi_version\":\"1.3\",\"version\":\"1\",\"default_interval_ms\":20,\"config\":[{\"name\":\"greeting\",\"type\":\"string\",\"default\":\"hello\",\"doc\":\"what the plugin logs each tick\"},{\"name\":\"batch\",\"type\":\"int\",\"default\":\"10\",\"doc\":\"items per tick\"}]}")
  (data (i32.const 2048) "greeting")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 253)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (local $r i64)
    (local.set $r (call $config_get (i32.const 2048) (i32.const 8) (i32.const 8192) (i32.const 4096)))
    (if (i64.ne (i64.shr_u (local.get $r) (i64.const 32)) (i64.const 0))
      (then (return (i32.const 1))))
    (call $log (i32.const 0) (i32.const 8192) (i32.wrap_i64 (local.get $r)))
    (call $tick_report (i64.const 1) (i64.const 0))
    (i32.const 0)))
