;; basic.wat without a global section: the rewrite must add one.
(module
  (import "env" "g" (global $g i32))
  (memory 1)
  (func (export "spin")
    (loop $l (br $l)))
  (func (export "count") (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (i32.const 5))))
    (local.get $i))
  ;; get: returns the imported global, 7
  (func (export "get") (result i32)
    (global.get $g)))
