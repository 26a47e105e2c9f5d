package host

import (
	"context"
	"fmt"

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
	if st == nil || st.conn == nil {
		return invalidState(mem, outPtr, outCap, st, "SQL is only available during scan_tick")
	}
	if total := uint64(sqlLen) + uint64(argsLen); total > uint64(st.limits.MaxCallBytes) {
		return st.fail(mem, outPtr, outCap, abi.StatusInvalid,
			fmt.Sprintf("call of %d bytes exceeds the %d-byte limit", total, st.limits.MaxCallBytes))
	}
	text, ok := mem.Read(sqlPtr, sqlLen)
	if !ok {
		return st.fail(mem, outPtr, outCap, abi.StatusInvalid, "sql pointer and length are outside guest memory")
	}
	args, ok := mem.Read(argsPtr, argsLen)
	if !ok {
		return st.fail(mem, outPtr, outCap, abi.StatusInvalid, "args pointer and length are outside guest memory")
	}
	var (
		payload []byte
		err     error
	)
	if query {
		st.buf, err = st.conn.Query(ctx, st.buf[:0], text, args, st.limits.MaxResultBytes)
	} else {
		st.buf, err = st.conn.Exec(ctx, st.buf[:0], text, args)
	}
	if err != nil {
		s, msg := st.conn.Explain(err)
		return st.fail(mem, outPtr, outCap, s, msg)
	}
	payload = st.buf
	return st.reply(mem, outPtr, outCap, abi.StatusOK, payload)
}

// invalidState answers a call made when it cannot be served.
func invalidState(mem api.Memory, outPtr, outCap uint32, st *callState, msg string) uint64 {
	if st == nil {
		st = &callState{}
	}
	return st.fail(mem, outPtr, outCap, abi.StatusInvalid, msg)
}
