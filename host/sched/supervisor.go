package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Report is what one tick did: items processed, and items that failed
// while the tick as a whole succeeded.
type Report struct {
	Processed int64 `json:"processed"`
	Errors    int64 `json:"errors"`
	// More is true when the tick stopped with work left: a job with Drain
	// set ticks again after a short pause.
	More bool `json:"more,omitempty"`
}

// Job is one periodic reconciler the supervisor runs.
type Job struct {
	// Name identifies the job in logs and status; unique per supervisor.
	Name string
	// Interval is the pause between the end of one tick and the start of
	// the next. Zero disables the job: it is never spawned.
	Interval time.Duration
	// Tick runs one tick at now. It must honour ctx, which is cancelled
	// only when Shutdown's grace runs out.
	Tick func(ctx context.Context, now time.Time) (Report, error)
	// Drain, if set, opts the job into draining a backlog: after a tick
	// that succeeded and reported More, the next one comes after
	// Drain.Pause instead of a full interval. Nil keeps FlowFabric's
	// cadence.
	Drain *Drain
	// CatchUp runs the first tick as soon as the loop starts instead of
	// one interval later: for a job that is overdue (the daemon decides).
	CatchUp bool
}

// Drain is a job's backlog drain.
type Drain struct {
	// Pause is the wait between drain ticks. It lets other writers take
	// the database's write lock between them. Default DefaultDrainPause.
	Pause time.Duration
	// MaxTicks caps the drain ticks in a row; after them the job waits a
	// full interval before it may drain again. Default DefaultDrainMaxTicks.
	MaxTicks int
}

// Drain defaults.
const (
	DefaultDrainPause    = 50 * time.Millisecond
	DefaultDrainMaxTicks = 1000
)

// SupervisorConfig configures a Supervisor. The zero value is usable.
type SupervisorConfig struct {
	// Clock drives the timers and now; default SystemClock.
	Clock Clock
	// Logger receives one line per tick; default slog.Default().
	Logger *slog.Logger
	// MaxBackoff caps the delay after consecutive failed ticks: the n-th
	// failure in a row waits Interval·2ⁿ, at most max(MaxBackoff, Interval).
	// Default 5 minutes. A successful tick resets it.
	MaxBackoff time.Duration
	// OnTick, if set, is called after every tick from the job's goroutine.
	OnTick func(TickResult)
}

// DefaultMaxBackoff is SupervisorConfig.MaxBackoff's default.
const DefaultMaxBackoff = 5 * time.Minute

// TickResult describes one finished tick.
type TickResult struct {
	Job      string
	Start    time.Time
	Duration time.Duration
	Report   Report
	Err      error
	Next     time.Time // when the next tick is due
}

// JobStatus is a job's state, as Status reports it.
type JobStatus struct {
	Name                string
	Interval            time.Duration
	Ticks, Failures     int64
	ConsecutiveFailures int
	Last                *TickResult // nil before the first tick
	Next                time.Time   // when the next tick is due
}

// ErrAlreadyStarted is returned by a second Start, which does nothing else.
var ErrAlreadyStarted = errors.New("supervisor already started")

// ErrShutdown is returned by Add after Shutdown.
var ErrShutdown = errors.New("supervisor shut down")

// Supervisor runs one tick loop per enabled job, FlowFabric's scanner
// supervisor semantics:
//   - a job's ticks never overlap;
//   - interval zero disables a job;
//   - the first tick comes one interval after the loop starts;
//   - the next tick comes one interval after the previous one ends, so a
//     slow tick delays it and missed ticks are never replayed;
//   - a failed tick is logged at warn and the loop goes on (with backoff);
//   - Shutdown signals every loop, waits up to a grace period, then aborts
//     the rest and reports how many did not exit in time.
type Supervisor struct {
	clock  Clock
	log    *slog.Logger
	maxBO  time.Duration
	onTick func(TickResult)

	abortCtx context.Context
	abort    context.CancelFunc

	mu       sync.Mutex
	started  bool
	shutdown bool
	loops    map[string]*loop
}

type loop struct {
	job  Job
	stop chan struct{} // closed to ask the loop to exit after its tick
	done chan struct{} // closed when the loop has exited

	mu     sync.Mutex
	status JobStatus
}

// NewSupervisor returns a supervisor with no jobs.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	s := &Supervisor{clock: cfg.Clock, log: cfg.Logger, maxBO: cfg.MaxBackoff, onTick: cfg.OnTick, loops: map[string]*loop{}}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBO <= 0 {
		s.maxBO = DefaultMaxBackoff
	}
	s.abortCtx, s.abort = context.WithCancel(context.Background())
	return s
}

// Add registers job. Before Start it waits for Start; after Start its loop
// begins at once, first tick one interval later. A job with interval zero
// is logged as disabled and not spawned.
func (s *Supervisor) Add(job Job) error {
	if job.Name == "" || job.Tick == nil {
		return errors.New("add job: name and tick are required")
	}
	if job.Interval < 0 {
		return fmt.Errorf("add job %s: negative interval %v", job.Name, job.Interval)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return fmt.Errorf("add job %s: %w", job.Name, ErrShutdown)
	}
	if _, dup := s.loops[job.Name]; dup {
		return fmt.Errorf("add job %s: a job of that name is running", job.Name)
	}
	if job.Interval == 0 {
		s.log.Info("job disabled: interval is zero", "plugin", job.Name)
		return nil
	}
	l := &loop{job: job, stop: make(chan struct{}), done: make(chan struct{})}
	l.status = JobStatus{Name: job.Name, Interval: job.Interval}
	s.loops[job.Name] = l
	if s.started {
		s.spawn(l)
	}
	return nil
}

