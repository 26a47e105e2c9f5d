package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Report is what one tick did, as the plugin reported it.
type Report struct {
	Processed int64 `json:"processed"`
	Errors    int64 `json:"errors"`
	// More is true when the tick stopped with work left (tick_more, ABI
	// 1.1).
	More bool `json:"more,omitempty"`
}

// RunnerOptions configure a Runner. The zero value is usable.
type RunnerOptions struct {
	// DryRun runs every tick inside one outer transaction that Close rolls
	// back; the plugin's own transactions become savepoints. Ticks see each
	// other's changes, nothing reaches the database.
	DryRun bool
	// Denied is called for every statement the sandbox refuses, after the
	// runner has logged it at warn with the plugin's name.
	Denied func(store.Denial)
	// LockHeld, if set, is told how long each plugin transaction held the
	// database's write lock, from BEGIN IMMEDIATE to COMMIT or ROLLBACK.
	LockHeld func(time.Duration)
	// LogDropped, if set, is told after a tick how many of its log lines
	// were dropped: over MaxLogLines, and over the plugin's log rate.
	LogDropped func(overTickLimit, overRate int)
	// Changed, if set, is told after every tick what it wrote: rows
	// inserted, updated and deleted by table, as committed (or, in a dry
	// run, as they would be), and with Diff the rows themselves, up to
	// MaxDiffRows.
	Changed     func(store.Changes)
	Diff        bool
	MaxDiffRows int
	// Config are the values config_get returns, by key, as ResolveConfig
	// gives them (ConfigValues); a declared key missing here gets its
	// default.
	Config map[string]string
}

// Runner binds a Plugin to a store and runs its ticks one at a time on a
// connection of its own, reusing one wasm instance until a tick fails.
type Runner struct {
	p       *Plugin
	conn    store.Conn
	log     *slog.Logger
	dialect int32 // abi.DialectSQLite or abi.DialectPostgres

	mu     sync.Mutex
	inst   guest
	st     callState
	closed bool

	changed     func(store.Changes)
	config      map[string]string // config_get's values
	logRate     *logRate          // the plugin's log rate, across ticks
	logDropped  func(overTickLimit, overRate int)
	rateDropped int       // lines dropped over the rate since the last warning
	rateWarned  time.Time // when that warning was last logged
}

// rateWarnEvery is how often a runner says it drops log lines over the
// plugin's log rate: the warning must not become the flood.
const rateWarnEvery = 10 * time.Second

// ErrDialect is wrapped by NewRunner when the plugin does not speak the
// store's SQL dialect (its descriptor's dialects, ABI 1.4).
var ErrDialect = errors.New("plugin does not speak the database's SQL dialect")

// NewRunner opens the plugin's connection to st, sandboxed to the tables
// the plugin declares. A plugin that does not list st's dialect among its
// dialects (ABI 1.4; a plugin that lists none speaks SQLite only) is
// refused with an error wrapping ErrDialect.
func NewRunner(ctx context.Context, st store.Store, p *Plugin, opts RunnerOptions) (*Runner, error) {
	if !p.Desc.Supports(string(st.Dialect())) {
		why := ""
		if len(p.Desc.Dialects) == 0 {
			why = fmt.Sprintf(" (ABI %s, no dialects declared)", p.Desc.ABIVersion)
		}
		return nil, fmt.Errorf("plugin %s speaks %s only%s, database %s is %s: %w",
			p.Desc.Name, p.Desc.DialectList(), why, st.Location(), st.Dialect(), ErrDialect)
	}
	r := &Runner{p: p, log: p.log, logRate: newLogRate(p.Limits, time.Now()), logDropped: opts.LogDropped}
	if st.Dialect() == store.Postgres {
		r.dialect = abi.DialectPostgres
	}
	denied := func(d store.Denial) {
		// Called during a tick, with r.mu held: r.st is this tick's state.
		if r.st.denials++; r.st.denials <= maxDenialLogs {
			r.log.Warn("statement denied", "action", d.Action, "object", d.Object, "reason", d.Reason)
		}
		if opts.Denied != nil {
			opts.Denied(d)
		}
	}
	conn, err := st.OpenConn(ctx, store.ConnSpec{
		Plugin: p.Desc.Name, Reads: p.Desc.Reads, Writes: p.Desc.WriteTables(),
		MaxCallBytes: p.Limits.MaxCallBytes, MaxResultBytes: p.Limits.MaxResultBytes,
		DryRun: opts.DryRun, Denied: denied, LockHeld: opts.LockHeld, Diff: opts.Diff, MaxDiffRows: opts.MaxDiffRows,
	})
	if err != nil {
		return nil, err
	}
	r.conn, r.changed = conn, opts.Changed
	r.config = make(map[string]string, len(p.Desc.Config))
	for _, k := range p.Desc.Config {
		r.config[k.Name], _ = describe.CanonicalConfigValue(k.Type, k.Default) // Validate checked it
		if v, ok := opts.Config[k.Name]; ok {
			r.config[k.Name] = v
		}
	}
	return r, nil
}

// Plugin returns the plugin the runner runs.
func (r *Runner) Plugin() *Plugin { return r.p }

// maxDenialLogs is how many denied statements one tick logs one by one;
// the rest are counted in one line at the end of the tick.
const maxDenialLogs = 10

// ErrLeftOpen is wrapped by a tick that ended with its transaction open; the
// store rolled it back.
var ErrLeftOpen = store.ErrLeftOpen

// ErrDryRunLost is wrapped by every tick of a dry run after the database
// ended its outer transaction on its own.
var ErrDryRunLost = store.ErrDryRunLost

