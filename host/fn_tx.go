package host

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

var (
	txParams = []api.ValueType{i32, i32}
	txNames  = []string{"out_ptr", "out_cap"}
)

// fnBegin: tx_begin(out_ptr, out_cap) -> i64. Begins a BEGIN IMMEDIATE
// transaction on the plugin's connection; one may be open at a time.
var fnBegin = txFunc(abi.FnBegin, store.Conn.Begin)

// fnCommit: tx_commit(out_ptr, out_cap) -> i64. Commits the open transaction.
var fnCommit = txFunc(abi.FnCommit, store.Conn.Commit)

// fnRollback: tx_rollback(out_ptr, out_cap) -> i64. Rolls back the open
// transaction.
var fnRollback = txFunc(abi.FnRollback, store.Conn.Rollback)

func txFunc(name string, op func(store.Conn, context.Context) error) hostFunc {
	return hostFunc{
		name: name, params: txParams, names: txNames, results: []api.ValueType{i64},
		fn: func(ctx context.Context, m api.Module, stack []uint64) {
			mem := m.Memory()
			outPtr, outCap := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
			st := stateFrom(ctx)
			if st == nil || st.conn == nil {
				stack[0] = invalidState(mem, outPtr, outCap, st, "transactions are only available during scan_tick")
				return
			}
			if err := op(st.conn, ctx); err != nil {
				s, msg := st.conn.Explain(err)
				stack[0] = st.fail(mem, outPtr, outCap, s, msg)
				return
			}
			stack[0] = st.reply(mem, outPtr, outCap, abi.StatusOK, nil)
		},
	}
}
