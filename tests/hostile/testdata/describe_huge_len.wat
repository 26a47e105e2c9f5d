;; describe_huge_len: describe returns its descriptor's address with a
;; length of 2^32-1. The host must not read (or allocate) 4 GiB: the file
;; must be refused at load, naming the size limit.
;; Built with: wat2wasm describe_huge_len.wat -o describe_huge_len.wasm
(module
  (memory (export "memory") 1)
  (data $desc (i32.const 1024) "{\"name\":\"describe_huge_len\",\"abi_version\":\"1.0\",\"version\":\"1\",\"default_interval_ms\":1000}")
  (func (export "describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const 0xffffffff)))
  (func (export "scan_tick") (param $now i64) (result i32)
    (i32.const 0))
)
