package sched_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/sched"
)

// fakeClock is a sched.Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *fakeClock
	c     chan time.Time
	at    time.Time
	dead  bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.dead
	t.dead = true
	return was
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) sched.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, c: make(chan time.Time, 1), at: c.now.Add(d)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock by d and fires every timer now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	live := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.dead:
		case !t.at.After(c.now):
			t.dead = true
			t.c <- c.now
		default:
			live = append(live, t)
		}
	}
	c.timers = live
}

// pending returns the deadlines of the live timers.
func (c *fakeClock) pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, t := range c.timers {
		if !t.dead {
			out = append(out, t.at)
		}
	}
	return out
}

// waitTimers waits (in real time, generously) until n timers are live, so
// a test advances the clock only once the loops are waiting on it.
func (c *fakeClock) waitTimers(tb testing.TB, n int) []time.Time {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p := c.pending(); len(p) == n {
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited 10s for %d live timers, have %d", n, len(c.pending()))
		}
		time.Sleep(time.Millisecond)
	}
}
