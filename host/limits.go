package host

import (
	"fmt"
	"time"
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
	return nil
}

func (l Limits) memoryPages() uint32 { return uint32(l.MemoryBytes / wasmPage) }
