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
			st := stateFrom(ctx)
			s, payload := txCore(ctx, st, op)
			stack[0] = replyTo(st, m.Memory(), api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), s, payload)
		},
	}
}
