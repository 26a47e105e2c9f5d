//go:build wasip1

// Package pdkhost makes a plugin written with the Go SDK (abi/guest) an
// Extism plugin: it carries the SDK's host calls over go-pdk to the host
// functions of the Extism profile (abi/ABI.md section 13) and exports
// describe and scan_tick as Extism functions. A plugin imports it for its
// effect and is built with the tag ffextism:
//
//	GOOS=wasip1 GOARCH=wasm go build -tags ffextism -buildmode=c-shared -o NAME_extism.wasm ./NAME
package pdkhost

import (
	"github.com/extism/go-pdk"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

//go:wasmimport extism:host/user ff_sql_exec
func ffSQLExec(sql, args uint64) uint64

//go:wasmimport extism:host/user ff_sql_query
func ffSQLQuery(sql, args uint64) uint64

//go:wasmimport extism:host/user ff_tx_begin
func ffTxBegin() uint64

//go:wasmimport extism:host/user ff_tx_commit
func ffTxCommit() uint64

//go:wasmimport extism:host/user ff_tx_rollback
func ffTxRollback() uint64

//go:wasmimport extism:host/user ff_log
func ffLog(level int32, msg uint64)

//go:wasmimport extism:host/user ff_tick_report
func ffTickReport(processed, errors int64)

//go:wasmimport extism:host/user ff_tick_error
func ffTickError(msg uint64)

//go:wasmimport extism:host/user ff_tick_more
func ffTickMore()

//go:wasmimport extism:host/user ff_config_get
func ffConfigGet(key uint64) uint64

//go:wasmimport extism:host/user ff_tick_partition
func ffTickPartition() int32

//go:wasmimport extism:host/user ff_sql_dialect
func ffSQLDialect() int32

func init() {
	guest.SetTransport(guest.Transport{
		Exec:       func(sql, args []byte) (abi.Status, []byte) { return sqlCall(ffSQLExec, sql, args) },
		Query:      func(sql, args []byte) (abi.Status, []byte) { return sqlCall(ffSQLQuery, sql, args) },
		Begin:      func() (abi.Status, []byte) { return result(ffTxBegin()) },
		Commit:     func() (abi.Status, []byte) { return result(ffTxCommit()) },
		Rollback:   func() (abi.Status, []byte) { return result(ffTxRollback()) },
		Log:        func(level int32, msg []byte) { withBlock(msg, func(off uint64) { ffLog(level, off) }) },
		TickReport: ffTickReport,
		TickError:  func(msg []byte) { withBlock(msg, ffTickError) },
		TickMore:   ffTickMore,
		ConfigGet: func(key []byte) (s abi.Status, payload []byte) {
			withBlock(key, func(off uint64) { s, payload = result(ffConfigGet(off)) })
			return s, payload
		},
		TickPartition: ffTickPartition,
		SQLDialect:    ffSQLDialect,
	})
}

// withBlock copies b into an Extism memory block (offset 0 when empty),
// passes its offset to f and frees it.
func withBlock(b []byte, f func(off uint64)) {
	if len(b) == 0 {
		f(0)
		return
	}
	m := pdk.AllocateBytes(b)
	f(m.Offset())
	m.Free()
}

// sqlCall runs one statement through call, ff_sql_exec or ff_sql_query.
func sqlCall(call func(sql, args uint64) uint64, sql, args []byte) (s abi.Status, payload []byte) {
	withBlock(sql, func(sqlOff uint64) {
		withBlock(args, func(argsOff uint64) { s, payload = result(call(sqlOff, argsOff)) })
	})
	return s, payload
}

// result reads and frees the result block at off: its status byte, then
// the payload.
func result(off uint64) (abi.Status, []byte) {
	m := pdk.FindMemory(off)
	b := m.ReadBytes()
	m.Free()
	s, payload, err := abi.ExtismResult(b)
	if err != nil {
		return abi.StatusInvalid, []byte(err.Error())
	}
	return s, payload
}

//lint:ignore U1000 the host calls it: go:wasmexport, which staticcheck does not see
//go:wasmexport describe
func describe() int32 {
	pdk.Output(guest.Describe())
	return 0
}

//lint:ignore U1000 the host calls it: go:wasmexport, which staticcheck does not see
//go:wasmexport scan_tick
func scanTick() int32 {
	now, err := abi.ExtismTickNow(pdk.Input())
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	return guest.ScanTick(now)
}
