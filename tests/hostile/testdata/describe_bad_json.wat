;; describe_bad_json: describe returns a descriptor that is not JSON (an
;; object cut short, with a trailing comma). The file must be refused at
;; load, naming the JSON error.
;; Built with: wat2wasm describe_bad_json.wat -o describe_bad_json.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_bad_json\",\"abi_version\":\"1.0\",")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 48)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
