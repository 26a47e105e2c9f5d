package host_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestTickDeadlineInterruptsLockWait holds the write lock from another
// connection while worker_ttl wants it. The busy timeout is far longer than
// the tick timeout, so only an interruptible wait lets the tick end at its
// deadline; SQLite's own busy handler would sleep through it.
func TestTickDeadlineInterruptsLockWait(t *testing.T) {
	h := plugintest.New(t, plugintest.Build(t, "../plugins/worker_ttl"), plugintest.Options{
		Limits: host.Limits{TickTimeout: 300 * time.Millisecond},
		DB:     sqlite.Options{BusyTimeout: time.Minute},
	})
	// An expired worker, so that the tick needs the write lock: an idle
	// one would not take it.
	h.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', 'w', 'w', 'a', 'c', 0, 1, 0)`)
	release := testutil.HoldWriteLock(t, h.DB)
	start := time.Now()
	_, err := h.Tick(1_000)
	elapsed := time.Since(start)
	if !errors.Is(err, host.ErrTimeout) {
		t.Fatalf("tick behind a held lock = %v, want ErrTimeout", err)
	}
	// Generous: the deadline is 0.3 s, the busy timeout a minute.
	if elapsed > 20*time.Second {
		t.Errorf("tick took %v: the lock wait ignored the tick deadline", elapsed)
	}
	release()
	if _, err := h.Tick(1_000); err != nil {
		t.Errorf("tick after the lock was released: %v", err)
	}
}
