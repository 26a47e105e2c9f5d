package abi

import (
	"encoding/binary"
	"fmt"
)

// The Extism profile (ABI.md section 13): the same host functions and
// encodings, for a plugin built with an Extism PDK. Such a plugin imports
// Extism's kernel, ExtismEnvModule, and finds the host functions in
// ExtismUserModule; every string and buffer is an Extism memory block,
// passed as its i64 offset.
const (
	// ExtismEnvModule is Extism's kernel; importing any function from it
	// makes a module an Extism plugin.
	ExtismEnvModule = "extism:host/env"
	// ExtismUserModule holds the host functions of the Extism profile.
	ExtismUserModule = "extism:host/user"
)

// Names of the host functions in ExtismUserModule.
const (
	// ExtismFnExec is "ff_sql_exec(sql i64, args i64) -> i64": sql_exec,
	// returning the offset of a result block (ExtismResult).
	ExtismFnExec = "ff_sql_exec"
	// ExtismFnQuery is "ff_sql_query(sql i64, args i64) -> i64".
	ExtismFnQuery = "ff_sql_query"
	// ExtismFnBegin is "ff_tx_begin() -> i64".
	ExtismFnBegin = "ff_tx_begin"
	// ExtismFnCommit is "ff_tx_commit() -> i64".
	ExtismFnCommit = "ff_tx_commit"
	// ExtismFnRollback is "ff_tx_rollback() -> i64".
	ExtismFnRollback = "ff_tx_rollback"
	// ExtismFnLog is "ff_log(level i32, msg i64) -> ()".
	ExtismFnLog = "ff_log"
	// ExtismFnTickReport is "ff_tick_report(processed i64, errors i64) -> ()".
	ExtismFnTickReport = "ff_tick_report"
	// ExtismFnTickError is "ff_tick_error(msg i64) -> ()".
	ExtismFnTickError = "ff_tick_error"
	// ExtismFnTickMore is "ff_tick_more() -> ()".
	ExtismFnTickMore = "ff_tick_more"
	// ExtismFnConfigGet is "ff_config_get(key i64) -> i64": config_get
	// (ABI 1.3), returning the offset of a result block.
	ExtismFnConfigGet = "ff_config_get"
	// ExtismFnTickPartition is "ff_tick_partition() -> i32": tick_partition
	// (ABI 1.4).
	ExtismFnTickPartition = "ff_tick_partition"
	// ExtismFnSQLDialect is "ff_sql_dialect() -> i32": sql_dialect (ABI 1.4).
	ExtismFnSQLDialect = "ff_sql_dialect"
)

// ExtismTickInputSize is the size of scan_tick's input in the Extism
// profile: now_ms, a little-endian i64.
const ExtismTickInputSize = 8

// ExtismTickInput returns scan_tick's input for nowMS.
func ExtismTickInput(nowMS int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(nowMS))
}

// ExtismTickNow decodes scan_tick's input.
func ExtismTickNow(in []byte) (int64, error) {
	if len(in) != ExtismTickInputSize {
		return 0, fmt.Errorf("scan_tick input of %d bytes, want %d", len(in), ExtismTickInputSize)
	}
	return int64(binary.LittleEndian.Uint64(in)), nil
}

// ExtismResult splits a result block of the Extism profile: its first byte
// is the Status, the rest the payload (the encoded result, or an error
// message).
func ExtismResult(block []byte) (Status, []byte, error) {
	if len(block) == 0 {
		return StatusInvalid, nil, fmt.Errorf("empty result block")
	}
	return Status(block[0]), block[1:], nil
}
