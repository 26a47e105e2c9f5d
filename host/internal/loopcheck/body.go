package loopcheck

import "fmt"

// instrumentCode rewrites every function body of the code section sec,
// which validate has checked holds one body per declared function.
func instrumentCode(sec []byte, ck checks, b Bounds, m *module) ([]byte, error) {
	r := reader{b: sec}
	n := r.u32()
	out := make([]byte, 0, len(sec)+len(sec)/4)
	out = appendU32(out, n)
	var body []byte
	s := scanner{ck: ck, b: b, declared: m.declared, funcs: uint32(len(m.funcs)), types: uint32(len(m.types))}
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, r.err)
		}
		if len(code) > b.FunctionBytes {
			return nil, fmt.Errorf("function body %d: %w", i, boundError("size", len(code), "max-function-bytes", b.FunctionBytes))
		}
		var err error
		body, err = s.instrumentBody(body[:0], code)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		// The checks add code: the bounds hold for what is compiled.
		if len(body) > b.FunctionBytes {
			return nil, fmt.Errorf("function body %d: %w", i, boundError("size with the host's checks", len(body), "max-function-bytes", b.FunctionBytes))
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
		if len(out) > b.CodeBytes {
			return nil, fmt.Errorf("function body %d: %w", i, boundError("code section size with the host's checks", len(out), "max-code-bytes", b.CodeBytes))
		}
	}
	if !r.done() {
		return nil, fmt.Errorf("%d bytes after the last function body", len(sec)-r.pos)
	}
	return out, nil
}

// insertion is a check to insert before the byte at pos of a body,
// charging what the code from instruction from on can run before it
// reaches the next check.
type insertion struct {
	pos   int
	from  int
	extra int // bytes run before the check that it charges too
}

// instr is one instruction of a body, as the cost pass needs it.
type instr struct {
	pos, end int   // its bytes, immediates included
	op       byte  // its opcode
	target   int32 // the block a branch, if, else or end refers to; -1: the function
	tbl      int32 // br_table: its targets are tbl[tbl:tbl+n]
	n        int32
}

// block is one block, loop or if of a body.
type block struct {
	loop   bool
	elseAt int // index of its else instruction, or -1
	endAt  int // index of its end instruction
}

// scanner instruments function bodies, keeping its buffers and the count
// of locals from one body to the next.
type scanner struct {
	ck       checks
	declared map[uint32]bool // functions ref.func may name
	funcs    uint32          // functions, imported and defined
	types    uint32          // types
	b        Bounds
	locals   int   // declared so far, over all bodies
	work     int64 // BlockWork so far, over all bodies
	ins      []insertion
	instrs   []instr
	blocks   []block
	open     []int32 // the open blocks, innermost last
	tbl      []int32
	dist     []int64
}

// maxPrologue is how many bytes of plain instructions may come before a
// loop at the start of a function for the loop's check to serve as the
// function's entry check (the Go compiler's output: a few instructions,
// then a loop around the whole body).
const maxPrologue = 32

