package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
)

// guest is one live instance of a plugin, of either kind.
type guest interface {
	// describe calls describe and parses its descriptor.
	describe(ctx context.Context, maxBytes uint32) (describe.Descriptor, error)
	// call runs scan_tick(nowMS) and returns its status.
	call(ctx context.Context, nowMS int64) (int32, error)
	// spent reports that the instance must not run again.
	spent() bool
	// memoryBytes is the size of the instance's memory.
	memoryBytes() uint64
	close(ctx context.Context)
}

// newGuest starts a fresh instance of p.
func (p *Plugin) newGuest(ctx context.Context) (guest, error) {
	if p.Kind == KindExtism {
		return p.newExtismInstance(ctx)
	}
	return p.newInstance(ctx)
}

// instance is one live wasm instance of a plugin. Instances are reused
// across ticks and discarded after any trap, timeout or failed tick.
type instance struct {
	mod       api.Module
	scanTick  api.Function
	interrupt api.MutableGlobal // loopcheck's flag: 1 stops the guest at its next loop
	tripped   atomic.Bool       // the flag was set; the instance must not run again
	stderr    *headBuffer
	log       *slog.Logger
	stack     [1]uint64
}

// newInstance starts a fresh instance: no filesystem, no environment, no
// arguments, no network, a fake wall clock (the tick's now_ms is the only
// real time a plugin sees) and a real monotonic clock and sleep, so the
// guest's busy backoff actually waits.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	errOut := &headBuffer{max: 4 << 10}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // the start function and _initialize run below, under ctx's deadline
		WithSysNanotime().
		WithNanosleep(sliceSleep).
		WithStdout(errOut).
		WithStderr(errOut)
	mod, err := p.rt.InstantiateModule(withLinearMemory(ctx), p.mod, cfg)
	if err != nil {
		return nil, fmt.Errorf("start instance: %w", describeTrap(err, errOut))
	}
	flag, ok := mod.ExportedGlobal(loopcheck.GlobalName).(api.MutableGlobal)
	if !ok { // the engine instruments every module it compiles
		mod.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("start instance: no %s global", loopcheck.GlobalName)
	}
	inst := &instance{mod: mod, scanTick: mod.ExportedFunction(abi.ExportScanTick), interrupt: flag, stderr: errOut, log: p.log}
	// The module's start function (which the rewrite turned into an
	// export), then _initialize: both under ctx's deadline.
	for _, f := range []struct{ export, what string }{
		{loopcheck.StartName, "start function"},
		{abi.ExportInitialize, abi.ExportInitialize},
	} {
		fn := mod.ExportedFunction(f.export)
		if fn == nil {
			continue
		}
		if err := inst.guard(ctx, func() error { _, err := fn.Call(ctx); return err }); err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("start instance: %s: %w", f.what, err)
		}
	}
	return inst, nil
}

// guard runs call, which calls into the instance, and stops the guest at
// its next loop once ctx ends: the tick timeout holds even for a guest
// spinning in `for {}`. Errors are one line (describeTrap); a guest stopped
// this way fails with ErrTimeout or ctx's cancellation.
func (i *instance) guard(ctx context.Context, call func() error) error {
	if i.tripped.Load() {
		return fmt.Errorf("%w: instance was interrupted", ErrTrap)
	}
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	stop := context.AfterFunc(ctx, i.trip)
	err := call()
	stop()
	if err != nil && i.tripped.Load() {
		return ctxError(ctx.Err())
	}
	if err != nil {
		return describeTrap(err, i.stderr)
	}
	return nil
}

// trip sets the interrupt flag. It runs on the goroutine of the context's
// AfterFunc, concurrently with the guest, which reads the flag at its loop
// headers; it is the flag's only writer.
func (i *instance) trip() {
	if i.tripped.CompareAndSwap(false, true) {
		i.interrupt.Set(1)
	}
}

// ctxError maps the end of a call's context to the error a call reports.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// sliceSleep is the guest's sleep: at most 10 ms at a time. A guest that
// asked for longer finds its clock short and sleeps again, re-entering wasm
// code where a tick past its deadline is stopped; one long host sleep could
// not be interrupted.
func sliceSleep(ns int64) { time.Sleep(min(time.Duration(ns), maxSleepSlice)) }

const maxSleepSlice = 10 * time.Millisecond

