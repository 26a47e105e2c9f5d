package host

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// fnTickReport: tick_report(processed i64, errors i64). Sets the report of
// the running tick; the last call wins. Negative counts are taken as 0.
var fnTickReport = hostFunc{
	name:   abi.FnTickReport,
	params: []api.ValueType{i64, i64},
	names:  []string{"processed", "errors"},
	fn: func(ctx context.Context, _ api.Module, stack []uint64) {
		tickReportCore(stateFrom(ctx), int64(stack[0]), int64(stack[1]))
	},
}

// fnTickMore: tick_more() (ABI 1.1). Says the running tick stopped with
// work left; a supervisor with drain on for the plugin runs the next tick
// after a short pause instead of a full interval.
var fnTickMore = hostFunc{
	name: abi.FnTickMore,
	fn: func(ctx context.Context, _ api.Module, _ []uint64) {
		tickMoreCore(stateFrom(ctx))
	},
}

// fnTickError: tick_error(msg_ptr i32, msg_len i32). Sets the message of a
// failing tick, cut at MaxOutputBytes.
var fnTickError = hostFunc{
	name:   abi.FnTickError,
	params: []api.ValueType{i32, i32},
	names:  []string{"msg_ptr", "msg_len"},
	fn: func(ctx context.Context, m api.Module, stack []uint64) {
		tickErrorCore(stateFrom(ctx), m.Memory(), api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	},
}

// fnTickPartition: tick_partition() -> i32 (ABI 1.4). The partition the
// running tick is for: 0 to the family's count - 1 on a partitioned
// database, 0 on SQLite and for a plugin that is not partition-scoped; -1
// outside scan_tick (describe, _initialize).
var fnTickPartition = hostFunc{
	name:    abi.FnTickPartition,
	results: []api.ValueType{i32},
	fn: func(ctx context.Context, _ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(tickPartitionCore(stateFrom(ctx)))
	},
}

// tickPartitionCore is tick_partition for both plugin kinds.
func tickPartitionCore(st *callState) int32 {
	if st == nil || st.conn == nil {
		return -1
	}
	return st.partition
}

// fnSQLDialect: sql_dialect() -> i32 (ABI 1.4). The SQL the plugin's
// connection speaks: abi.DialectSQLite (0) or abi.DialectPostgres (1); -1
// outside scan_tick.
var fnSQLDialect = hostFunc{
	name:    abi.FnSQLDialect,
	results: []api.ValueType{i32},
	fn: func(ctx context.Context, _ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(sqlDialectCore(stateFrom(ctx)))
	},
}

// sqlDialectCore is sql_dialect for both plugin kinds.
func sqlDialectCore(st *callState) int32 {
	if st == nil || st.conn == nil {
		return -1
	}
	return st.dialect
}
