package sched_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

const interval = 10 * time.Second

// newSupervisor returns a supervisor on a fake clock logging to a buffer,
// shut down when the test ends.
func newSupervisor(t *testing.T) (*sched.Supervisor, *fakeClock, *testutil.SyncBuffer) {
	t.Helper()
	clock := newFakeClock()
	logs := &testutil.SyncBuffer{}
	s := sched.NewSupervisor(sched.SupervisorConfig{
		Clock:      clock,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		MaxBackoff: 4 * interval,
	})
	t.Cleanup(func() { s.Shutdown(5 * time.Second) })
	return s, clock, logs
}

// tickJob returns a job whose ticks are announced on the returned channel.
func tickJob(name string, every time.Duration, err error) (sched.Job, <-chan time.Time) {
	ticks := make(chan time.Time, 100)
	return sched.Job{Name: name, Interval: every, Tick: func(_ context.Context, now time.Time) (sched.Report, error) {
		ticks <- now
		return sched.Report{Processed: 1}, err
	}}, ticks
}

func TestSupervisorZeroIntervalIsDisabled(t *testing.T) {
	s, _, logs := newSupervisor(t)
	var called atomic.Bool
	err := s.Add(sched.Job{Name: "off", Interval: 0, Tick: func(context.Context, time.Time) (sched.Report, error) {
		called.Store(true)
		return sched.Report{}, nil
	}})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if st := s.Status(); len(st) != 0 {
		t.Errorf("Status() = %v, want no loops", st)
	}
	if n := s.Shutdown(time.Second); n != 0 || called.Load() {
		t.Errorf("Shutdown = %d, called = %v; want 0, false", n, called.Load())
	}
	if !strings.Contains(logs.String(), "disabled") {
		t.Errorf("log does not say the job is disabled:\n%s", logs)
	}
}

func TestSupervisorFirstTickOneIntervalAfterStart(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	job, ticks := tickJob("a", interval, nil)
	s.Add(job)
	start := clock.Now()
	s.Start()
	if due := clock.waitTimers(t, 1); !due[0].Equal(start.Add(interval)) {
		t.Fatalf("first tick due at %v, want start+interval %v", due[0], start.Add(interval))
	}
	clock.Advance(interval - time.Millisecond)
	select {
	case <-ticks:
		t.Fatal("ticked before one interval had passed")
	default:
	}
	clock.Advance(time.Millisecond)
	if now := testutil.WaitFor(t, ticks, "first tick"); !now.Equal(start.Add(interval)) {
		t.Errorf("tick now = %v, want %v", now, start.Add(interval))
	}
}

func TestSupervisorSlowTickDelaysNextWithoutReplay(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	release := make(chan struct{})
	var n atomic.Int32
	entered := make(chan struct{}, 10)
	s.Add(sched.Job{Name: "slow", Interval: interval, Tick: func(context.Context, time.Time) (sched.Report, error) {
		entered <- struct{}{}
		if n.Add(1) == 1 {
			<-release
		}
		return sched.Report{}, nil
	}})
	s.Start()
	clock.waitTimers(t, 1)
	clock.Advance(interval)
	testutil.WaitFor(t, entered, "first tick")
	clock.Advance(5 * interval) // five intervals pass inside the slow tick
	end := clock.Now()
	close(release)
	due := clock.waitTimers(t, 1)
	if !due[0].Equal(end.Add(interval)) {
		t.Errorf("next tick due at %v, want one interval after the slow tick ended (%v)", due[0], end.Add(interval))
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d ticks ran, want 1: missed ticks must not be replayed", got)
	}
}

