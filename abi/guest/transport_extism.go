//go:build wasip1 && ffextism

package guest

import (
	"runtime"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Built with the tag ffextism, the package speaks the Extism profile of the
// ABI (ABI.md section 13) instead of importing ffhost: its host calls go
// through a Transport, which an Extism PDK supplies (plugins/extism/pdkhost
// does, on go-pdk), and the PDK exports describe and scan_tick, calling
// Describe and ScanTick. Plugins are unchanged: the same Tick, Conn, WithTx.

// Transport carries the host calls of the Extism profile. Each SQL and
// transaction call returns the status and payload of its result block.
type Transport struct {
	Exec, Query             func(sql, args []byte) (abi.Status, []byte)
	Begin, Commit, Rollback func() (abi.Status, []byte)
	Log                     func(level int32, msg []byte)
	TickReport              func(processed, errors int64)
	TickError               func(msg []byte)
	TickMore                func()
	// ConfigGet is config_get (ABI 1.3): the key's status and payload.
	ConfigGet func(key []byte) (abi.Status, []byte)
	// TickPartition and SQLDialect are tick_partition and sql_dialect
	// (ABI 1.4).
	TickPartition, SQLDialect func() int32
}

var (
	transport Transport
	// pending is a payload larger than the caller's buffer, kept for
	// hostFetch as the ffhost host keeps it.
	pending []byte
)

// SetTransport installs the Extism host calls; call it from an init
// function, before the host calls describe.
func SetTransport(t Transport) { transport = t }

// Describe returns the registered plugin's descriptor JSON: describe's
// output.
func Describe() []byte { return registered.desc }

// ScanTick runs one tick at nowMS, reports it through the Transport and
// returns scan_tick's result: 0, or 1 after a tick error.
func ScanTick(nowMS int64) int32 {
	rep, err := runTick(nowMS)
	runtime.Gosched() // see exports_wasip1.go
	transport.TickReport(rep.Processed, rep.Errors)
	if rep.More {
		transport.TickMore()
	}
	if err != nil {
		transport.TickError([]byte(err.Error()))
		return 1
	}
	return 0
}

const inHost = true

func bytesAt(p unsafe.Pointer, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// reply puts a payload in the caller's out buffer, or keeps it for
// hostFetch, and packs the result as an ffhost call returns it.
func reply(s abi.Status, payload []byte, out unsafe.Pointer, outCap uint32) uint64 {
	pending = nil
	n := uint32(len(payload))
	if n > outCap {
		pending = payload
	} else {
		copy(bytesAt(out, outCap), payload)
	}
	return abi.Pack(s, n)
}

func hostExec(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.Exec(bytesAt(sql, sqlLen), bytesAt(args, argsLen))
	return reply(s, p, out, outCap)
}

func hostQuery(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.Query(bytesAt(sql, sqlLen), bytesAt(args, argsLen))
	return reply(s, p, out, outCap)
}

func hostFetch(out unsafe.Pointer, outCap uint32) int32 {
	p := pending
	pending = nil
	if p == nil || uint32(len(p)) > outCap {
		return -1
	}
	copy(bytesAt(out, outCap), p)
	return int32(len(p))
}

func hostBegin(out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.Begin()
	return reply(s, p, out, outCap)
}

func hostCommit(out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.Commit()
	return reply(s, p, out, outCap)
}

func hostRollback(out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.Rollback()
	return reply(s, p, out, outCap)
}

func hostLog(level int32, msg unsafe.Pointer, msgLen uint32) {
	transport.Log(level, bytesAt(msg, msgLen))
}

func hostConfigGet(key unsafe.Pointer, keyLen uint32, out unsafe.Pointer, outCap uint32) uint64 {
	s, p := transport.ConfigGet(bytesAt(key, keyLen))
	return reply(s, p, out, outCap)
}

func hostTickPartition() int32 { return transport.TickPartition() }

func hostSQLDialect() int32 { return transport.SQLDialect() }
