package host

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// sqlParams are the parameters of sql_exec and sql_query.
var (
	sqlParams = []api.ValueType{i32, i32, i32, i32, i32, i32}
	sqlNames  = []string{"sql_ptr", "sql_len", "args_ptr", "args_len", "out_ptr", "out_cap"}
)

// fnExec: sql_exec(sql_ptr, sql_len, args_ptr, args_len, out_ptr, out_cap) -> i64.
// Runs one statement with the encoded arguments; the payload is the exec
// result (rows affected, last insert id) or an error message.
var fnExec = hostFunc{
	name: abi.FnExec, params: sqlParams, names: sqlNames, results: []api.ValueType{i64},
	fn: func(ctx context.Context, m api.Module, stack []uint64) { stack[0] = sqlCall(ctx, m, stack, false) },
}

// fnQuery: sql_query(sql_ptr, sql_len, args_ptr, args_len, out_ptr, out_cap) -> i64.
// Runs one statement and returns every row at once: the payload is the
// encoded query result or an error message.
var fnQuery = hostFunc{
	name: abi.FnQuery, params: sqlParams, names: sqlNames, results: []api.ValueType{i64},
	fn: func(ctx context.Context, m api.Module, stack []uint64) { stack[0] = sqlCall(ctx, m, stack, true) },
}

func sqlCall(ctx context.Context, m api.Module, stack []uint64, query bool) uint64 {
	mem := m.Memory()
	sqlPtr, sqlLen := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	argsPtr, argsLen := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	outPtr, outCap := api.DecodeU32(stack[4]), api.DecodeU32(stack[5])
	st := stateFrom(ctx)
	s, payload := sqlCore(ctx, st, query, sqlLen, argsLen, func() ([]byte, []byte, string) {
		text, ok := mem.Read(sqlPtr, sqlLen)
		if !ok {
			return nil, nil, "sql pointer and length are outside guest memory"
		}
		args, ok := mem.Read(argsPtr, argsLen)
		if !ok {
			return nil, nil, "args pointer and length are outside guest memory"
		}
		return text, args, ""
	})
	return replyTo(st, mem, outPtr, outCap, s, payload)
}

// replyTo is st.reply, for a call that may come when no state is set.
func replyTo(st *callState, mem api.Memory, outPtr, outCap uint32, s abi.Status, payload []byte) uint64 {
	if st == nil {
		st = &callState{}
	}
	return st.reply(mem, outPtr, outCap, s, payload)
}
