package polyglot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// ffwasmhostBinary builds the ffwasmhost command once.
func ffwasmhostBinary(t *testing.T) string {
	t.Helper()
	return once(t, "ffwasmhost", func(out string) error {
		_, err := run("go", "build", "-o", out, "./cmd/ffwasmhost")
		return err
	})
}

// pluginDir copies the ports of both reconcilers in langs ("C", "Rust";
// "Extism" for the Extism builds), and the Go plugins if withGo, into a new
// directory, as a deployment would have them.
func pluginDir(t *testing.T, withGo bool, langs ...string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	if withGo {
		files["budget_reset"] = plugintest.Build(t, "../../plugins/budget_reset")
		files["worker_ttl"] = plugintest.Build(t, "../../plugins/worker_ttl")
	}
	for _, p := range append(append(budgetResetPorts, workerTTLPorts...), budgetResetExtism, workerTTLExtism) {
		for _, l := range langs {
			if p.lang == l {
				files[p.name] = p.build(t)
			}
		}
	}
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ffwasmhost runs the command with args and returns its output and exit code.
func ffwasmhost(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffwasmhostBinary(t), args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("ffwasmhost %s: %v", strings.Join(args, " "), err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// cleanEnv is the environment without FF_* settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FF_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestValidate: `ffwasmhost validate` accepts both ports of each
// language, and the Extism builds, and `ffwasmhost plugins` lists them as
// disabled.
func TestValidate(t *testing.T) {
	for _, lang := range []string{"C", "Rust", "Extism"} {
		t.Run(lang, func(t *testing.T) {
			dir := pluginDir(t, false, lang)
			files, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
			out, code := ffwasmhost(t, append([]string{"validate", "--cache-dir", plugintest.CacheDir()}, files...)...)
			if code != 0 || strings.Count(out, "ok ") != len(files) {
				t.Fatalf("validate exited %d:\n%s", code, out)
			}
			out, code = ffwasmhost(t, "plugins", "--plugins", dir, "--cache-dir", plugintest.CacheDir())
			if code != 0 {
				t.Fatalf("plugins exited %d:\n%s", code, out)
			}
			suffix := "_" + strings.ToLower(lang)
			for _, name := range []string{"budget_reset" + suffix, "worker_ttl" + suffix} {
				if !strings.Contains(out, name+" ") || !strings.Contains(lineOf(out, name+" "), "disabled") {
					t.Errorf("plugins does not list %s as disabled:\n%s", name, out)
				}
			}
		})
	}
}

func lineOf(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestTickCommand: `ffwasmhost tick` runs each port, and each Extism
// build, by name.
func TestTickCommand(t *testing.T) {
	for _, lang := range []string{"C", "Rust", "Extism"} {
		t.Run(lang, func(t *testing.T) {
			dir := pluginDir(t, false, lang)
			path := filepath.Join(t.TempDir(), "ff.db")
			db := seededDB(t, path, 1_000_000, 25, 4)
			suffix := "_" + strings.ToLower(lang)
			for name, want := range map[string]string{
				"budget_reset" + suffix: `"processed":25,"errors":0,"ticks":3`,
				"worker_ttl" + suffix:   `"processed":4,"errors":0,"ticks":2`,
			} {
				out, code := ffwasmhost(t, "tick", "--db", path, "--plugins", dir, "--cache-dir", plugintest.CacheDir(),
					"--now", "1000000", "--until-idle", name)
				if code != 0 || !strings.Contains(out, `"plugin":"`+name+`"`) || !strings.Contains(out, want) {
					t.Errorf("tick %s exited %d: %s; want %s", name, code, out, want)
				}
			}
			checkDone(t, db, 1_000_000)
		})
	}
}

// seededDB migrates a database at path and seeds it with budgets due
// before now and workers expired at now.
func seededDB(t *testing.T, path string, now int64, budgets, workers int) *sqlite.Store {
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
	for i := range budgets {
		id := fmt.Sprintf("b%02d", i)
		exec1(t, db, `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, next_reset_at_ms) VALUES (0, ?, '{"reset_interval_ms":3600000}', 1, 1, ?)`, id, now-1_000-int64(i))
		exec1(t, db, `INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value,
updated_at_ms) VALUES (0, ?, 'd', 5, 1)`, id)
	}
	for i := range workers {
		exec1(t, db, `INSERT INTO ff_worker_registry (namespace, worker_instance_id, worker_id, lanes,
capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES ('ns', ?, 'w', '', '', ?, 1000, 1)`,
			fmt.Sprintf("w%d", i), now-5_000)
	}
	return db
}

func exec1(t *testing.T, db *sqlite.Store, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *sqlite.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkDone fails unless every budget was reset and every worker swept.
func checkDone(t *testing.T, db *sqlite.Store, now int64) {
	t.Helper()
	if n := count(t, db, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, now); n != 0 {
		t.Errorf("%d budgets still due", n)
	}
	if n := count(t, db, `SELECT count(*) FROM ff_budget_usage WHERE current_value != 0`); n != 0 {
		t.Errorf("%d usage rows not reset", n)
	}
	if n := count(t, db, `SELECT count(*) FROM ff_worker_registry`); n != 0 {
		t.Errorf("%d expired workers left", n)
	}
}

// TestDaemon runs `ffwasmhost run` over a directory holding the Go build
// and every language's ports of both reconcilers, with intervals set for
// one language's ports (or the Extism builds) and the others disabled: the
// ports reset every budget and sweep every worker, and the plugins without
// an interval never tick.
func TestDaemon(t *testing.T) {
	for _, lang := range []string{"C", "Rust", "Extism"} {
		t.Run(lang, func(t *testing.T) {
			dir := pluginDir(t, true, "C", "Rust", "Extism")
			path := filepath.Join(t.TempDir(), "ff.db")
			now := time.Now().UnixMilli()
			db := seededDB(t, path, now, 45, 10)
			suffix := "_" + strings.ToLower(lang)
			br, wt := "budget_reset"+suffix, "worker_ttl"+suffix

			addr := testutil.FreeAddr(t)
			var log testutil.SyncBuffer
			cmd := exec.Command(ffwasmhostBinary(t), "run", "--db", path, "--plugins", dir, "--http", addr,
				"--cache-dir", plugintest.CacheDir(), "--min-interval", "100ms",
				"--interval", br+"=200ms", "--interval", wt+"=200ms",
				"--interval", "budget_reset=0", "--interval", "worker_ttl=0")
			cmd.Env = cleanEnv()
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			t.Cleanup(func() {
				select {
				case <-done:
				default:
					cmd.Process.Kill()
					<-done
				}
				if t.Failed() {
					t.Logf("daemon log:\n%s", log.String())
				}
			})

			status := func() map[string]pluginStatus {
				c := http.Client{Timeout: 5 * time.Second}
				resp, err := c.Get("http://" + addr + "/v1/plugins")
				if err != nil {
					return nil
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var st struct{ Plugins []pluginStatus }
				if json.NewDecoder(bytes.NewReader(b)).Decode(&st) != nil {
					return nil
				}
				m := map[string]pluginStatus{}
				for _, p := range st.Plugins {
					m[p.Name] = p
				}
				return m
			}
			end := time.Now().Add(60 * time.Second)
			for {
				st := status()
				if st[br].Ticks >= 3 && st[wt].Ticks >= 2 &&
					count(t, db, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, now) == 0 &&
					count(t, db, `SELECT count(*) FROM ff_worker_registry`) == 0 {
					break
				}
				select {
				case <-done:
					t.Fatalf("daemon exited: %v", cmd.ProcessState)
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(end) {
					t.Fatalf("timed out waiting for %s and %s to do their work; status %+v", br, wt, st)
				}
			}
			checkDone(t, db, now)
			st := status()
			for name, p := range st {
				ran := name == br || name == wt
				switch {
				case ran && (!p.Enabled || p.Failures != 0):
					t.Errorf("%s: enabled %t, %d failures of %d ticks", name, p.Enabled, p.Failures, p.Ticks)
				case !ran && (p.Enabled || p.Ticks != 0):
					t.Errorf("%s has no interval, yet is enabled %t and ticked %d times", name, p.Enabled, p.Ticks)
				}
			}
			if len(st) != 8 {
				t.Errorf("the daemon runs %d plugins, want 8", len(st))
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-done
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit status after SIGTERM = %d, want 0", code)
			}
		})
	}
}

// pluginStatus is the part of /v1/plugins the tests read.
type pluginStatus struct {
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Ticks    int64  `json:"ticks"`
	Failures int64  `json:"failures"`
}
