package polyglot

import (
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestBusyAgainstHost: with another connection holding the write lock, a
// worker_ttl tick of every build retries its transaction, then fails with
// the same error as the Go build's, from the real host's busy status; once
// the lock is gone, the next tick sweeps.
func TestBusyAgainstHost(t *testing.T) {
	builds := []port{{"Go", "worker_ttl", func(t testing.TB) string { return plugintest.Build(t, "../../plugins/worker_ttl") }}}
	builds = append(builds, workerTTLPorts...)
	var goErr string
	for _, p := range builds {
		t.Run(p.lang, func(t *testing.T) {
			h := plugintest.New(t, p.build(t), plugintest.Options{DB: sqlite.Options{BusyTimeout: time.Millisecond}})
			h.Exec(`INSERT INTO ff_worker_registry (namespace, worker_instance_id, worker_id, lanes,
capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES ('ns', 'w', 'w', '', '', 1, 1, 1)`)
			release := testutil.HoldWriteLock(t, h.DB)
			start := time.Now()
			_, err := h.Tick(1_000)
			switch {
			case err == nil || !strings.HasPrefix(err.Error(), "begin: ffhost busy: "):
				t.Errorf("tick behind a held lock: %v; want begin: ffhost busy: ...", err)
			case p.lang == "Go":
				goErr = err.Error()
			case err.Error() != goErr:
				t.Errorf("tick behind a held lock: %q; the Go build says %q", err, goErr)
			}
			if d := time.Since(start); d < 15*time.Millisecond {
				t.Errorf("the tick gave up after %v, before its 5 and 10 ms backoff", d)
			}
			release()
			if rep := h.MustTick(1_000); rep.Processed != 1 {
				t.Errorf("tick after the lock was released processed %d, want 1", rep.Processed)
			}
		})
	}
}
