;; start_loop: the module's start function (the start section, which every
;; instantiation runs before anything else, whatever the embedder asks)
;; spins in an endless loop. No export has been called yet, so a host that
;; arms its interrupt only around export calls never stops it. Loading must
;; give up at the load deadline and refuse the file, naming it.
;; Built with: wat2wasm start_loop.wat -o start_loop.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"start_loop\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func $spin
    (loop $forever (br $forever)))
  (start $spin)
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 82)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