// Remove asks the named job's loop to exit after its current tick and
// returns a channel closed once it has. It reports false if no such job runs.
func (s *Supervisor) Remove(name string) (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.loops[name]
	if !ok {
		return nil, false
	}
	delete(s.loops, name)
	close(l.stop)
	if !s.started {
		close(l.done)
	}
	return l.done, true
}

// Start spawns every registered loop; they are all running when it returns.
// A second call does nothing and returns ErrAlreadyStarted.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		s.log.Warn("supervisor start called again; ignored")
		return ErrAlreadyStarted
	}
	if s.shutdown {
		return ErrShutdown
	}
	s.started = true
	for _, name := range slices.Sorted(maps.Keys(s.loops)) {
		s.spawn(s.loops[name])
	}
	s.log.Info("supervisor started", "jobs", len(s.loops))
	return nil
}

func (s *Supervisor) spawn(l *loop) {
	l.mu.Lock()
	l.status.Next = s.clock.Now().Add(s.firstDelay(l.job))
	l.mu.Unlock()
	go s.run(l)
}

// firstDelay is the wait before a job's first tick: one interval, or none
// for a job that catches up.
func (s *Supervisor) firstDelay(job Job) time.Duration {
	if job.CatchUp {
		return 0
	}
	return job.Interval
}

// Shutdown signals every loop to stop after its current tick, waits up to
// grace for them, then cancels the ticks still running and returns how many
// loops had not exited in time. Later calls return 0 and do nothing.
func (s *Supervisor) Shutdown(grace time.Duration) int {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return 0
	}
	s.shutdown = true
	loops := make([]*loop, 0, len(s.loops))
	for _, l := range s.loops {
		close(l.stop)
		loops = append(loops, l)
	}
	started := s.started
	s.loops = map[string]*loop{}
	s.mu.Unlock()
	if !started {
		s.abort()
		return 0
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	late := 0
	for _, l := range loops {
		select {
		case <-l.done:
		case <-deadline.C:
			// Count before aborting: an aborted tick ends at once, and a
			// loop that only ended because of the abort was still late.
			for _, l := range loops {
				select {
				case <-l.done:
				default:
					late++
					s.log.Warn("job did not stop within grace; aborting", "plugin", l.job.Name, "grace", grace)
				}
			}
			s.abort()
			return late
		}
	}
	s.abort()
	return 0
}

// Status returns every running job's status, sorted by name.
func (s *Supervisor) Status() []JobStatus {
	s.mu.Lock()
	loops := make([]*loop, 0, len(s.loops))
	for _, l := range s.loops {
		loops = append(loops, l)
	}
	s.mu.Unlock()
	out := make([]JobStatus, 0, len(loops))
	for _, l := range loops {
		l.mu.Lock()
		st := l.status
		if st.Last != nil {
			last := *st.Last
			st.Last = &last
		}
		l.mu.Unlock()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// delay is the wait before the next tick after failures failed ticks in a
// row.
func (s *Supervisor) delay(interval time.Duration, failures int) time.Duration {
	d := interval
	limit := max(s.maxBO, interval)
	for i := 0; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func (s *Supervisor) run(l *loop) {
	defer close(l.done)
	log := s.log.With("plugin", l.job.Name)
	failures, drained := 0, 0
	wait := s.firstDelay(l.job)
	drain := l.job.Drain
	if drain != nil {
		d := *drain
		if d.Pause <= 0 {
			d.Pause = DefaultDrainPause
		}
		if d.MaxTicks <= 0 {
			d.MaxTicks = DefaultDrainMaxTicks
		}
		drain = &d
	}
	for {
		t := s.clock.NewTimer(wait)
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C():
		}
		select { // a stop that raced the timer wins
		case <-l.stop:
			return
		default:
		}
		start := s.clock.Now()
		rep, err := l.job.Tick(s.abortCtx, start)
		end := s.clock.Now()
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		wait = s.delay(l.job.Interval, failures)
		draining := drain != nil && err == nil && rep.More && drained < drain.MaxTicks
		if draining {
			wait = drain.Pause
			drained++
		} else {
			drained = 0
		}
		res := TickResult{Job: l.job.Name, Start: start, Duration: end.Sub(start), Report: rep, Err: err,
			Next: end.Add(wait)}
		switch {
		case err != nil:
			log.Warn("tick failed", "duration", res.Duration, "processed", rep.Processed, "errors", rep.Errors,
				"consecutive_failures", failures, "next_in", wait, "err", err)
		case draining:
			log.Info("tick", "duration", res.Duration, "processed", rep.Processed, "errors", rep.Errors,
				"more", true, "next_in", wait, "drain_ticks", drained)
		default:
			log.Info("tick", "duration", res.Duration, "processed", rep.Processed, "errors", rep.Errors)
		}
		l.mu.Lock()
		l.status.Ticks++
		if err != nil {
			l.status.Failures++
		}
		l.status.ConsecutiveFailures = failures
		l.status.Last = &res
		l.status.Next = res.Next
		l.mu.Unlock()
		if s.onTick != nil {
			s.onTick(res)
		}
	}
}