func TestSupervisorFailingTickLogsWarnAndContinues(t *testing.T) {
	s, clock, logs := newSupervisor(t)
	job, ticks := tickJob("flaky", interval, errors.New("database on fire"))
	s.Add(job)
	s.Start()
	clock.waitTimers(t, 1)
	clock.Advance(interval)
	testutil.WaitFor(t, ticks, "first tick")
	// Backoff after one failure: two intervals.
	due := clock.waitTimers(t, 1)
	if want := clock.Now().Add(2 * interval); !due[0].Equal(want) {
		t.Errorf("after one failure next tick at %v, want %v (2x backoff)", due[0], want)
	}
	clock.Advance(2 * interval)
	testutil.WaitFor(t, ticks, "second tick after a failure")
	log := logs.String()
	for _, want := range []string{"level=WARN", "plugin=flaky", "database on fire"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	st := s.Status()
	if len(st) != 1 || st[0].Failures < 1 || st[0].ConsecutiveFailures < 1 {
		t.Errorf("Status() = %+v, want failures counted", st)
	}
}

func TestSupervisorBackoffGrowsCapsAndResets(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	var fail atomic.Bool
	fail.Store(true)
	ticks := make(chan struct{}, 10)
	s.Add(sched.Job{Name: "b", Interval: interval, Tick: func(context.Context, time.Time) (sched.Report, error) {
		defer func() { ticks <- struct{}{} }()
		if fail.Load() {
			return sched.Report{}, errors.New("no")
		}
		return sched.Report{}, nil
	}})
	s.Start()
	// Delays after 0..4 failures: 1, 2, 4, 4 (cap), then success resets to 1.
	for i, want := range []time.Duration{interval, 2 * interval, 4 * interval, 4 * interval} {
		due := clock.waitTimers(t, 1)
		if got := due[0].Sub(clock.Now()); got != want {
			t.Fatalf("delay %d = %v, want %v", i, got, want)
		}
		if i == 3 {
			fail.Store(false)
		}
		clock.Advance(want)
		testutil.WaitFor(t, ticks, "tick")
	}
	due := clock.waitTimers(t, 1)
	if got := due[0].Sub(clock.Now()); got != interval {
		t.Errorf("delay after a success = %v, want %v", got, interval)
	}
}

func TestSupervisorStartTwiceIsNoop(t *testing.T) {
	s, clock, logs := newSupervisor(t)
	job, _ := tickJob("a", interval, nil)
	s.Add(job)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, sched.ErrAlreadyStarted) {
		t.Errorf("second Start = %v, want ErrAlreadyStarted", err)
	}
	clock.waitTimers(t, 1) // still exactly one loop
	if !strings.Contains(logs.String(), "start called again") {
		t.Errorf("second Start did not say so in the log:\n%s", logs)
	}
}

func TestSupervisorImmediateShutdownDrainsLoops(t *testing.T) {
	s, _, _ := newSupervisor(t)
	var ticked atomic.Bool
	for _, name := range []string{"a", "b", "c"} {
		s.Add(sched.Job{Name: name, Interval: interval, Tick: func(context.Context, time.Time) (sched.Report, error) {
			ticked.Store(true)
			return sched.Report{}, nil
		}})
	}
	s.Start()
	if n := s.Shutdown(5 * time.Second); n != 0 {
		t.Errorf("Shutdown = %d loops late, want 0", n)
	}
	if ticked.Load() {
		t.Error("a loop ticked although shut down before its first interval")
	}
	if n := s.Shutdown(time.Second); n != 0 {
		t.Errorf("second Shutdown = %d, want 0", n)
	}
}

func TestSupervisorShutdownAbortsLateLoops(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	entered := make(chan struct{})
	aborted := make(chan struct{})
	s.Add(sched.Job{Name: "stuck", Interval: interval, Tick: func(ctx context.Context, _ time.Time) (sched.Report, error) {
		close(entered)
		<-ctx.Done()
		close(aborted)
		return sched.Report{}, ctx.Err()
	}})
	fast, _ := tickJob("fast", interval, nil)
	s.Add(fast)
	s.Start()
	clock.waitTimers(t, 2)
	clock.Advance(interval)
	testutil.WaitFor(t, entered, "stuck tick")
	if n := s.Shutdown(100 * time.Millisecond); n != 1 {
		t.Errorf("Shutdown = %d, want 1 loop late", n)
	}
	testutil.WaitFor(t, aborted, "abort of the stuck tick")
	if n := s.Shutdown(time.Second); n != 0 {
		t.Errorf("later Shutdown = %d, want 0", n)
	}
}

