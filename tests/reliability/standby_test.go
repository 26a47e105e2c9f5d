package reliability

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

const standbyPoll = 500 * time.Millisecond

// daemonProc is one running ffwasmhost run.
type daemonProc struct {
	cmd  *exec.Cmd
	addr string
	log  *testutil.SyncBuffer
}

func startDaemon(tb testing.TB, db, cache string) *daemonProc {
	tb.Helper()
	binary, plugins := daemonBinary(tb)
	d := &daemonProc{addr: testutil.FreeAddr(tb), log: &testutil.SyncBuffer{}}
	d.cmd = exec.Command(binary, "run", "--db", db, "--plugins", plugins, "--http", d.addr, "--cache-dir", cache,
		"--standby-poll", standbyPoll.String(), "--interval", "budget_reset=50ms", "--interval", "worker_ttl=50ms")
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	})
	return d
}

// get returns the status and body of an admin endpoint, or 0 if the daemon
// does not answer yet.
func (d *daemonProc) get(path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+d.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ticks sums the ticks the daemon reports in /v1/plugins.
func (d *daemonProc) ticks(tb testing.TB) int64 {
	tb.Helper()
	code, body := d.get("/v1/plugins")
	if code != http.StatusOK {
		return 0
	}
	var st struct {
		Plugins []struct {
			Ticks int64 `json:"ticks"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		tb.Fatalf("/v1/plugins: %v\n%s", err, body)
	}
	var n int64
	for _, p := range st.Plugins {
		n += p.Ticks
	}
	return n
}

// eventually polls cond every 20 ms until it holds or a generous deadline.
func eventually(tb testing.TB, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 60*time.Second {
			tb.Fatalf("waited 60s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestStandbyTakesOverWhenActiveDies points two daemons at one database:
// only the first ticks, the second says it is on standby in its log and
// /readyz, and takes over once the first is SIGKILLed.
func TestStandbyTakesOverWhenActiveDies(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ff.db")
	cache := filepath.Join(dir, "cache")
	ctx := context.Background()
	h, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()

	active := startDaemon(t, db, cache)
	eventually(t, "the first daemon to tick", func() bool { return active.ticks(t) > 0 })
	standby := startDaemon(t, db, cache)
	eventually(t, "the second daemon to report standby", func() bool {
		code, body := standby.get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "standby")
	})
	before := active.ticks(t)
	time.Sleep(4 * standbyPoll) // both run side by side a while
	if n := standby.ticks(t); n != 0 {
		t.Fatalf("the standby ran %d ticks while the other daemon was active", n)
	}
	if after := active.ticks(t); after <= before {
		t.Errorf("the active daemon stopped ticking (%d then %d ticks)", before, after)
	}
	if !strings.Contains(standby.log.String(), "waiting on standby") {
		t.Errorf("the standby's log does not say it waits:\n%s", standby.log)
	}

	if err := active.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	active.cmd.Wait()
	eventually(t, "the standby to take the lock", func() bool {
		return strings.Contains(standby.log.String(), "now the active one")
	})
	tookLock := time.Since(killed)
	eventually(t, "the standby to become ready and tick", func() bool {
		code, _ := standby.get("/readyz")
		return code == http.StatusOK && standby.ticks(t) > 0
	})
	t.Logf("standby took the lock %v after the kill (poll %v), ticking %v after it",
		tookLock.Round(time.Millisecond), standbyPoll, time.Since(killed).Round(time.Millisecond))
	// Generous for a noisy machine; the design bound is one poll period.
	if tookLock > 2*standbyPoll+5*time.Second {
		t.Errorf("takeover took %v, want about one poll period (%v)", tookLock, standbyPoll)
	}

	// A standby stopped by SIGTERM exits 0.
	third := startDaemon(t, db, cache)
	eventually(t, "a third daemon on standby", func() bool {
		return strings.Contains(third.log.String(), "waiting on standby")
	})
	third.cmd.Process.Signal(syscall.SIGTERM)
	if err := third.cmd.Wait(); err != nil {
		t.Errorf("standby stopped by SIGTERM: %v\n%s", err, third.log)
	}
}
