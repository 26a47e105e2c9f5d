;; init_loop: _initialize spins in an endless loop. The host runs it when it
;; starts an instance, at load (under the load deadline) and before a tick
;; on a fresh instance (under the tick deadline); loading must give up and
;; refuse the file, naming it.
;; Built with: wat2wasm init_loop.wat -o init_loop.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"init_loop\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "_initialize")
    (loop $spin (br $spin)))
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 81)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
