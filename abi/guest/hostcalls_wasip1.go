//go:build wasip1 && !ffextism

package guest

import "unsafe"

//go:wasmimport ffhost sql_exec
func hostExec(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost sql_query
func hostQuery(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost fetch
func hostFetch(out unsafe.Pointer, outCap uint32) int32

//go:wasmimport ffhost tx_begin
func hostBegin(out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost tx_commit
func hostCommit(out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost tx_rollback
func hostRollback(out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost log
func hostLog(level int32, msg unsafe.Pointer, msgLen uint32)

//go:wasmimport ffhost tick_report
func hostTickReport(processed int64, errors int64)

//go:wasmimport ffhost tick_error
func hostTickError(msg unsafe.Pointer, msgLen uint32)

//go:wasmimport ffhost tick_more
func hostTickMore()

//go:wasmimport ffhost tick_partition
func hostTickPartition() int32

//go:wasmimport ffhost sql_dialect
func hostSQLDialect() int32

const inHost = true

//go:wasmimport ffhost config_get
func hostConfigGet(key unsafe.Pointer, keyLen uint32, out unsafe.Pointer, outCap uint32) uint64
