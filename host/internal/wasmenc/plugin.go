package wasmenc

// Plugin is a minimal plugin module for tests: a memory of one page,
// describe returning Desc (placed at DescAt), and scan_tick, which reports
// Processed with tick_report, calls tick_more if More is set (ABI 1.1)
// and returns Status. Its other fields build broken variants.
type Plugin struct {
	Desc      string
	Processed int64
	Status    int32
	More      bool

	DescPtr   uint32      // describe's returned pointer; 0 means DescAt
	Imports   [][2]string // more function imports (module, name), of type () -> ()
	NoTick    bool        // leave scan_tick out
	TickParam byte        // scan_tick's parameter type; 0 means i64
	InitTrap  bool        // export an _initialize that traps
}

// DescAt is where Plugin places its descriptor.
const DescAt = 1024

// Encode returns the binary module.
func (p Plugin) Encode() []byte {
	tickParam := byte(I64)
	if p.TickParam != 0 {
		tickParam = p.TickParam
	}
	m := Module{
		Types: []FuncType{
			{},                     // 0: () -> ()
			{Results: []byte{I64}}, // 1: () -> i64
			{Params: []byte{tickParam}, Results: []byte{I32}}, // 2: scan_tick
			{Params: []byte{I64, I64}},                        // 3: tick_report
		},
		Memories: [][]byte{{0x00, 1}},
		Exports:  []Export{{Name: "memory", Kind: KindMemory}},
	}
	// Imports: tick_report, tick_more, then the extra ones.
	imports := []Import{{Module: "ffhost", Name: "tick_report", Kind: KindFunc, Desc: AppendU32(nil, 3)}}
	if p.More {
		imports = append(imports, Import{Module: "ffhost", Name: "tick_more", Kind: KindFunc, Desc: AppendU32(nil, 0)})
	}
	for _, im := range p.Imports {
		imports = append(imports, Import{Module: im[0], Name: im[1], Kind: KindFunc, Desc: AppendU32(nil, 0)})
	}
	m.Imports = imports
	next := uint32(len(imports)) // the next function index
	ptr := p.DescPtr
	if ptr == 0 {
		ptr = DescAt
	}
	m.Funcs = append(m.Funcs, Func{Code: Code(I64Const(int64(ptr)<<32|int64(len(p.Desc))), Op(OpEnd))})
	m.TypeOf = append(m.TypeOf, 1)
	m.Exports = append(m.Exports, Export{Name: "describe", Kind: KindFunc, Index: next})
	next++
	if !p.NoTick {
		code := Code(I64Const(p.Processed), I64Const(0), Op(OpCall, 0))
		if p.More {
			code = Code(code, Op(OpCall, 1))
		}
		m.Funcs = append(m.Funcs, Func{Code: Code(code, I32Const(p.Status), Op(OpEnd))})
		m.TypeOf = append(m.TypeOf, 2)
		m.Exports = append(m.Exports, Export{Name: "scan_tick", Kind: KindFunc, Index: next})
		next++
	}
	if p.InitTrap {
		m.Funcs = append(m.Funcs, Func{Code: Code(Op(OpUnreachable), Op(OpEnd))})
		m.TypeOf = append(m.TypeOf, 0)
		m.Exports = append(m.Exports, Export{Name: "_initialize", Kind: KindFunc, Index: next})
	}
	// One active data segment in memory 0 at DescAt: the descriptor.
	data := AppendU32(nil, 1)
	data = append(data, 0x00)
	data = append(data, I32Const(DescAt)...)
	data = append(data, OpEnd)
	data = append(AppendU32(data, uint32(len(p.Desc))), p.Desc...)
	m.Extra = append(m.Extra, Section{ID: SecData, Body: data})
	return m.Encode()
}

// I64Const is i64.const v.
func I64Const(v int64) []byte { return AppendS64([]byte{OpI64Const}, v) }

// AppendS64 appends v as signed LEB128, as i64.const takes it.
func AppendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