// ErrClosed is returned by Tick after Close.
var ErrClosed = errors.New("runner closed")

// Tick runs scan_tick(nowMS) once for partition 0, unfenced; see
// TickPartition.
func (r *Runner) Tick(ctx context.Context, nowMS int64) (Report, error) {
	return r.TickPartition(ctx, nowMS, 0, nil)
}

// ErrNoFence is returned by TickPartition for a fence the store cannot
// apply.
var ErrNoFence = errors.New("the database cannot fence a plugin's writes")

// TickPartition runs scan_tick(nowMS) once for partition (tick_partition,
// ABI 1.4) and returns the plugin's report. A non-nil fence is checked
// before every write of the tick commits (store.Fencer); the tick does not
// run on a store that cannot fence. A tick fails if the plugin returns non-zero, traps, runs past its TickTimeout or
// leaves a transaction open; any failure discards the instance, and a
// transaction still open is rolled back, so nothing is half-applied.
func (r *Runner) TickPartition(ctx context.Context, nowMS int64, partition int, fence store.Fence) (Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Report{}, ErrClosed
	}
	if f, ok := r.conn.(store.Fencer); ok {
		f.SetFence(fence)
	} else if fence != nil {
		return Report{}, ErrNoFence
	}
	lim := r.p.Limits
	tctx, cancel := context.WithTimeout(ctx, lim.TickTimeout)
	defer cancel()
	if r.inst == nil { // a new instance's start counts against the tick
		inst, err := r.p.takeInstance(tctx)
		if err != nil {
			if errors.Is(err, ErrTimeout) {
				err = fmt.Errorf("start instance: %w after %v", ErrTimeout, lim.TickTimeout)
			}
			return Report{}, err
		}
		r.inst = inst
	}
	st := &r.st
	*st = callState{conn: r.conn, limits: lim, config: r.config, log: r.log, buf: st.buf[:0], logRate: r.logRate,
		partition: int32(partition), dialect: r.dialect}

	var (
		called  bool
		status  int32
		callErr error
		overran error // the tick's context ended before scan_tick returned
	)
	// Whatever the plugin does, and however the tick ends, the connection
	// rolls back what it left open, under a context the tick's end does
	// not reach.
	connErr := r.conn.Tick(tctx, nowMS, func() {
		called = true
		status, callErr = r.inst.call(withState(tctx, st), nowMS)
		overran = tctx.Err()
	})
	r.reportDropped(st, lim)
	if r.changed != nil && called {
		r.changed(r.conn.Changes())
	}
	if n := st.denials - maxDenialLogs; n > 0 {
		r.log.Warn("more statements denied than logged", "denied", st.denials, "not_logged", n)
	}
	var err error
	switch {
	case !called:
		err = connErr
	case errors.Is(callErr, ErrTimeout), errors.Is(overran, context.DeadlineExceeded):
		// A tick that overran its deadline failed, even if the guest,
		// its statement interrupted, then returned 0.
		err = fmt.Errorf("%w after %v", ErrTimeout, lim.TickTimeout)
	case callErr != nil:
		err = callErr
	case overran != nil:
		err = fmt.Errorf("tick aborted: %w", overran)
	case status != 0:
		msg := st.tickErr
		if msg == "" {
			msg = fmt.Sprintf("scan_tick returned %d", status)
		}
		err = errors.New(msg)
	}
	if called && connErr != nil {
		if errors.Is(connErr, ErrLeftOpen) {
			r.log.Warn("plugin fault: transaction left open at the end of its tick; rolled back")
		}
		if errors.Is(connErr, ErrDryRunLost) && !errors.Is(err, ErrDryRunLost) {
			r.log.Warn("dry run ended: the database rolled back its transaction")
		}
		err = errors.Join(err, connErr)
	}
	if err != nil || r.inst.spent() { // tripped: the deadline hit as the tick ended
		r.inst.close(ctx)
		r.inst = nil
	}
	st.pending = nil
	return st.rep, err
}

// reportDropped logs and reports the log lines a tick dropped: those over
// the per-tick limit at once, those over the rate at most every
// rateWarnEvery, with the count since the last warning.
func (r *Runner) reportDropped(st *callState, lim Limits) {
	if st.dropped == 0 && st.rateDropped == 0 {
		return
	}
	if st.dropped > 0 {
		r.log.Warn("plugin log lines dropped", "dropped", st.dropped, "limit", lim.MaxLogLines)
	}
	r.rateDropped += st.rateDropped
	if now := time.Now(); r.rateDropped > 0 && now.Sub(r.rateWarned) >= rateWarnEvery {
		r.log.Warn("plugin log lines dropped over its log rate", "dropped", r.rateDropped,
			"lines_per_second", lim.LogLinesPerSecond, "bytes_per_second", lim.LogBytesPerSecond)
		r.rateDropped, r.rateWarned = 0, now
	}
	if r.logDropped != nil {
		r.logDropped(st.dropped, st.rateDropped)
	}
}

// Close rolls back a dry run's transaction, closes the instance and the
// connection. The Plugin stays open. Later calls do nothing.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.inst != nil {
		r.inst.close(ctx)
		r.inst = nil
	}
	if err := r.conn.Close(ctx); err != nil {
		return fmt.Errorf("close connection of %s: %w", r.p.Desc.Name, err)
	}
	return nil
}

// MemoryBytes returns the size of the current instance's linear memory, or
// 0 if no instance is live. A size that keeps growing across ticks is a
// guest leak.
func (r *Runner) MemoryBytes() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inst == nil {
		return 0
	}
	return r.inst.memoryBytes()
}
