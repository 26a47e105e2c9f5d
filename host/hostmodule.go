package host

import (
	"context"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// callState is what the host functions of one call into a plugin work on.
// It travels in the call's context, so one host module serves every
// instance of a runtime.
type callState struct {
	conn   store.Conn // nil while describe runs: no database then
	limits Limits
	config map[string]string // the plugin's configuration values, by key
	log    *slog.Logger

	buf     []byte // reused result encoding
	pending []byte // a result too big for the guest's buffer, until fetch

	rep         Report
	tickErr     string
	logLines    int
	dropped     int      // log lines over MaxLogLines this tick
	rateDropped int      // log lines over the plugin's log rate this tick
	logRate     *logRate // the plugin's log rate, across ticks; nil: none
	denials     int      // statements the authorizer refused this tick
	partition   int32    // the partition the tick is for (tick_partition)
	dialect     int32    // the connection's SQL dialect (sql_dialect)
}

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one function of the ffhost module.
type hostFunc struct {
	name    string
	fn      api.GoModuleFunc
	params  []api.ValueType
	names   []string
	results []api.ValueType
}

// hostFuncs is the whole ffhost module, one family per file (fn_*.go).
var hostFuncs = []hostFunc{
	fnExec, fnQuery, fnFetch,
	fnBegin, fnCommit, fnRollback,
	fnLog,
	fnTickReport, fnTickError, fnTickMore,
	fnConfigGet,
	fnTickPartition, fnSQLDialect,
}

func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	for _, f := range hostFuncs {
		b.NewFunctionBuilder().
			WithGoModuleFunction(f.fn, f.params, f.results).
			WithParameterNames(f.names...).
			Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// reply finishes a host call that returns a packed (status, length): the
// payload is written to the guest's out buffer if it fits, and otherwise
// kept for fetch.
func (st *callState) reply(mem api.Memory, outPtr, outCap uint32, s abi.Status, payload []byte) uint64 {
	st.pending = nil
	n := uint32(len(payload))
	if n > outCap {
		st.pending = payload
		return abi.Pack(s, n)
	}
	if n > 0 && !mem.Write(outPtr, payload) {
		return abi.Pack(abi.StatusInvalid, 0)
	}
	return abi.Pack(s, n)
}

// fnFetch: fetch(out_ptr i32, out_cap i32) -> i32. Copies the result kept by
// the previous call and returns its length, or -1 if none is kept or it
// does not fit.
var fnFetch = hostFunc{
	name:    abi.FnFetch,
	params:  []api.ValueType{i32, i32},
	names:   []string{"out_ptr", "out_cap"},
	results: []api.ValueType{i32},
	fn: func(ctx context.Context, m api.Module, stack []uint64) {
		st := stateFrom(ctx)
		outPtr, outCap := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		res := int32(-1)
		if st != nil && st.pending != nil && uint32(len(st.pending)) <= outCap && m.Memory().Write(outPtr, st.pending) {
			res = int32(len(st.pending))
		}
		if st != nil {
			st.pending = nil
		}
		stack[0] = api.EncodeI32(res)
	},
}
