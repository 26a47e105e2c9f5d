package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
)

// EngineConfig configures an Engine. The zero value is usable.
type EngineConfig struct {
	// CacheDir holds wazero's compilation cache, so a plugin compiled once
	// loads in a fraction of the time afterwards. Empty keeps the cache in
	// memory for the Engine's life. It holds machine code the process
	// runs: NewEngine makes it 0700 and refuses one another user owns
	// (PrivateDir).
	CacheDir string
	// Limits are the defaults for every plugin; zero fields take
	// DefaultLimits.
	Limits Limits
	// Logger receives load messages and plugin logs. Default slog.Default().
	Logger *slog.Logger
	// CacheFallback keeps the cache in memory, with a warning, when
	// CacheDir cannot be used, instead of failing NewEngine. It suits a
	// CacheDir the operator did not choose (DefaultCacheDir).
	CacheFallback bool
	// PluginLimits, if set, returns the overrides for the plugin called
	// name; they apply to every load, between the limits passed to Load
	// and Limits. It is called on every load, so it may read a
	// configuration that changes.
	PluginLimits func(name string) Limits
	// LoadTimeout bounds each of the two steps of loading a file:
	// compiling it; then starting its first instance (its start function
	// and _initialize) and calling describe. Default 10 s.
	LoadTimeout time.Duration
}

// Engine compiles and validates plugin files. It is safe for concurrent use.
type Engine struct {
	cache        wazero.CompilationCache
	limits       Limits
	pluginLimits func(name string) Limits
	log          *slog.Logger
	loadTimeout  time.Duration
	compiles     sync.WaitGroup // compiles a load gave up waiting for
}

// NewEngine returns an Engine for cfg.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	lim := cfg.Limits.Merge(DefaultLimits)
	if err := lim.Validate(); err != nil {
		return nil, fmt.Errorf("engine limits: %w", err)
	}
	e := &Engine{limits: lim, pluginLimits: cfg.PluginLimits, log: cfg.Logger, loadTimeout: cfg.LoadTimeout}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.loadTimeout <= 0 {
		e.loadTimeout = defaultLoadTimeout
	}
	if cfg.CacheDir == "" {
		e.cache = wazero.NewCompilationCache()
	} else {
		c, err := dirCache(cfg.CacheDir)
		switch {
		case err == nil:
			e.cache = c
		case cfg.CacheFallback:
			e.log.Warn("compilation cache directory unusable; caching in memory", "dir", cfg.CacheDir, "err", err)
			e.cache = wazero.NewCompilationCache()
		default:
			return nil, err
		}
	}
	return e, nil
}

// dirCache opens a compilation cache in dir, which it makes private.
func dirCache(dir string) (wazero.CompilationCache, error) {
	if err := PrivateDir(dir); err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
	}
	return c, nil
}

// DefaultCacheDir is where a daemon or command keeps its compilation cache
// unless told otherwise: os.UserCacheDir()/ffwasmhost, or "" when the user
// has no cache directory.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ffwasmhost")
}

// Limits returns the engine's default limits.
func (e *Engine) Limits() Limits { return e.limits }

// Close releases the compilation cache, after any compile that a load gave
// up waiting for has finished (the load bounds keep that short). Plugins
// must be closed first.
func (e *Engine) Close(ctx context.Context) error {
	e.compiles.Wait()
	return e.cache.Close(ctx)
}

// Plugin is a compiled plugin file that passed validation. Instances are
// created from it by a Runner.
type Plugin struct {
	// File is the path the plugin was loaded from.
	File string
	// SHA256 is the hex digest of the file's bytes.
	SHA256 string
	// Desc is what describe returned.
	Desc describe.Descriptor
	// Limits are the limits the plugin's instances run under.
	Limits Limits
	// LoadTime is how long compiling and validating took.
	LoadTime time.Duration

	rt  wazero.Runtime
	mod wazero.CompiledModule
	log *slog.Logger

	mu    sync.Mutex
	spare *instance // made for describe, handed to the first Runner
}

// Name returns the plugin's declared name.
func (p *Plugin) Name() string { return p.Desc.Name }

// Close closes the plugin's runtime and every instance still open.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	p.spare = nil
	p.mu.Unlock()
	return p.rt.Close(ctx)
}

