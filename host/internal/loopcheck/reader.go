package loopcheck

import (
	"errors"
	"fmt"
)

var errTruncated = errors.New("unexpected end of data")

// reader decodes the binary format. The first error sticks: later reads
// return zero values, so callers check err once after a run of reads.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.pos = len(r.b)
}

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.pos {
		r.fail(errTruncated)
		return nil
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b
}

// leb skips one LEB128 number of at most maxBytes bytes and returns its low
// 64 bits (enough for every unsigned use here).
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i < 10 {
			v |= uint64(c&0x7F) << (7 * i)
		}
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 number too long"))
	return 0
}

func (r *reader) u32() uint32 {
	v := r.leb(5)
	if v > 1<<32-1 {
		r.fail(errors.New("u32 out of range"))
	}
	return uint32(v)
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// valType skips a value type: a number or vector type, an abstract
// reference type (one byte), or (ref null? heaptype) of the typed function
// references proposal.
func (r *reader) valType() {
	switch t := r.byte(); {
	case isShortValType(t):
	case t == 0x63 || t == 0x64: // ref null ht, ref ht
		r.leb(5) // the heap type: an abstract type byte or a type index (s33)
	default:
		if r.err == nil {
			r.fail(fmt.Errorf("unsupported value type 0x%02x", t))
		}
	}
}

// isShortValType reports whether t is a one-byte value type: i32, i64, f32,
// f64, v128, or an abstract reference type (funcref, externref, exnref and
// the GC proposal's, 0x69 to 0x74).
func isShortValType(t byte) bool { return t >= 0x7B && t <= 0x7F || t >= 0x69 && t <= 0x74 }

// limits skips table or memory limits as wazero reads them: flags 0 to 3
// (bit 0: a maximum follows; bit 1: shared), min and, if flagged, max.
// limitsValues reads table or memory limits (flags 0 to 3: with a
// maximum, shared), returning them.
func (r *reader) limitsValues() (flags byte, min, max uint64, hasMax bool) {
	flags = r.byte()
	if flags > 3 && r.err == nil {
		r.fail(fmt.Errorf("unsupported limits flags 0x%02x", flags))
		return
	}
	min = uint64(r.u32())
	if flags&1 != 0 {
		max, hasMax = uint64(r.u32()), true
	}
	return flags, min, max, hasMax
}

// s32 reads a signed LEB128 number of at most 32 bits.
func (r *reader) s32() int32 {
	var v int64
	var shift uint
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v)
		}
	}
	r.fail(errors.New("LEB128 number too long"))
	return 0
}

func (r *reader) limits() {
	flags := r.byte()
	if flags > 3 && r.err == nil {
		r.fail(fmt.Errorf("unsupported limits flags 0x%02x", flags))
		return
	}
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

// blockType skips a block type: empty, one value type, or a type index
// (a non-negative s33).
func (r *reader) blockType() {
	if r.pos < len(r.b) {
		switch t := r.b[r.pos]; {
		case t == blockEmpty:
			r.pos++
			return
		case isShortValType(t) || t == 0x63 || t == 0x64:
			r.valType()
			return
		}
	}
	r.leb(5)
}

// memarg skips a memory argument: alignment (bit 6 flags a memory index
// under multi-memory), optional memory index, offset.
func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 {
		r.u32()
	}
	r.leb(10)
}

// opLoop is the loop instruction, after whose block type the check goes.
const opLoop = 0x03

// skipImmediates skips the immediates of the instruction whose opcode op
// was just read.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F,
		op == 0x19, op == 0x1A, op == 0x1B, op == 0xD1, op == 0xD3, op == 0xD5:
		// unreachable nop else throw_ref end return catch_all drop select
		// ref.is_null ref.as_non_null ref.eq: no immediates
	case op >= 0x45 && op <= 0xC4: // numeric instructions
	case op == 0x02, op == 0x04, op == 0x06: // block if try
		r.blockType()
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0C, op == 0x0D, op == 0x10,
		op == 0x12, op == 0x14, op == 0x15, op == 0x18, op >= 0x20 && op <= 0x26,
		op == 0x3F, op == 0x40, op == 0xD2, op == 0xD4, op == 0xD6:
		// catch throw rethrow br br_if call return_call call_ref
		// return_call_ref delegate local.* global.* table.get table.set
		// memory.size memory.grow ref.func br_on_null br_on_non_null: one index
		r.u32()
	case op == 0x0E: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x11, op == 0x13: // call_indirect return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select with types
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valType()
		}
	case op == 0x1F: // try_table
		r.blockType()
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			switch kind := r.byte(); kind {
			case 0x00, 0x01: // catch, catch_ref: tag, label
				r.u32()
				r.u32()
			case 0x02, 0x03: // catch_all, catch_all_ref: label
				r.u32()
			default:
				return fmt.Errorf("try_table: unknown catch kind 0x%02x", kind)
			}
		}
	case op >= 0x28 && op <= 0x3E: // loads and stores
		r.memarg()
	case op == 0x41: // i32.const
		r.leb(5)
	case op == 0x42: // i64.const
		r.leb(10)
	case op == 0x43: // f32.const
		r.bytes(4)
	case op == 0x44: // f64.const
		r.bytes(8)
	case op == 0xD0: // ref.null
		r.leb(5) // a heap type: an abstract type byte or a type index (s33)
	case op == 0xFC:
		return r.skipFC()
	case op == 0xFD:
		return r.skipFD()
	case op == 0xFE:
		return r.skipFE()
	default:
		return fmt.Errorf("unknown opcode 0x%02x", op)
	}
	return r.err
}

// skipFC skips a 0xFC-prefixed instruction: saturating truncation, bulk
// memory and table instructions.
func (r *reader) skipFC() error {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init memory.copy table.init table.copy
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub == 15, sub == 16, sub == 17:
		// data.drop memory.fill elem.drop table.grow table.size table.fill
		r.u32()
	default:
		if r.err == nil {
			return fmt.Errorf("unknown opcode 0xfc %d", sub)
		}
	}
	return r.err
}

// skipFD skips a 0xFD-prefixed (SIMD) instruction as wazero v1.12 reads
// it: its opcode is one byte, where the specification has a LEB128
// number. The two agree on every opcode's shortest encoding (a second
// byte, 0x01, is then a nop to wazero), but not on a longer one, where
// wazero reads the bytes after the first as instructions: reading them as
// the specification does would let a loop hide, unchecked, in what the
// rewrite took for a constant. The rewrite must see what the runtime sees.
func (r *reader) skipFD() error {
	switch sub := r.byte(); {
	case sub <= 11, sub == 92, sub == 93: // v128 loads and stores, load32_zero, load64_zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		r.byte()
	case sub >= 84 && sub <= 91: // load_lane, store_lane
		r.memarg()
		r.byte()
	default: // everything else in the SIMD proposal has no immediates
	}
	return r.err
}

// skipFE refuses a 0xFE-prefixed (threads) instruction: the host's
// runtime does not enable the threads proposal, and wazero reads its
// opcode as one byte where the specification has a LEB128 number.
func (r *reader) skipFE() error {
	return fmt.Errorf("threads instruction 0xfe %d: the host does not enable threads", r.byte())
}
