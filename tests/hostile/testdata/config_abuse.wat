;; config_abuse: config_get (ABI 1.3) called from describe, with a key
;; outside memory, a key wrapping past 4 GiB, keys of 65 and 2^32-1 bytes,
;; an empty key, an undeclared key, another plugin's key (keys are per
;; plugin, so it is undeclared here too), an out buffer too small (then
;; fetch), an out buffer outside memory, and each declared key of each type.
;; Every answer must be as ABI.md section 4.7 says; anything else is logged
;; as UNEXPECTED and fails the tick. Last it logs a value it read: what a
;; plugin logs is its own (a host cannot stop a plugin logging a secret).
;; Built with: wat2wasm config_abuse.wat -o config_abuse.wasm
(module
  (import "ffhost" "fetch" (func $fetch (param i32 i32) (result i32)))
  (import "ffhost" "log" (func $log (param i32 i32 i32)))
  (import "ffhost" "tick_report" (func $tick_report (param i64 i64)))
  (import "ffhost" "tick_error" (func $tick_error (param i32 i32)))
  (import "ffhost" "config_get" (func $config_get (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"name\":\"config_abuse\",\"abi_version\":\"1.3\",\"version\":\"1\",\"default_interval_ms\":1000,\"config\":[{\"name\":\"mode\",\"type\":\"string\",\"default\":\"strict\",\"doc\":\"a string\"},{\"name\":\"batch\",\"type\":\"int\",\"default\":\"500\",\"doc\":\"an int\"},{\"name\":\"on\",\"type\":\"bool\",\"default\":\"true\",\"doc\":\"a bool\"},{\"name\":\"every\",\"type\":\"duration\",\"default\":\"1m30s\",\"doc\":\"a duration\"}]}")
  ;; Keys: mode at 2048 (4), batch at 2052 (5), on at 2057 (2), every at
  ;; 2059 (5), nope at 2064 (4), batch_size at 2068 (10).
  (data (i32.const 2048) "modebatchoneverynopebatch_size")
  (data (i32.const 1536) "UNEXPECTED: a config_get answer is not as ABI.md says; processed is the number of the first failed check")
  (global $from_describe (mut i64) (i64.const -1))
  (global $bad (mut i32) (i32.const 0))
  (func (export "describe") (result i64)
    (global.set $from_describe (call $config_get (i32.const 2048) (i32.const 4) (i32.const 8192) (i32.const 4096)))
    (i64.or (i64.const 0x40000000000) (i64.const 356)))
  (func $fail (param $id i32)
    (if (i32.eqz (global.get $bad))
      (then (global.set $bad (local.get $id)))))
  ;; $status checks the status half of a packed (status << 32 | length).
  (func $status (param $got i64) (param $want i64) (param $id i32)
    (if (i64.ne (i64.shr_u (local.get $got) (i64.const 32)) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $exact (param $got i64) (param $want i64) (param $id i32)
    (if (i64.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $is32 (param $got i32) (param $want i32) (param $id i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $id)))))
  (func $get (param $key i32) (param $len i32) (param $cap i32) (result i64)
    (i64.store (i32.const 8192) (i64.const 0))
    (call $config_get (local.get $key) (local.get $len) (i32.const 8192) (local.get $cap)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (global.set $bad (i32.const 0))
    ;; 1: from describe: invalid.
    (call $status (global.get $from_describe) (i64.const 5) (i32.const 1))
    ;; 2-6: bad keys: outside memory, wrapping, 65 bytes, 2^32-1 bytes, empty.
    (call $status (call $config_get (i32.const 70000) (i32.const 4) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 2))
    (call $status (call $config_get (i32.const 0xFFFFFFF0) (i32.const 32) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 3))
    (call $status (call $config_get (i32.const 2048) (i32.const 65) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 4))
    (call $status (call $config_get (i32.const 2048) (i32.const -1) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 5))
    (call $status (call $config_get (i32.const 0) (i32.const 0) (i32.const 8192) (i32.const 4096)) (i64.const 5) (i32.const 6))
    ;; 7-8: undeclared keys.
    (call $status (call $get (i32.const 2064) (i32.const 4) (i32.const 4096)) (i64.const 5) (i32.const 7))
    (call $status (call $get (i32.const 2068) (i32.const 10) (i32.const 4096)) (i64.const 5) (i32.const 8))
    ;; 9-11: "strict" into 2 bytes: ok, length 6, nothing written; fetch gets it.
    (call $exact (call $get (i32.const 2048) (i32.const 4) (i32.const 2)) (i64.const 6) (i32.const 9))
    (call $is32 (i32.load (i32.const 8192)) (i32.const 0) (i32.const 10))
    (call $is32 (call $fetch (i32.const 8192) (i32.const 6)) (i32.const 6) (i32.const 11))
    (call $is32 (i32.load (i32.const 8192)) (i32.const 0x69727473) (i32.const 12))
    ;; 13: an out buffer outside memory: invalid, length 0.
    (call $exact (call $config_get (i32.const 2048) (i32.const 4) (i32.const 70000) (i32.const 100)) (i64.const 0x500000000) (i32.const 13))
    ;; 14-19: each type, in its canonical text.
    (call $exact (call $get (i32.const 2052) (i32.const 5) (i32.const 4096)) (i64.const 3) (i32.const 14))
    (call $is32 (i32.load (i32.const 8192)) (i32.const 0x303035) (i32.const 15))
    (call $exact (call $get (i32.const 2057) (i32.const 2) (i32.const 4096)) (i64.const 4) (i32.const 16))
    (call $is32 (i32.load (i32.const 8192)) (i32.const 0x65757274) (i32.const 17))
    (call $exact (call $get (i32.const 2059) (i32.const 5) (i32.const 4096)) (i64.const 5) (i32.const 18))
    (call $is32 (i32.load (i32.const 8192)) (i32.const 0x30303039) (i32.const 19))
    (call $is32 (i32.load8_u (i32.const 8196)) (i32.const 0x30) (i32.const 20))
    ;; The plugin logs a value it read.
    (drop (call $get (i32.const 2048) (i32.const 4) (i32.const 4096)))
    (call $log (i32.const 0) (i32.const 8192) (i32.const 6))
    (if (global.get $bad)
      (then
        (call $tick_report (i64.extend_i32_u (global.get $bad)) (i64.const 0))
        (call $tick_error (i32.const 1536) (i32.const 104))
        (return (i32.const 1))))
    (call $tick_report (i64.const 1) (i64.const 0))
    (i32.const 0)))
