;; global_set_imported: a module that imports one global and defines none,
;; then writes globals 1 and 2 in a loop: the indices just past its own,
;; which the host's rewrite turns into its interrupt flag and yield budget.
;; Invalid as written (only global 0 exists); it also imports a global no
;; host module provides. Either way the host must refuse it; the reason
;; expected in the table is the out-of-range global index, the defect a
;; host that checked imports first would hide.
;; Built with: wat2wasm --no-check global_set_imported.wat -o global_set_imported.wasm
(module
  (import "ffhost" "epoch" (global $epoch i32))
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"global_set_imported\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 91)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (loop $spin
      (global.set 1 (i32.const 0))
      (global.set 2 (i32.const 1))
      (br $spin))
    (i32.const 0))
)
