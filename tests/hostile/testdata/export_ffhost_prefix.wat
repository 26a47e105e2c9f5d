;; export_ffhost_prefix: a module that exports a global as __ffhost_budget
;; and a function as __ffhost_yield: names in the host's own namespace
;; (the host adds __ffhost_interrupt and may add more). ABI.md reserves only
;; __ffhost_interrupt today; a demanding operator expects the whole
;; __ffhost_ prefix to be refused, so that no later host export can ever be
;; shadowed by a plugin's, and the table expects that.
;; Built with: wat2wasm export_ffhost_prefix.wat -o export_ffhost_prefix.wasm
(module
  (global $fake (export "__ffhost_budget") (mut i32) (i32.const 65536))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"export_ffhost_prefix\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "__ffhost_yield"))
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 92)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
