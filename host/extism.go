package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Kind is how a plugin file reaches the host.
type Kind string

// Plugin kinds.
const (
	// KindFFHost imports the ffhost module and exports describe and
	// scan_tick with the signatures of abi/ABI.md.
	KindFFHost Kind = "ffhost"
	// KindExtism imports Extism's kernel (extism:host/env) and the host
	// functions of the Extism profile (abi/ABI.md, "The Extism profile");
	// it runs through the Extism Go SDK.
	KindExtism Kind = "extism"
)

// kindOf tells the two kinds apart: a module that imports any function of
// Extism's kernel is an Extism plugin.
func kindOf(imports []loopcheck.Import) Kind {
	for _, im := range imports {
		if im.Module == abi.ExtismEnvModule {
			return KindExtism
		}
	}
	return KindFFHost
}

// extismEnvRefused are the functions of Extism's kernel an Extism plugin
// may not import: a plugin has no network.
var extismEnvRefused = map[string]bool{"http_request": true, "http_status_code": true, "http_headers": true}

// checkExtismImports refuses an Extism plugin that imports what the profile
// does not provide: only Extism's kernel (its HTTP functions excepted), the
// profile's host functions and WASI. Signatures are checked when the
// instance is made.
func checkExtismImports(imports []loopcheck.Import) error {
	user := map[string]bool{}
	for _, f := range extismHostFuncs {
		user[f.Name] = true
	}
	for _, im := range imports {
		switch im.Module {
		case abi.ExtismEnvModule:
			if extismEnvRefused[im.Name] {
				return fmt.Errorf("imports %s.%s: an Extism plugin has no network", im.Module, im.Name)
			}
		case abi.ExtismUserModule:
			if !user[im.Name] {
				return fmt.Errorf("imports %s.%s, which the host does not provide", im.Module, im.Name)
			}
		case "wasi_snapshot_preview1":
		case abi.HostModule:
			return fmt.Errorf("imports %s.%s: an Extism plugin reaches the host through %s, not %s", im.Module, im.Name, abi.ExtismUserModule, abi.HostModule)
		default:
			return fmt.Errorf("imports %s.%s from module %q, which the host does not provide", im.Module, im.Name, im.Module)
		}
	}
	return nil
}

// loadExtism compiles an Extism plugin: code is the module after the
// rewrite (host/internal/loopcheck), so the guest is stopped as an ffhost
// guest is, by its interrupt flag. The SDK does not expose the guest's
// instance; a function listener on its entry points (extismEntry) hands it
// to the call. wazero's WithCloseOnContextDone would serve too, but it
// starts a goroutine for every call into wasm, and an Extism guest calls
// into the kernel for every byte it moves.
func (e *Engine) loadExtism(ctx context.Context, code []byte, imports []loopcheck.Import, hasStart bool, lim Limits) (*extism.CompiledPlugin, error) {
	if hasStart {
		return nil, errors.New("has a start section; an Extism plugin initializes in _initialize")
	}
	if err := checkExtismImports(imports); err != nil {
		return nil, err
	}
	extismLogLevel.Do(func() { extism.SetLogLevel(extism.LogLevelInfo) })
	rcfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(lim.memoryPages())
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: code, Name: "main"}},
		Memory: &extism.ManifestMemory{
			MaxPages:    lim.memoryPages(),
			MaxVarBytes: int64(lim.MaxOutputBytes),
		},
	}
	// As compileWithin: the SDK compiles without watching a context, so
	// it runs on a goroutine the load stops waiting for at the deadline;
	// an abandoned compile closes what it made.
	type result struct {
		cp  *extism.CompiledPlugin
		err error
	}
	done := make(chan result, 1)
	abandoned := make(chan struct{})
	cctx, cancel := context.WithTimeout(ctx, e.loadTimeout)
	defer cancel()
	e.compiles.Add(1)
	go func() {
		defer e.compiles.Done()
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.err = fmt.Errorf("the compiler panicked: %v", p)
				}
			}()
			lctx := experimental.WithFunctionListenerFactory(context.WithoutCancel(ctx), extismEntryListener{})
			r.cp, r.err = extism.NewCompiledPlugin(lctx, manifest,
				extism.PluginConfig{RuntimeConfig: rcfg, EnableWasi: true}, extismHostFuncs)
		}()
		select {
		case <-abandoned:
			if r.cp != nil {
				r.cp.Close(context.Background())
			}
		default:
			done <- r
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("compile: %s", firstLine(r.err.Error()))
		}
		return r.cp, nil
	case <-cctx.Done():
		close(abandoned)
		select { // the compile may have finished meanwhile
		case r := <-done:
			if r.cp != nil {
				r.cp.Close(context.Background())
			}
		default:
		}
		if errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("compile: not done within the load deadline of %v", e.loadTimeout)
		}
		return nil, fmt.Errorf("compile: %w", cctx.Err())
	}
}

