;; The module most tests instrument: an imported global, a defined global,
;; a loop that spins, a loop that counts and a function that reads a global.
(module
  (import "env" "g" (global $g i32))
  (memory 1)
  (global $mine (mut i32) (i32.const 42))
  ;; spin: loops forever
  (func (export "spin")
    (loop $l (br $l)))
  ;; count: the loop runs 5 times; returns 5
  (func (export "count") (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (i32.const 5))))
    (local.get $i))
  ;; get: returns the defined global
  (func (export "get") (result i32)
    (global.get $mine)))