func TestSupervisorTicksNeverOverlap(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	var running, most atomic.Int32
	done := make(chan struct{}, 100)
	s.Add(sched.Job{Name: "a", Interval: interval, Tick: func(context.Context, time.Time) (sched.Report, error) {
		n := running.Add(1)
		if n > most.Load() {
			most.Store(n)
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		done <- struct{}{}
		return sched.Report{}, nil
	}})
	s.Start()
	for i := 0; i < 20; i++ {
		clock.waitTimers(t, 1)
		clock.Advance(interval)
		clock.Advance(interval) // a second due time while the tick may be running
		testutil.WaitFor(t, done, "tick")
	}
	if most.Load() != 1 {
		t.Errorf("up to %d ticks ran at once, want 1", most.Load())
	}
}

func TestSupervisorAddAndRemoveWhileRunning(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	s.Start()
	job, ticks := tickJob("late", interval, nil)
	if err := s.Add(job); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(job); err == nil {
		t.Error("adding a second job of the same name succeeded")
	}
	clock.waitTimers(t, 1)
	clock.Advance(interval)
	testutil.WaitFor(t, ticks, "tick of a job added after Start")
	done, ok := s.Remove("late")
	if !ok {
		t.Fatal("Remove found no job")
	}
	testutil.WaitFor(t, done, "loop exit after Remove")
	if _, ok := s.Remove("late"); ok {
		t.Error("second Remove found the job again")
	}
	if len(s.Status()) != 0 {
		t.Errorf("Status after Remove = %v", s.Status())
	}
}

func TestSupervisorAddAfterShutdownFails(t *testing.T) {
	s, _, _ := newSupervisor(t)
	s.Start()
	s.Shutdown(time.Second)
	job, _ := tickJob("x", interval, nil)
	if err := s.Add(job); !errors.Is(err, sched.ErrShutdown) {
		t.Errorf("Add after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestSupervisorDrain: with Drain set, a tick that reports More is
// followed after Drain.Pause, not a full interval; a tick without More, a
// failed tick, or MaxTicks drain ticks in a row bring the interval back.
// Without Drain, More changes nothing.
func TestSupervisorDrain(t *testing.T) {
	const pause = 10 * time.Millisecond
	for _, tc := range []struct {
		name  string
		drain *sched.Drain
		// reports are the ticks' (more, failed) in order
		reports []struct{ more, fail bool }
		// waits are the delays expected after each tick
		waits []time.Duration
	}{
		{"more, more, done", &sched.Drain{Pause: pause, MaxTicks: 10},
			[]struct{ more, fail bool }{{true, false}, {true, false}, {false, false}},
			[]time.Duration{pause, pause, interval}},
		{"capped at MaxTicks, then drains again", &sched.Drain{Pause: pause, MaxTicks: 2},
			[]struct{ more, fail bool }{{true, false}, {true, false}, {true, false}, {true, false}},
			[]time.Duration{pause, pause, interval, pause}},
		{"a failed tick backs off", &sched.Drain{Pause: pause, MaxTicks: 10},
			[]struct{ more, fail bool }{{true, false}, {true, true}},
			[]time.Duration{pause, 2 * interval}},
		{"no drain: FlowFabric's cadence", nil,
			[]struct{ more, fail bool }{{true, false}, {true, false}},
			[]time.Duration{interval, interval}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clock, _ := newSupervisor(t)
			var i atomic.Int32
			ticked := make(chan struct{}, 10)
			s.Add(sched.Job{Name: "d", Interval: interval, Drain: tc.drain,
				Tick: func(context.Context, time.Time) (sched.Report, error) {
					r := tc.reports[min(int(i.Add(1))-1, len(tc.reports)-1)]
					defer func() { ticked <- struct{}{} }()
					if r.fail {
						return sched.Report{More: r.more}, errors.New("fail")
					}
					return sched.Report{Processed: 20, More: r.more}, nil
				}})
			s.Start()
			due := clock.waitTimers(t, 1)
			clock.Advance(due[0].Sub(clock.Now()))
			for k, want := range tc.waits {
				testutil.WaitFor(t, ticked, "tick")
				end := clock.Now()
				next := clock.waitTimers(t, 1)
				if got := next[0].Sub(end); got != want {
					t.Fatalf("after tick %d the next is due in %v, want %v", k+1, got, want)
				}
				clock.Advance(next[0].Sub(end))
			}
		})
	}
}

// TestSupervisorCatchUp: a job that catches up ticks at once when its loop
// starts, then at its interval.
func TestSupervisorCatchUp(t *testing.T) {
	s, clock, _ := newSupervisor(t)
	job, ticks := tickJob("late", interval, nil)
	job.CatchUp = true
	s.Add(job)
	start := clock.Now()
	s.Start()
	if due := clock.waitTimers(t, 1); !due[0].Equal(start) {
		t.Fatalf("first tick due at %v, want at once (%v)", due[0], start)
	}
	clock.Advance(0)
	testutil.WaitFor(t, ticks, "the catch-up tick")
	if due := clock.waitTimers(t, 1); !due[0].Equal(start.Add(interval)) {
		t.Errorf("second tick due at %v, want one interval later (%v)", due[0], start.Add(interval))
	}
}
