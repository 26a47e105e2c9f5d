package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// deadline is how long a test waits for the daemon to do something: far
// more than it needs on an idle machine.
const deadline = 30 * time.Second

// daemonProc is a running `ffwasmhost run`.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  *testutil.SyncBuffer
	done chan struct{} // closed when the process has exited
}

// startDaemon starts `ffwasmhost run` with args plus --http on a free port
// and --cache-dir, and waits for /healthz. The process is killed at the
// end of the test if it is still running; its log is printed if the test
// failed.
func startDaemon(t *testing.T, env []string, args ...string) *daemonProc {
	t.Helper()
	addr := testutil.FreeAddr(t)
	return launch(t, env, addr, append([]string{"run", "--http", addr, "--cache-dir", cacheDir, "--grace", "20s"}, args...)...)
}

// launch starts the binary with args and env, expecting its admin server
// on addr, and waits for /healthz.
func launch(t *testing.T, env []string, addr string, args ...string) *daemonProc {
	t.Helper()
	p := &daemonProc{t: t, addr: addr, log: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = environ(env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", p.log)
		}
	})
	p.waitFor("/healthz", func() bool {
		code, _ := p.get("/healthz")
		return code == http.StatusOK
	})
	return p
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func (p *daemonProc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		select {
		case <-p.done:
			p.t.Fatalf("daemon exited (%v) while waiting for %s", p.cmd.ProcessState, what)
		default:
		}
		if time.Now().After(end) {
			p.t.Fatalf("timed out after %v waiting for %s", deadline, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get fetches path from the admin server; code 0 means no answer.
func (p *daemonProc) get(path string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pluginStatus is the part of /v1/plugins the tests read.
type pluginStatus struct {
	Name       string     `json:"name"`
	SHA256     string     `json:"sha256"`
	Kind       string     `json:"kind"`
	IntervalMS int64      `json:"interval_ms"`
	Enabled    bool       `json:"enabled"`
	Ticks      int64      `json:"ticks"`
	Failures   int64      `json:"failures"`
	LastTick   *time.Time `json:"last_tick"`
	LoadedAt   time.Time  `json:"loaded_at"`
	Owns       []string   `json:"owns"`
	Migrations []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Checksum string `json:"checksum"`
	} `json:"migrations"`
}

type status struct {
	Plugins []pluginStatus `json:"plugins"`
	Invalid []struct {
		File  string `json:"file"`
		Error string `json:"error"`
	} `json:"invalid"`
}

func (p *daemonProc) status() status {
	p.t.Helper()
	code, body := p.get("/v1/plugins")
	var st status
	if code != http.StatusOK {
		return st
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		p.t.Fatalf("/v1/plugins: %v\n%s", err, body)
	}
	return st
}

// plugin returns the named plugin from /v1/plugins.
func (p *daemonProc) plugin(name string) (pluginStatus, bool) {
	for _, ps := range p.status().Plugins {
		if ps.Name == name {
			return ps, true
		}
	}
	return pluginStatus{}, false
}

// waitTicks waits until name (at sha, if not "") has ticked n times.
func (p *daemonProc) waitTicks(name, sha string, n int64) pluginStatus {
	p.t.Helper()
	var ps pluginStatus
	p.waitFor(fmt.Sprintf("%s to tick %d times", name, n), func() bool {
		var ok bool
		ps, ok = p.plugin(name)
		return ok && ps.Ticks >= n && (sha == "" || ps.SHA256 == sha)
	})
	return ps
}

// metric returns the value of one series from /metrics, e.g.
// `ffwasmhost_reloads_total{result="failed"}`, or -1 if it is absent.
func (p *daemonProc) metric(series string) float64 {
	p.t.Helper()
	_, body := p.get("/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return -1
}

// stop sends SIGTERM and returns the exit status.
func (p *daemonProc) stop() int {
	p.t.Helper()
	return p.signal(syscall.SIGTERM)
}

// signal sends sig and returns the exit status.
func (p *daemonProc) signal(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(deadline):
		p.t.Fatalf("daemon still running %v after SIGTERM", deadline)
	}
	return p.cmd.ProcessState.ExitCode()
}

// openDB opens the database at path with the host's settings, migrated.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db.SQL
}

// checksum hashes every row of the reconciler tables.
func checksum(t *testing.T, db *sql.DB) string {
	t.Helper()
	h := sha256.New()
	for _, table := range []string{"ff_budget_policy", "ff_budget_usage", "ff_worker_registry", "ff_worker_registry_event"} {
		rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%s%v\n", table, vals)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func dbPath(t *testing.T) string { t.Helper(); return filepath.Join(t.TempDir(), "ff.db") }