// extismInstance is one instance of an Extism plugin: Extism's kernel and
// the guest. Like an ffhost instance it is reused across ticks and
// discarded after any failure.
type extismInstance struct {
	pl     *extism.Plugin
	stderr *headBuffer
	log    *slog.Logger
	dead   bool       // a call failed: the instance must not run again
	cur    *callState // the running call's, for Extism's log functions

	// kernel holds Extism's kernel functions the host functions call,
	// made once: the SDK's own helpers make a new wazero function, and
	// with it a new stack, every call.
	kernel struct {
		mod           api.Module
		length, alloc api.Function
		stack         [1]uint64
	}

	mu       sync.Mutex
	flag     api.MutableGlobal // the guest's interrupt flag, once an entry point ran
	guestMem api.Memory        // the guest's memory, once an entry point ran
	tripped  bool              // the flag is, or is to be, set
}

// extismEntryKey carries the extismInstance of a call to its entry
// listener.
type extismEntryKey struct{}

// extismEntryListener listens to the guest's entry points only (describe,
// scan_tick, _initialize): before each it gives the call's extismInstance
// the guest's interrupt flag.
type extismEntryListener struct{}

func (extismEntryListener) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	for _, name := range def.ExportNames() {
		switch name {
		case abi.ExportDescribe, abi.ExportScanTick, abi.ExportInitialize:
			return extismEntryListener{}
		}
	}
	return nil
}

func (extismEntryListener) Before(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	i, _ := ctx.Value(extismEntryKey{}).(*extismInstance)
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.flag == nil {
		i.guestMem = mod.Memory()
		i.flag, _ = mod.ExportedGlobal(loopcheck.GlobalName).(api.MutableGlobal)
		if i.flag != nil && i.tripped {
			i.flag.Set(1)
		}
	}
}

// After drops what scan_tick output: the profile ignores it, and the SDK
// would copy all of it, up to the plugin's memory limit, into the host's
// heap after every tick. (The kernel's output_set ignores offset 0: the
// output becomes an empty range of a 1-byte block.)
func (extismEntryListener) After(ctx context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) {
	if !slices.Contains(def.ExportNames(), abi.ExportScanTick) {
		return
	}
	kernel, _ := ctx.Value(extism.PluginCtxKey("extism")).(api.Module)
	if kernel == nil {
		return
	}
	alloc, set := kernel.ExportedFunction("alloc"), kernel.ExportedFunction("output_set")
	if alloc == nil || set == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if r, err := alloc.Call(ctx, 1); err == nil && r[0] != 0 {
		_, _ = set.Call(ctx, r[0], 0)
	}
}

func (extismEntryListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// trip stops the guest at its next check: it sets the interrupt flag, or
// has the entry listener set it as soon as it has it.
func (i *extismInstance) trip() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.tripped = true
	if i.flag != nil {
		i.flag.Set(1)
	}
}

func (i *extismInstance) isTripped() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.tripped
}