// takeInstance returns the spare instance made at load, or a new one.
func (p *Plugin) takeInstance(ctx context.Context) (guest, error) {
	p.mu.Lock()
	inst := p.spare
	p.spare = nil
	p.mu.Unlock()
	if inst != nil && !inst.spent() {
		return inst, nil
	}
	if inst != nil {
		inst.close(ctx)
	}
	return p.newGuest(ctx)
}

func (i *instance) spent() bool { return i.tripped.Load() }

func (i *instance) memoryBytes() uint64 { return uint64(i.mod.Memory().Size()) }

func (i *instance) close(ctx context.Context) {
	if err := i.mod.Close(context.WithoutCancel(ctx)); err != nil {
		i.log.Debug("close instance", "err", err)
	}
}

// describe calls the describe export and parses its descriptor.
func (i *instance) describe(ctx context.Context, maxBytes uint32) (describe.Descriptor, error) {
	fn := i.mod.ExportedFunction(abi.ExportDescribe)
	st := &callState{limits: Limits{MaxOutputBytes: maxBytes}, log: i.log}
	var res []uint64
	err := i.guard(ctx, func() (err error) {
		res, err = fn.Call(withState(ctx, st))
		return err
	})
	if err != nil {
		if strings.Contains(err.Error(), goCommandTrap) {
			return describe.Descriptor{}, fmt.Errorf("describe: %w: build it with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (%w)", ErrGoCommand, err)
		}
		return describe.Descriptor{}, fmt.Errorf("describe: %w", err)
	}
	ptr, n := abi.UnpackPtr(res[0])
	if n == 0 {
		return describe.Descriptor{}, ErrNoDescriptor
	}
	if n > maxBytes || n > describe.MaxSize {
		return describe.Descriptor{}, fmt.Errorf("describe: %d bytes, limit %d", n, min(maxBytes, describe.MaxSize))
	}
	b, ok := i.mod.Memory().Read(ptr, n)
	if !ok {
		return describe.Descriptor{}, fmt.Errorf("describe: result (%d, %d) is outside guest memory", ptr, n)
	}
	return describe.Parse(bytes.Clone(b))
}

// call runs scan_tick(nowMS) and returns its status.
func (i *instance) call(ctx context.Context, nowMS int64) (int32, error) {
	i.stack[0] = uint64(nowMS)
	if err := i.guard(ctx, func() error { return i.scanTick.CallWithStack(ctx, i.stack[:]) }); err != nil {
		return 0, err
	}
	return int32(uint32(i.stack[0])), nil
}

// ErrTimeout is wrapped by a tick that ran past its plugin's TickTimeout.
var ErrTimeout = errors.New("tick timeout")

// ErrGoCommand is wrapped by the load error of a Go plugin built as a
// program, without -buildmode=c-shared: its runtime was never started, and
// its exports trap.
var ErrGoCommand = errors.New("the module is a Go program built without -buildmode=c-shared")

// goCommandTrap is what the Go runtime writes when an export of a Go
// program that was never started is called.
const goCommandTrap = "wasmexport function called before runtime initialization"

// ErrNoDescriptor is returned when describe returns an empty descriptor:
// with the Go SDK, a plugin that never called guest.Register.
var ErrNoDescriptor = errors.New("describe returned nothing: does the plugin call guest.Register in an init function?")

// ErrTrap is wrapped by a tick whose instance trapped or exited.
var ErrTrap = errors.New("plugin trapped")

// describeTrap turns an error from a wasm call into one line: a timeout, an
// exit, or a trap with the first line the guest wrote to stderr.
func describeTrap(err error, errOut *headBuffer) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return ErrTimeout
		case sys.ExitCodeContextCanceled:
			return context.Canceled
		}
		if line := errOut.firstLine(); line != "" {
			return fmt.Errorf("%w: exited with code %d: %s", ErrTrap, exit.ExitCode(), line)
		}
		return fmt.Errorf("%w: exited with code %d", ErrTrap, exit.ExitCode())
	}
	msg := firstLine(err.Error())
	if line := errOut.firstLine(); line != "" {
		msg += ": " + line
	}
	return fmt.Errorf("%w: %s", ErrTrap, msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// headBuffer keeps the first max bytes written to it: a guest's panic
// message, without letting a chatty guest grow host memory.
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) firstLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return firstLine(string(t.b))
}