// Load reads, compiles and validates the plugin file at path. lim overrides
// the plugin's limits (EngineConfig.PluginLimits) and the engine's, field by
// field. Every error names the file.
func (e *Engine) Load(ctx context.Context, path string, lim Limits) (*Plugin, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", path, err)
	}
	return e.LoadBytes(ctx, path, wasm, lim)
}

// defaultLoadTimeout bounds each step of a load: compiling; then the
// first instance's start function and _initialize, and describe.
const defaultLoadTimeout = 10 * time.Second

// LoadBytes is Load for a module already in memory; file names it in
// errors and in Plugin.File.
func (e *Engine) LoadBytes(ctx context.Context, file string, wasm []byte, lim Limits) (*Plugin, error) {
	start := time.Now()
	p, err := e.loadNamed(ctx, file, wasm, lim)
	if err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", filepath.Base(file), err)
	}
	p.LoadTime = time.Since(start)
	return p, nil
}

// loadNamed loads wasm, then, if the name it describes has limits of its
// own that change the plugin's, loads it again under them (the second
// compile is a cache hit).
func (e *Engine) loadNamed(ctx context.Context, file string, wasm []byte, lim Limits) (*Plugin, error) {
	p, err := e.load(ctx, file, wasm, lim)
	if err != nil || e.pluginLimits == nil {
		return p, err
	}
	name := p.Desc.Name
	own := lim.Merge(e.pluginLimits(name))
	if own.Merge(e.limits) == p.Limits {
		return p, nil
	}
	p.Close(ctx)
	if p, err = e.load(ctx, file, wasm, own); err != nil {
		return nil, fmt.Errorf("under the limits of plugin %s: %w", name, err)
	}
	if p.Desc.Name != name { // describe is guest code: it may change its mind
		p.Close(ctx)
		return nil, fmt.Errorf("describe named the plugin %q, then %q", name, p.Desc.Name)
	}
	return p, nil
}

func (e *Engine) load(ctx context.Context, file string, wasm []byte, lim Limits) (p *Plugin, err error) {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module (bad magic number)")
	}
	lim = lim.Merge(e.limits)
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	// Instead of wazero's WithCloseOnContextDone, which leaves compiled code
	// for Go at every loop header, the module checks a flag itself; the
	// rewrite also checks the load bounds, before anything is compiled.
	code, err := loopcheck.Instrument(wasm, lim.bounds())
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	sum := sha256.Sum256(wasm)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(lim.memoryPages()).
		WithMemoryCapacityFromMax(true))
	closeRT := true // unless an abandoned compile still uses it
	defer func() {
		if err != nil && closeRT {
			rt.Close(ctx)
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		return nil, fmt.Errorf("instantiate host module: %w", err)
	}
	mod, compiling, err := e.compileWithin(ctx, rt, code)
	if err != nil {
		if compiling {
			closeRT = false
		}
		return nil, err
	}
	if err := checkImports(rt, mod); err != nil {
		return nil, err
	}
	if err := checkExports(mod); err != nil {
		return nil, err
	}
	p = &Plugin{File: file, SHA256: hex.EncodeToString(sum[:]), Limits: lim, rt: rt, mod: mod}
	p.log = e.log.With("plugin", filepath.Base(file))
	lctx, cancel := context.WithTimeout(ctx, e.loadTimeout)
	defer cancel()
	inst, err := p.newInstance(lctx)
	if err != nil {
		return nil, e.loadDeadline(lctx, err)
	}
	desc, err := inst.describe(lctx, lim.MaxOutputBytes)
	if err != nil {
		inst.close(ctx)
		return nil, e.loadDeadline(lctx, err)
	}
	p.Desc = desc
	p.log = e.log.With("plugin", desc.Name)
	inst.log = p.log
	p.spare = inst
	return p, nil
}

// loadDeadline says so when err is a guest stopped by the load deadline.
func (e *Engine) loadDeadline(lctx context.Context, err error) error {
	if errors.Is(err, ErrTimeout) && errors.Is(lctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("not done within the load deadline of %v (%w)", e.loadTimeout, err)
	}
	return err
}