func (p *Plugin) newExtismInstance(ctx context.Context) (*extismInstance, error) {
	errOut := &headBuffer{max: 4 << 10}
	cfg := wazero.NewModuleConfig().
		WithSysNanotime().
		WithNanosleep(sliceSleep).
		WithStdout(errOut).
		WithStderr(errOut)
	pl, err := p.xp.Instance(withLinearMemory(ctx), extism.PluginInstanceConfig{ModuleConfig: cfg})
	if err != nil {
		return nil, fmt.Errorf("start instance: %w", describeTrap(err, errOut))
	}
	for _, name := range []string{abi.ExportDescribe, abi.ExportScanTick} {
		if !pl.FunctionExists(name) {
			pl.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("missing export %q (the Extism profile requires describe and scan_tick)", name)
		}
	}
	i := &extismInstance{pl: pl, stderr: errOut, log: p.log}
	pl.SetLogger(i.extismLog)
	return i, nil
}

// extismLogLevel is the least level of Extism's own log functions
// (log_info, ...) the host writes: a setting of the SDK for the whole
// process. Below it are the SDK's own debug lines.
var extismLogLevel sync.Once

// extismLog writes a line of Extism's own log functions as ff_log would,
// under the same limits.
func (i *extismInstance) extismLog(level extism.LogLevel, msg string) {
	lvl := abi.LevelInfo
	switch level {
	case extism.LogLevelWarn:
		lvl = abi.LevelWarn
	case extism.LogLevelError:
		lvl = abi.LevelError
	}
	logText(context.Background(), i.cur, lvl, msg)
}

// run calls the export name with input. A call the guest failed with
// Extism's error_set returns its code and message in guestErr; any other
// failure is err, one line, ErrTimeout or ctx's cancellation when ctx
// ended. Either way the instance is spent.
func (i *extismInstance) run(ctx context.Context, name string, input []byte) (rc uint32, out []byte, guestErr string, err error) {
	if i.dead {
		return 0, nil, "", fmt.Errorf("%w: instance was interrupted", ErrTrap)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, "", ctxError(err)
	}
	stop := context.AfterFunc(ctx, i.trip)
	i.cur = stateFrom(ctx)
	rc, out, err = i.pl.CallWithContext(context.WithValue(ctx, extismEntryKey{}, i), name, input)
	i.cur = nil
	stop()
	if i.isTripped() {
		i.dead = true
		if err != nil {
			return 0, nil, "", ctxError(ctx.Err())
		}
	}
	if err == nil {
		return rc, out, "", nil
	}
	i.dead = true
	if msg := i.pl.GetErrorWithContext(context.WithoutCancel(ctx)); msg != "" && msg == err.Error() {
		return rc, out, firstLine(msg), nil
	}
	return 0, nil, "", describeTrap(err, i.stderr)
}

func (i *extismInstance) describe(ctx context.Context, maxBytes uint32) (describe.Descriptor, error) {
	st := &callState{limits: Limits{MaxOutputBytes: maxBytes}, log: i.log}
	rc, out, guestErr, err := i.run(withState(ctx, st), abi.ExportDescribe, nil)
	switch {
	case err != nil:
		return describe.Descriptor{}, fmt.Errorf("describe: %w", err)
	case guestErr != "":
		return describe.Descriptor{}, fmt.Errorf("describe: %s", guestErr)
	case rc != 0:
		return describe.Descriptor{}, fmt.Errorf("describe returned %d", int32(rc))
	}
	if n := len(out); n > int(maxBytes) || n > describe.MaxSize {
		return describe.Descriptor{}, fmt.Errorf("describe: %d bytes, limit %d", n, min(maxBytes, describe.MaxSize))
	}
	return describe.Parse(out)
}

func (i *extismInstance) call(ctx context.Context, nowMS int64) (int32, error) {
	rc, _, guestErr, err := i.run(ctx, abi.ExportScanTick, abi.ExtismTickInput(nowMS))
	if err != nil {
		return 0, err
	}
	if guestErr != "" {
		if st := stateFrom(ctx); st != nil && st.tickErr == "" {
			st.tickErr = guestErr
		}
		if rc == 0 {
			rc = 1
		}
	}
	return int32(rc), nil
}

func (i *extismInstance) spent() bool { return i.dead }

