package host

import (
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
)

// Limits bound what one plugin may use. A zero field takes the default
// named beside it; Engine.Load merges a plugin's overrides onto the
// engine's limits field by field.
type Limits struct {
	// MemoryBytes caps one instance's linear memory. Default 64 MiB.
	MemoryBytes uint64
	// TickTimeout bounds one scan_tick, host calls included; past it the
	// instance is closed and its transaction rolled back. Default 30 s.
	TickTimeout time.Duration
	// MaxCallBytes caps the SQL text plus encoded arguments of one host
	// call, and SQLite's SQL length limit. Default 1 MiB.
	MaxCallBytes uint32
	// MaxResultBytes caps one encoded query result, and SQLite's string and
	// blob length limit. Default 16 MiB.
	MaxResultBytes uint32
	// MaxOutputBytes caps describe's JSON, a tick's error message and one
	// log message (a longer message is cut). Default 64 KiB.
	MaxOutputBytes uint32
	// MaxLogLines caps the log lines one tick may write; the rest are
	// dropped and counted. Default 1000.
	MaxLogLines int
	// LogLinesPerSecond and LogBytesPerSecond cap a plugin's log over
	// time, across ticks (a token bucket each, whose burst is MaxLogLines
	// lines and 4 seconds' worth of bytes, at least MaxOutputBytes);
	// lines past them are dropped and counted. Defaults 100 lines and
	// 256 KiB per second.
	LogLinesPerSecond int
	LogBytesPerSecond int64

	// The load bounds below are checked before a file is compiled: a few
	// bytes of the binary format can ask the compiler for time and memory
	// out of all proportion to the file's size. A file past one is refused
	// with an error naming the bound, the value and the limit.

	// MaxFunctions caps the functions a module defines. Default 20,000.
	MaxFunctions int
	// MaxFunctionBytes caps one function body's code. Default 128 KiB.
	MaxFunctionBytes int
	// MaxLocals caps the locals one function declares. Default 50,000.
	MaxLocals int
	// MaxTotalLocals caps the locals of all functions together. Default
	// 500,000.
	MaxTotalLocals int
	// MaxNesting caps how deep blocks nest in one function. Default 2,000.
	MaxNesting int
	// MaxCodeBytes caps the code section. Default 8 MiB.
	MaxCodeBytes int
	// MaxBlockWork caps the sum over functions of the square of each one's
	// blocks and branches: wazero's compile time grows with that square.
	// Default 100,000,000.
	MaxBlockWork int64
	// MaxTableElements caps one table's elements, initially and by
	// growing (a module may define at most 8 tables). Default 100,000.
	MaxTableElements int
}

// DefaultLimits are the limits a plugin gets when nothing is configured.
var DefaultLimits = Limits{
	MemoryBytes:    64 << 20,
	TickTimeout:    30 * time.Second,
	MaxCallBytes:   1 << 20,
	MaxResultBytes: 16 << 20,
	MaxOutputBytes: 64 << 10,
	MaxLogLines:    1000,

	LogLinesPerSecond: 100,
	LogBytesPerSecond: 256 << 10,
	MaxFunctions:      loopcheck.DefaultBounds.Functions,
	MaxFunctionBytes:  loopcheck.DefaultBounds.FunctionBytes,
	MaxLocals:         loopcheck.DefaultBounds.Locals,
	MaxTotalLocals:    loopcheck.DefaultBounds.TotalLocals,
	MaxNesting:        loopcheck.DefaultBounds.Nesting,
	MaxCodeBytes:      loopcheck.DefaultBounds.CodeBytes,
	MaxBlockWork:      loopcheck.DefaultBounds.BlockWork,
	MaxTableElements:  loopcheck.DefaultBounds.TableElements,
}

// wasmPage is the size of one WebAssembly memory page.
const wasmPage = 64 << 10

// maxMemoryBytes is the most a plugin may be given: 4 GiB is the whole
// 32-bit address space.
const maxMemoryBytes = 4 << 30

