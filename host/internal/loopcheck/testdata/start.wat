;; A start function that records that it ran, and one that spins: the
;; rewrite exports the start function instead of letting it run at
;; instantiation.
(module
  (memory 1)
  (global $ran (mut i32) (i32.const 0))
  (func $start
    (global.set $ran (i32.add (global.get $ran) (i32.const 1)))
    (if (i32.eq (global.get $ran) (i32.const 2))
      (then (loop $l (br $l)))))
  (start $start)
  ;; ran: how many times the start function ran
  (func (export "ran") (result i32) (global.get $ran)))