// memoryBytes is the size of the guest's memory and of Extism's kernel
// memory, where the plugin's input, output and host call blocks live.
func (i *extismInstance) memoryBytes() uint64 {
	n := uint64(i.pl.Memory().Size())
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.guestMem != nil {
		n += uint64(i.guestMem.Size())
	}
	return n
}

func (i *extismInstance) close(ctx context.Context) {
	i.dead = true
	_ = i.pl.Close(context.WithoutCancel(ctx))
}

// extismHostFuncs are the host functions of the Extism profile, in
// ExtismUserModule. Each decodes its arguments from Extism memory blocks
// and runs the same core as its ffhost twin (fn_core.go).
var extismHostFuncs = []extism.HostFunction{
	extismFunc(abi.ExtismFnExec, extismSQL(false), []api.ValueType{i64, i64}, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnQuery, extismSQL(true), []api.ValueType{i64, i64}, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnBegin, extismTx(store.Conn.Begin), nil, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnCommit, extismTx(store.Conn.Commit), nil, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnRollback, extismTx(store.Conn.Rollback), nil, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnLog, func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
		ptr, n := extismBlockOrBad(ctx, cp, stack[1])
		logCore(ctx, stateFrom(ctx), api.DecodeI32(stack[0]), cp.Memory(), ptr, n)
	}, []api.ValueType{i32, i64}, nil),
	extismFunc(abi.ExtismFnTickReport, func(ctx context.Context, _ *extism.CurrentPlugin, stack []uint64) {
		tickReportCore(stateFrom(ctx), int64(stack[0]), int64(stack[1]))
	}, []api.ValueType{i64, i64}, nil),
	extismFunc(abi.ExtismFnTickError, func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
		ptr, n := extismBlockOrBad(ctx, cp, stack[0])
		tickErrorCore(stateFrom(ctx), cp.Memory(), ptr, n)
	}, []api.ValueType{i64}, nil),
	extismFunc(abi.ExtismFnTickMore, func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		tickMoreCore(stateFrom(ctx))
	}, nil, nil),
	extismFunc(abi.ExtismFnConfigGet, func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
		st := stateFrom(ctx)
		ptr, n, ok := extismBlock(ctx, cp, stack[0])
		s, payload := configCore(st, n, func() ([]byte, string) {
			if !ok {
				return nil, fmt.Sprintf("key offset %d is not an Extism memory block", stack[0])
			}
			key, ok := cp.Memory().Read(ptr, n)
			if !ok {
				return nil, "key block is outside Extism memory"
			}
			return key, ""
		})
		stack[0] = extismReply(ctx, cp, s, payload)
	}, []api.ValueType{i64}, []api.ValueType{i64}),
	extismFunc(abi.ExtismFnTickPartition, func(ctx context.Context, _ *extism.CurrentPlugin, stack []uint64) {
		stack[0] = api.EncodeI32(tickPartitionCore(stateFrom(ctx)))
	}, nil, []api.ValueType{i32}),
	extismFunc(abi.ExtismFnSQLDialect, func(ctx context.Context, _ *extism.CurrentPlugin, stack []uint64) {
		stack[0] = api.EncodeI32(sqlDialectCore(stateFrom(ctx)))
	}, nil, []api.ValueType{i32}),
}

func extismFunc(name string, fn extism.HostFunctionStackCallback, params, results []api.ValueType) extism.HostFunction {
	f := extism.NewHostFunctionWithStack(name, fn, params, results)
	f.SetNamespace(abi.ExtismUserModule)
	return f
}