// instrumentBody appends code with the checks inserted to out. The first
// pass finds where checks go and checks the body; the second, backwards,
// finds for each instruction the most bytes of code that can run from it
// before the next check (dist), which is what a check there charges; the
// third copies.
func (s *scanner) instrumentBody(out, code []byte) ([]byte, error) {
	r := reader{b: code}
	groups := r.u32()
	locals := 0
	for i := uint32(0); i < groups && r.err == nil; i++ {
		n := r.u32()
		r.valType()
		if uint64(locals)+uint64(n) > uint64(s.b.Locals) {
			return nil, boundError("locals", locals+int(n), "max-locals", s.b.Locals)
		}
		locals += int(n)
	}
	if r.err != nil {
		return nil, r.err
	}
	s.locals += locals
	if s.locals > s.b.TotalLocals {
		return nil, boundError("locals over all functions", s.locals, "max-total-locals", s.b.TotalLocals)
	}

	s.ins, s.instrs, s.blocks, s.open, s.tbl = s.ins[:0], s.instrs[:0], s.blocks[:0], s.open[:0], s.tbl[:0]
	entry, prologue := r.pos, true
	s.ins = append(s.ins, insertion{pos: entry, from: 0})
	label := func(l uint32) int32 {
		if int(l) < len(s.open) {
			return s.open[len(s.open)-1-int(l)]
		}
		return -1
	}
	afterCall, ended := false, false
	blocks := int64(0) // basic blocks, roughly: what the compiler's time grows with
	for !r.done() {
		at := r.pos
		op := r.byte()
		if afterCall {
			afterCall = false
			if !reachesCheck(op, len(s.open)) {
				s.ins = append(s.ins, insertion{pos: at, from: len(s.instrs)})
			}
		}
		in := instr{pos: at, op: op, target: -1}
		switch op {
		case 0x02, 0x03, 0x04, 0x05, 0x0D, 0x0E: // block loop if else br_if br_table
			blocks++
		}
		switch op {
		case 0x02, 0x03, 0x04, 0x06, 0x1F: // block loop if try try_table
			if len(s.open) >= s.b.Nesting {
				return nil, fmt.Errorf("instruction at offset %d: %w", at, boundError("block nesting", len(s.open)+1, "max-nesting", s.b.Nesting))
			}
			in.target = int32(len(s.blocks))
			s.open = append(s.open, in.target)
			s.blocks = append(s.blocks, block{loop: op == opLoop, elseAt: -1})
			if op == opLoop {
				r.blockType()
				extra := 0
				if prologue && at-entry <= maxPrologue {
					s.ins = s.ins[:0] // this loop's check is the entry check
					extra = r.pos - entry
				}
				s.ins = append(s.ins, insertion{pos: r.pos, from: len(s.instrs) + 1, extra: extra})
			}
		case 0x05, 0x07, 0x19: // else catch catch_all
			if len(s.open) == 0 {
				return nil, fmt.Errorf("instruction at offset %d: opcode 0x%02x outside a block", at, op)
			}
			in.target = s.open[len(s.open)-1]
			if s.blocks[in.target].elseAt < 0 {
				s.blocks[in.target].elseAt = len(s.instrs)
			}
		case opEnd, 0x18: // end delegate
			if len(s.open) == 0 {
				if op != opEnd || !r.done() {
					return nil, fmt.Errorf("instruction at offset %d: code after the function's end", at)
				}
				ended = true
				break
			}
			in.target = s.open[len(s.open)-1]
			s.blocks[in.target].endAt = len(s.instrs)
			s.open = s.open[:len(s.open)-1]
		case opGlobalGet, opGlobalSet:
			if idx := r.u32(); r.err == nil && idx >= s.ck.flag {
				return nil, fmt.Errorf("instruction at offset %d: global index %d out of range (the module has %d globals)", at, idx, s.ck.flag)
			}
		case 0x0C, 0x0D, 0xD5, 0xD6: // br br_if br_on_null br_on_non_null
			in.target = label(r.u32())
		case 0x0E: // br_table
			n := r.u32()
			in.tbl = int32(len(s.tbl))
			for i := uint32(0); i <= n && r.err == nil; i++ {
				s.tbl = append(s.tbl, label(r.u32()))
			}
			in.n = int32(len(s.tbl)) - in.tbl
		case opCall, opCallInd, opCallRef:
			afterCall = true
			// wazero v1.12 panics on some indices out of range, where it
			// should refuse the module: refuse them first.
			idx, limit, what := r.u32(), s.funcs, "function"
			if op != opCall {
				limit, what = s.types, "type"
			}
			if r.err == nil && idx >= limit {
				return nil, fmt.Errorf("instruction at offset %d: %s index %d out of range (the module has %d)", at, what, idx, limit)
			}
			if op == opCallInd {
				r.u32() // the table
			}
		case opRefFunc:
			if idx := r.u32(); r.err == nil && !s.declared[idx] {
				return nil, fmt.Errorf("instruction at offset %d: ref.func %d: the function is not declared by an export, an element segment or a global", at, idx)
			}
		}
		switch op {
		case 0x02, opEnd, opDrop, 0x20, 0x21, 0x22, opGlobalGet, opGlobalSet, opI32Const, 0x42:
			// block end drop local.* global.* i32.const i64.const: plain
		default:
			prologue = false // the loop may be skipped, or come late
		}
		switch op {
		case opLoop, opGlobalGet, opGlobalSet, 0x0C, 0x0D, 0x0E, 0xD5, 0xD6, opRefFunc, opCall, opCallInd, opCallRef:
			// immediates read above
		default:
			if err := r.skipImmediates(op); err != nil {
				return nil, fmt.Errorf("instruction at offset %d: %w", at, err)
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("instruction at offset %d: %w", at, r.err)
		}
		in.end = r.pos
		s.instrs = append(s.instrs, in)
	}
	if r.err != nil {
		return nil, r.err
	}
	if !ended {
		return nil, fmt.Errorf("no end of the function at offset %d (%d blocks open)", len(code), len(s.open))
	}
	blocks += 2 * int64(len(s.ins)) // each check is two if blocks
	s.work += blocks * blocks
	if s.work > s.b.BlockWork {
		return nil, fmt.Errorf("%w (this function has %d blocks)", boundError("block work", int(min(s.work, 1<<62)), "max-block-work", int(s.b.BlockWork)), blocks)
	}

	s.costs()
	copied := 0
	for _, in := range s.ins {
		out = append(out, code[copied:in.pos]...)
		out = s.ck.appendFull(out, cost(s.dist[in.from]+int64(in.extra)))
		copied = in.pos
	}
	return append(out, code[copied:]...), nil
}

// costs fills s.dist: for each instruction, the most bytes of code that
// can run from its start before the next check. Code only runs forward
// between checks (a branch back goes to a loop's check), so one pass from
// the end finds it.
func (s *scanner) costs() {
	n := len(s.instrs)
	s.dist = append(s.dist[:0], make([]int64, n+1)...)
	to := func(b int32) int64 { // a branch to block b
		if b < 0 || s.blocks[b].loop {
			return 0 // return from the function, or go to the loop's check
		}
		return s.dist[s.blocks[b].endAt]
	}
	for i := n - 1; i >= 0; i-- {
		in := s.instrs[i]
		d := int64(in.end - in.pos)
		switch in.op {
		case opCall, opCallInd, opCallRef, opLoop, opReturn, opUnreachable,
			0x12, 0x13, 0x15, 0x08, 0x09, 0x0A: // return_call*, throw, rethrow, throw_ref
			// the code after it runs after another check, or not at all
		case 0x04: // if: then, or else (or nothing)
			b := s.blocks[in.target]
			next := b.endAt
			if b.elseAt >= 0 {
				next = b.elseAt + 1
			}
			d += max(s.dist[i+1], s.dist[next])
		case 0x05, 0x07, 0x19: // else, catch, catch_all: the end of an arm
			d += s.dist[s.blocks[in.target].endAt]
		case opEnd:
			if in.target >= 0 {
				d += s.dist[i+1]
			}
		case 0x0C: // br
			d += to(in.target)
		case 0x0D, 0xD5, 0xD6: // br_if br_on_null br_on_non_null
			d += max(s.dist[i+1], to(in.target))
		case 0x0E: // br_table
			m := int64(0)
			for _, t := range s.tbl[in.tbl : in.tbl+in.n] {
				m = max(m, to(t))
			}
			d += m
		default:
			d += s.dist[i+1]
		}
		s.dist[i] = d
	}
}

// reachesCheck reports whether the instruction op, just after a call,
// leaves nothing to check there: it returns from the function (depth is
// how many blocks are open), or it is itself a check point, a call
// (checked at the callee's entry) or a loop.
func reachesCheck(op byte, depth int) bool {
	switch op {
	case opEnd:
		return depth == 0
	case opReturn, opCall, opCallInd, opCallRef, 0x12, 0x13, 0x15, opLoop:
		return true
	}
	return false
}