// compileWithin compiles code in rt, giving up after the load timeout or
// when ctx ends. wazero's CompileModule does not watch its context, so it
// runs on its own goroutine. When compileWithin gives up it reports owned:
// that goroutine finishes the abandoned compile (the load bounds keep it
// finite) and then closes rt, which the caller must then leave alone.
func (e *Engine) compileWithin(ctx context.Context, rt wazero.Runtime, code []byte) (mod wazero.CompiledModule, owned bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.loadTimeout)
	defer cancel()
	done := make(chan compiled, 1)
	abandoned := make(chan struct{})
	e.compiles.Add(1)
	go func() {
		defer e.compiles.Done()
		r := compile(context.WithoutCancel(ctx), rt, code)
		select {
		case <-abandoned:
			rt.Close(context.Background())
		default:
			done <- r
		}
	}()
	var r compiled
	select {
	case r = <-done:
	case <-ctx.Done():
		close(abandoned)
		select { // the compile may have finished meanwhile
		case r = <-done:
			if r.mod != nil {
				r.mod.Close(context.Background())
			}
		default:
			owned = true
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, owned, fmt.Errorf("compile: not done within the load deadline of %v", e.loadTimeout)
		}
		return nil, owned, fmt.Errorf("compile: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, false, fmt.Errorf("compile: %w", r.err)
	}
	return r.mod, false, nil
}

// compiled is what compiling a module gave.
type compiled struct {
	mod wazero.CompiledModule
	err error
}

// compile compiles code in rt, turning a panic of the compiler's into an
// error: wazero v1.12 panics on some invalid modules (the rewrite refuses
// those it knows of), and a plugin file must not bring the host down.
func compile(ctx context.Context, rt wazero.Runtime, code []byte) (r compiled) {
	defer func() {
		if p := recover(); p != nil {
			r = compiled{err: fmt.Errorf("the compiler panicked: %v", p)}
		}
	}()
	r.mod, r.err = rt.CompileModule(ctx, code)
	return r
}

// checkImports refuses a module that imports anything the host does not
// provide with exactly the signature it provides.
func checkImports(rt wazero.Runtime, mod wazero.CompiledModule) error {
	if n := len(mod.ImportedMemories()); n > 0 {
		return errors.New("imports a memory; a plugin must define its own")
	}
	for _, f := range mod.ImportedFunctions() {
		modName, name, _ := f.Import()
		host := rt.Module(modName)
		if host == nil {
			return fmt.Errorf("imports %s.%s from module %q, which the host does not provide", modName, name, modName)
		}
		d, ok := host.ExportedFunctionDefinitions()[name]
		if !ok {
			return fmt.Errorf("imports %s.%s, which the host does not provide", modName, name)
		}
		if !slices.Equal(d.ParamTypes(), f.ParamTypes()) || !slices.Equal(d.ResultTypes(), f.ResultTypes()) {
			return fmt.Errorf("imports %s.%s as %s, host provides %s", modName, name, signature(f), signature(d))
		}
	}
	return nil
}

// requiredExports are the functions every plugin exports, by signature.
var requiredExports = map[string][2][]api.ValueType{
	abi.ExportDescribe: {nil, {api.ValueTypeI64}},
	abi.ExportScanTick: {{api.ValueTypeI64}, {api.ValueTypeI32}},
}

func checkExports(mod wazero.CompiledModule) error {
	exports := mod.ExportedFunctions()
	for _, name := range slices.Sorted(maps.Keys(requiredExports)) {
		sig := requiredExports[name]
		f, ok := exports[name]
		if !ok {
			return fmt.Errorf("missing export %q (ABI %s requires describe and scan_tick)", name, abi.Version)
		}
		if !slices.Equal(f.ParamTypes(), sig[0]) || !slices.Equal(f.ResultTypes(), sig[1]) {
			return fmt.Errorf("export %q has signature %s, want %s", name, signature(f), sigString(sig[0], sig[1]))
		}
	}
	if _, ok := mod.ExportedMemories()["memory"]; !ok {
		return errors.New(`missing export "memory"`)
	}
	return nil
}

func signature(f api.FunctionDefinition) string { return sigString(f.ParamTypes(), f.ResultTypes()) }

func sigString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}