// extismSQL is ff_sql_exec (query false) and ff_sql_query (query true).
func extismSQL(query bool) extism.HostFunctionStackCallback {
	return func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
		st := stateFrom(ctx)
		mem := cp.Memory()
		sqlPtr, sqlLen, sqlOK := extismBlock(ctx, cp, stack[0])
		argsPtr, argsLen, argsOK := extismBlock(ctx, cp, stack[1])
		s, payload := sqlCore(ctx, st, query, sqlLen, argsLen, func() ([]byte, []byte, string) {
			if !sqlOK {
				return nil, nil, fmt.Sprintf("sql offset %d is not an Extism memory block", stack[0])
			}
			if !argsOK {
				return nil, nil, fmt.Sprintf("args offset %d is not an Extism memory block", stack[1])
			}
			text, ok := mem.Read(sqlPtr, sqlLen)
			if !ok {
				return nil, nil, "sql block is outside Extism memory"
			}
			args, ok := mem.Read(argsPtr, argsLen)
			if !ok {
				return nil, nil, "args block is outside Extism memory"
			}
			return text, args, ""
		})
		stack[0] = extismReply(ctx, cp, s, payload)
	}
}

// extismTx is ff_tx_begin, ff_tx_commit and ff_tx_rollback.
func extismTx(op func(store.Conn, context.Context) error) extism.HostFunctionStackCallback {
	return func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
		s, payload := txCore(ctx, stateFrom(ctx), op)
		stack[0] = extismReply(ctx, cp, s, payload)
	}
}

// kernelCall calls Extism's kernel function name (length or alloc) with
// one argument, through the calling instance's cached function when the
// call's context has it, else through the SDK.
func kernelCall(ctx context.Context, cp *extism.CurrentPlugin, name string, arg uint64) (uint64, error) {
	i, _ := ctx.Value(extismEntryKey{}).(*extismInstance)
	mod, _ := ctx.Value(extism.PluginCtxKey("extism")).(api.Module)
	if i == nil || mod == nil {
		if name == "alloc" {
			return cp.AllocWithContext(ctx, arg)
		}
		return cp.LengthWithContext(ctx, arg)
	}
	k := &i.kernel
	if k.mod != mod {
		k.mod, k.length, k.alloc = mod, mod.ExportedFunction("length"), mod.ExportedFunction("alloc")
		if k.length == nil || k.alloc == nil {
			return 0, errors.New("the Extism kernel exports no length or alloc")
		}
	}
	fn := k.length
	if name == "alloc" {
		fn = k.alloc
	}
	k.stack[0] = arg
	if err := fn.CallWithStack(ctx, k.stack[:]); err != nil {
		return 0, err
	}
	return k.stack[0], nil
}

// extismBlock returns where the Extism memory block at off lies. Offset 0
// is the empty block. ok is false when off is not the start of a block
// Extism's kernel knows.
func extismBlock(ctx context.Context, cp *extism.CurrentPlugin, off uint64) (ptr, n uint32, ok bool) {
	if off == 0 {
		return 0, 0, true
	}
	if off > math.MaxUint32 {
		return 0, 0, false
	}
	size, err := kernelCall(ctx, cp, "length", off)
	if err != nil || size == 0 || size > math.MaxUint32 {
		return 0, 0, false
	}
	return uint32(off), uint32(size), true
}

// extismBlockOrBad is extismBlock for the message of ff_log and
// ff_tick_error: a bad offset becomes a range no memory has, which their
// cores report as a pointer outside memory.
func extismBlockOrBad(ctx context.Context, cp *extism.CurrentPlugin, off uint64) (ptr, n uint32) {
	ptr, n, ok := extismBlock(ctx, cp, off)
	if !ok {
		return math.MaxUint32, 1
	}
	return ptr, n
}

// extismReply allocates the result block of a host call: the status byte,
// then the payload. A block the kernel cannot allocate (the plugin's memory
// limit) fails the call, and with it the tick.
func extismReply(ctx context.Context, cp *extism.CurrentPlugin, s abi.Status, payload []byte) uint64 {
	n := uint64(len(payload)) + 1
	off, err := kernelCall(ctx, cp, "alloc", n)
	if err == nil && off == 0 {
		err = errors.New("out of memory")
	}
	if err != nil {
		panic(fmt.Errorf("result block of %d bytes: %s", n, firstLine(err.Error())))
	}
	mem := cp.Memory()
	if !mem.WriteByte(uint32(off), byte(s)) || !mem.Write(uint32(off)+1, payload) {
		panic(fmt.Errorf("result block of %d bytes at %d is outside Extism memory", n, off))
	}
	return off
}