// Merge returns l with every zero field taken from base.
func (l Limits) Merge(base Limits) Limits {
	if l.MemoryBytes == 0 {
		l.MemoryBytes = base.MemoryBytes
	}
	if l.TickTimeout == 0 {
		l.TickTimeout = base.TickTimeout
	}
	if l.MaxCallBytes == 0 {
		l.MaxCallBytes = base.MaxCallBytes
	}
	if l.MaxResultBytes == 0 {
		l.MaxResultBytes = base.MaxResultBytes
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = base.MaxOutputBytes
	}
	if l.MaxLogLines == 0 {
		l.MaxLogLines = base.MaxLogLines
	}
	if l.LogLinesPerSecond == 0 {
		l.LogLinesPerSecond = base.LogLinesPerSecond
	}
	if l.LogBytesPerSecond == 0 {
		l.LogBytesPerSecond = base.LogBytesPerSecond
	}
	for _, f := range []struct{ v, base *int }{
		{&l.MaxFunctions, &base.MaxFunctions}, {&l.MaxFunctionBytes, &base.MaxFunctionBytes},
		{&l.MaxLocals, &base.MaxLocals}, {&l.MaxTotalLocals, &base.MaxTotalLocals},
		{&l.MaxNesting, &base.MaxNesting}, {&l.MaxCodeBytes, &base.MaxCodeBytes},
		{&l.MaxTableElements, &base.MaxTableElements},
	} {
		if *f.v == 0 {
			*f.v = *f.base
		}
	}
	if l.MaxBlockWork == 0 {
		l.MaxBlockWork = base.MaxBlockWork
	}
	return l
}

// Validate reports the first limit that is out of range.
func (l Limits) Validate() error {
	switch {
	case l.MemoryBytes < 2<<20 || l.MemoryBytes > maxMemoryBytes:
		return fmt.Errorf("memory limit %d bytes: want 2 MiB to 4 GiB", l.MemoryBytes)
	case l.TickTimeout <= 0:
		return fmt.Errorf("tick timeout %v: want > 0", l.TickTimeout)
	case l.MaxCallBytes < 1<<10:
		return fmt.Errorf("max call bytes %d: want >= 1 KiB", l.MaxCallBytes)
	case l.MaxResultBytes < 1<<10 || l.MaxResultBytes > 1<<30:
		return fmt.Errorf("max result bytes %d: want 1 KiB to 1 GiB", l.MaxResultBytes)
	case l.MaxOutputBytes < 1<<10:
		return fmt.Errorf("max output bytes %d: want >= 1 KiB", l.MaxOutputBytes)
	case l.MaxLogLines < 0:
		return fmt.Errorf("max log lines %d: want >= 0", l.MaxLogLines)
	case l.LogLinesPerSecond < 0:
		return fmt.Errorf("log lines per second %d: want >= 0", l.LogLinesPerSecond)
	case l.LogBytesPerSecond < 0:
		return fmt.Errorf("log bytes per second %d: want >= 0", l.LogBytesPerSecond)
	}
	for _, b := range []struct {
		name string
		v    int
	}{
		{"max functions", l.MaxFunctions}, {"max function bytes", l.MaxFunctionBytes},
		{"max locals", l.MaxLocals}, {"max total locals", l.MaxTotalLocals},
		{"max nesting", l.MaxNesting}, {"max code bytes", l.MaxCodeBytes},
		{"max table elements", l.MaxTableElements},
	} {
		if b.v <= 0 {
			return fmt.Errorf("%s %d: want > 0", b.name, b.v)
		}
	}
	if l.MaxBlockWork <= 0 {
		return fmt.Errorf("max block work %d: want > 0", l.MaxBlockWork)
	}
	return nil
}

// bounds are the load bounds of l, as the module rewrite checks them.
func (l Limits) bounds() loopcheck.Bounds {
	return loopcheck.Bounds{
		Functions:     l.MaxFunctions,
		FunctionBytes: l.MaxFunctionBytes,
		Locals:        l.MaxLocals,
		TotalLocals:   l.MaxTotalLocals,
		Nesting:       l.MaxNesting,
		CodeBytes:     l.MaxCodeBytes,
		BlockWork:     l.MaxBlockWork,
		TableElements: l.MaxTableElements,
		MemoryPages:   l.memoryPages(),
		// The host provides functions only (ffhost, WASI).
		FunctionImportsOnly: true,
	}
}

func (l Limits) memoryPages() uint32 { return uint32(l.MemoryBytes / wasmPage) }
