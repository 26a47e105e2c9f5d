package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// replayJSON is the line `ffwasmhost replay` prints.
type replayJSON struct {
	Plugin       string `json:"plugin"`
	Processed    int64  `json:"processed"`
	Ticks        int    `json:"ticks"`
	Error        string `json:"error"`
	FixtureError string `json:"fixture_error"`
	SHA256       string `json:"sha256"`
	SameBuild    bool   `json:"same_build"`
}

// TestFailedTickReplays: a daemon with --fixtures writes down a tick that
// fails on a poisoned row, with the rows as they were before the tick (the
// tick committed a write before it failed); `replay` fails the same way
// with the same build and succeeds with the fixed one.
func TestFailedTickReplays(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	testutil.SeedDue(t, db, 5000, 3, 0)
	if _, err := db.Exec(`UPDATE ff_budget_policy SET policy_json = 'poison' WHERE budget_id = 'b001'`); err != nil {
		t.Fatal(err)
	}
	plugins := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	deploy(t, plugins, "poison.wasm", mustRead(t, poisonWasm))
	fixtures := filepath.Join(t.TempDir(), "fixtures")
	p := startDaemon(t, nil, "--db", path, "--plugins", plugins, "--fixtures", fixtures, "--interval", "poison=100ms")
	var files []os.DirEntry
	p.waitFor("a fixture", func() bool { files, _ = os.ReadDir(fixtures); return len(files) > 0 })
	p.waitTicks("poison", "", 3)
	if code := p.stop(); code != 0 {
		t.Fatalf("daemon exit %d", code)
	}
	if files, _ = os.ReadDir(fixtures); len(files) != 1 {
		t.Fatalf("fixtures = %v, want one for the run of failures", files)
	}
	fixture := filepath.Join(fixtures, files[0].Name())
	f, err := replay.Read(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if f.Error != "poisoned budget b001" || f.Plugin != "poison" {
		t.Errorf("fixture error %q of %q", f.Error, f.Plugin)
	}
	for _, tb := range f.Tables {
		if tb.Name != "ff_budget_usage" {
			continue
		}
		for _, r := range tb.Rows {
			for i, c := range tb.Columns {
				if c == "updated_at_ms" && r[i].V != int64(0) {
					t.Errorf("fixture row %v: updated_at_ms is the tick's write, not the row before the tick", r)
				}
			}
		}
	}
	if testutil.Count(t, db, `SELECT count(*) FROM ff_budget_usage WHERE updated_at_ms = 0`) != 0 {
		t.Fatal("the failing ticks committed nothing: the test proves nothing about the rows before the tick")
	}

	run := func(args ...string) (replayJSON, result) {
		t.Helper()
		res := ffwasmhost(t, nil, append([]string{"replay", "--cache-dir", cacheDir}, args...)...)
		var out replayJSON
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("replay %v: stdout %q (exit %d, stderr %q)", args, res.stdout, res.code, res.stderr)
		}
		return out, res
	}
	got, res := run(fixture)
	if res.code != 1 || !strings.Contains(got.Error, "poisoned budget b001") ||
		!got.SameBuild || got.FixtureError != f.Error || got.Ticks != 1 {
		t.Errorf("replay with the same build = %+v, exit %d; want the same failure", got, res.code)
	}
	scratch := filepath.Join(t.TempDir(), "scratch.db")
	got, res = run("--plugin", poisonFixedWasm, "--db", scratch, fixture)
	if res.code != 0 || got.Error != "" || got.SameBuild || got.Processed != 3 {
		t.Errorf("replay with the fixed build = %+v, exit %d (%s); want success", got, res.code, res.stderr)
	}
	if n := testutil.Count(t, openDB(t, scratch), `SELECT count(*) FROM ff_budget_usage WHERE updated_at_ms = ?`, f.NowMS); n != 6 {
		t.Errorf("scratch database kept by --db: %d usage rows written at the fixture's now_ms, want 6", n)
	}
	if res := ffwasmhost(t, nil, "replay", "--db", scratch, fixture); res.code != 1 || !strings.Contains(res.stderr, "must be a new file") {
		t.Errorf("replay onto an existing --db = %d %q", res.code, res.stderr)
	}
	if res := ffwasmhost(t, nil, "replay", filepath.Join(t.TempDir(), "missing.json")); res.code != 1 || !strings.Contains(res.stderr, "missing.json") {
		t.Errorf("replay of a missing fixture = %d %q", res.code, res.stderr)
	}
}

// TestStatusAfterKill9: after `kill -9` of the daemon, `status` and a new
// daemon's /v1/plugins show each plugin's last tick from before the kill.
func TestStatusAfterKill9(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	openDB(t, path)
	p := startDaemon(t, nil, "--db", path, "--plugins", pluginDir,
		"--interval", "budget_reset=100ms", "--interval", "worker_ttl=100ms")
	before := map[string]pluginStatus{}
	for _, name := range []string{"budget_reset", "worker_ttl"} {
		before[name] = p.waitTicks(name, "", 3)
	}
	if code := p.signal(syscall.SIGKILL); code != -1 {
		t.Fatalf("exit after kill -9 = %d", code)
	}
	res := ffwasmhost(t, nil, "status", "--db", path, "--json")
	if res.code != 0 {
		t.Fatalf("status = %d %q %q", res.code, res.stdout, res.stderr)
	}
	last := map[string]time.Time{}
	for _, l := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		var s struct {
			Plugin    string    `json:"plugin"`
			LastStart time.Time `json:"last_start"`
			Ticks     int64     `json:"ticks"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("status line %q: %v", l, err)
		}
		last[s.Plugin] = s.LastStart
		if b := before[s.Plugin]; s.Ticks < b.Ticks || s.LastStart.Before(*b.LastTick) {
			t.Errorf("status of %s after kill -9: %d ticks, last %v; the daemon showed %d, last %v", s.Plugin, s.Ticks, s.LastStart, b.Ticks, b.LastTick)
		}
	}
	if len(last) != 2 {
		t.Fatalf("status shows %v, want both plugins", last)
	}
	p2 := startDaemon(t, nil, "--db", path, "--plugins", pluginDir, "--interval", "budget_reset=1h", "--interval", "worker_ttl=1h")
	for name, at := range last {
		var ps pluginStatus
		var ok bool
		p2.waitFor(name+" loaded", func() bool { ps, ok = p2.plugin(name); return ok })
		if !ok || ps.LastTick == nil || !ps.LastTick.Equal(at) {
			t.Errorf("restarted daemon's %s = %+v, want last tick %v", name, ps, at)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
