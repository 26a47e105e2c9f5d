package hostile

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// The live daemon's settings: every plugin ticks every 200 ms with a
// 500 ms deadline and the daemon has 5 s to drain at SIGTERM.
const (
	daemonDeadline = 500 * time.Millisecond
	daemonInterval = "200ms"
	daemonGrace    = 5 * time.Second
	// goodDeadline is budget_reset's and worker_ttl's tick timeout.
	goodDeadline = 5 * time.Second
	// window is how long a daemon runs with its modules after they have
	// all loaded or been refused.
	window = 4 * time.Second
	// lockWait bounds how long another process waits for the write lock:
	// a tick's deadline and the slack.
	lockWait = daemonDeadline + slack
	// healthWait bounds every /healthz answer.
	healthWait = time.Second
	// daemonBaseRSS is what the daemon itself may hold resident on top
	// of a module's maxRSS: the runtime, two Go plugins and their caches.
	daemonBaseRSS = 400 * mib
)

// daemonGroup is the modules one live daemon runs together.
type daemonGroup struct {
	name    string
	modules []module
}

// hotDeployed reports whether a module is deployed into the running
// daemon instead of being in its plugin directory when it starts: the
// modules that spin while loading each take the load deadline to refuse,
// which would hold up the daemon's start by a minute, and those that
// claim a running plugin's name (at start, the daemon would run neither).
func hotDeployed(m module) bool { return m.slowLoad || m.beside != "" }

// slowGroup reports whether a group has modules that take the load
// deadline.
func slowGroup(g daemonGroup) bool { return slices.ContainsFunc(g.modules, hotDeployed) }

// freshCache groups get a compilation cache of their own: a module
// compiled (and cached) by an earlier run must cost what it costs.
var freshCache = map[string]bool{"huge": true}

// cliDryRun is the group run through `ffwasmhost tick --dry-run` rather
// than a daemon: `run` has no dry run.
const cliDryRun = "cli-dry-run"

func daemonGroups() []daemonGroup {
	var groups []daemonGroup
	index := map[string]int{}
	for _, m := range corpus {
		i, ok := index[m.daemon]
		if !ok {
			i = len(groups)
			index[m.daemon] = i
			groups = append(groups, daemonGroup{name: m.daemon})
		}
		groups[i].modules = append(groups[i].modules, m)
	}
	// The longest first, so that it overlaps the others.
	slices.SortStableFunc(groups, func(a, b daemonGroup) int {
		if slowGroup(a) != slowGroup(b) {
			if slowGroup(a) {
				return -1
			}
			return 1
		}
		return 0
	})
	return groups
}

// TestDaemon runs every module of the corpus in the built ffwasmhost
// binary, beside budget_reset and worker_ttl, on a database with work for
// them, and checks what an operator sees: the daemon answers, the good
// plugins keep working, another process can always take the write lock,
// every failed tick is counted as one, refused files are listed with their
// reasons, and SIGTERM stops it within its grace. Each daemon runs with
// --limit tick-timeout=500ms, but budget_reset and worker_ttl get 5 s, so
// that waiting behind a hostile transaction is not held against them; the
// checks on the daemon are the group's subtest, those on each module a
// subtest of it.
func TestDaemon(t *testing.T) {
	if inChild() {
		t.Skip("in a child")
	}
	for _, g := range daemonGroups() {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			if g.name == cliDryRun {
				runCLIDryRun(t, g)
				return
			}
			runDaemon(t, g)
		})
	}
}

var daemonBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// binary builds ffwasmhost once per test process, as tests/e2e does.
func binary(t *testing.T) string {
	t.Helper()
	daemonBuild.once.Do(func() {
		daemonBuild.dir, daemonBuild.err = os.MkdirTemp("", "ffwasmhost-hostile-")
		if daemonBuild.err != nil {
			return
		}
		bin := filepath.Join(daemonBuild.dir, "ffwasmhost")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/ffwasmhost")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			daemonBuild.err = fmt.Errorf("go build ./cmd/ffwasmhost: %v\n%s", err, out)
			return
		}
		daemonBuild.bin = bin
	})
	if daemonBuild.err != nil {
		t.Fatal(daemonBuild.err)
	}
	return daemonBuild.bin
}

// pluginName is the name a module declares.
func pluginName(m module) string {
	if m.file == "describe_name_budget_reset" {
		return "budget_reset"
	}
	return m.file
}

// copyFile writes src to dir/name the documented safe way: a hidden file,
// then a rename.
func copyFile(t *testing.T, src, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// daemon is one running `ffwasmhost run`.
type daemon struct {
	t    *testing.T
	w    *watched
	addr string
}

func (d *daemon) get(path string, timeout time.Duration) (int, string, time.Duration) {
	c := http.Client{Timeout: timeout}
	start := time.Now()
	resp, err := c.Get("http://" + d.addr + path)
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

func (d *daemon) exited() bool { return d.w.exited() }

// waitFor polls cond every 50 ms until it holds, the daemon exits or limit
// passes; it reports whether cond held.
func (d *daemon) waitFor(limit time.Duration, cond func() bool) bool {
	end := time.Now().Add(limit)
	for !cond() {
		if d.exited() || time.Now().After(end) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// status is the part of /v1/plugins the checks read.
type status struct {
	Plugins []struct {
		Name     string `json:"name"`
		File     string `json:"file"`
		Ticks    int64  `json:"ticks"`
		Failures int64  `json:"failures"`
	} `json:"plugins"`
	Invalid []struct {
		File  string `json:"file"`
		Error string `json:"error"`
	} `json:"invalid"`
}

func (d *daemon) status() (status, bool) {
	var st status
	code, body, _ := d.get("/v1/plugins", 5*time.Second)
	if code != http.StatusOK {
		return st, false
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		d.t.Errorf("/v1/plugins: %v\n%s", err, short(body))
		return st, false
	}
	return st, true
}

// metrics returns every series of /metrics by its name and labels.
func (d *daemon) metrics() map[string]float64 {
	_, body, _ := d.get("/metrics", 5*time.Second)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// healthPoller polls /healthz every 100 ms and records every poll that
// was not a 200 within healthWait.
type healthPoller struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	polls   int
	slowest time.Duration
	bad     []string
}

func pollHealth(d *daemon) *healthPoller {
	h := &healthPoller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			select {
			case <-h.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if d.exited() {
				return
			}
			code, body, took := d.get("/healthz", healthWait)
			h.mu.Lock()
			h.polls++
			h.slowest = max(h.slowest, took)
			if code != http.StatusOK || took > healthWait {
				h.bad = append(h.bad, fmt.Sprintf("%s: %d %q after %v", time.Now().Format("15:04:05.000"), code, strings.TrimSpace(body), took.Round(time.Millisecond)))
			}
			h.mu.Unlock()
		}
	}()
	return h
}

func (h *healthPoller) end() (polls int, slowest time.Duration, bad []string) {
	h.once.Do(func() { close(h.stop) })
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.polls, h.slowest, h.bad
}

// lockHelper is the process that takes the write lock over and over
// (lockProbeMain).
type lockHelper struct {
	w     *watched
	stdin io.WriteCloser
	out   *testutil.SyncBuffer
}

func startLockHelper(t *testing.T, dbPath string, limit time.Duration) *lockHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"=lockprobe", "FFHOSTILE_DB="+dbPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.SyncBuffer{}
	cmd.Stdout = out
	w, err := watch(cmd, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); w.wait() })
	return &lockHelper{w: w, stdin: stdin, out: out}
}

// lockResult is what the helper prints when its stdin closes.
type lockResult struct {
	Attempts  int    `json:"attempts"`
	Taken     int    `json:"taken"`
	LongestMS int64  `json:"longest_ms"`
	LongestAt string `json:"longest_at"`
	Err       string `json:"err"`
}

func (l *lockHelper) stop(t *testing.T) lockResult {
	t.Helper()
	l.stdin.Close()
	l.w.wait()
	var r lockResult
	if err := json.Unmarshal([]byte(l.out.String()), &r); err != nil {
		killed, _, _, werr := l.w.stats()
		t.Errorf("the lock helper printed %q (%v, killed: %q): %v", l.out.String(), werr, killed, err)
	}
	return r
}

// lockProbeMain is the lock helper process: it takes and releases the
// write lock of $FFHOSTILE_DB, waiting up to 5 s each time, until its
// stdin closes, then prints what it saw as one JSON line.
func lockProbeMain() int {
	p, err := testutil.StartLockProbe(os.Getenv("FFHOSTILE_DB"), 5*time.Second, 20*time.Millisecond)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	io.Copy(io.Discard, os.Stdin)
	s := p.Stop()
	r := lockResult{Attempts: s.Attempts, Taken: s.Taken, LongestMS: s.Longest.Milliseconds(), LongestAt: s.LongestEnd.Format("15:04:05.000")}
	if s.Err != nil {
		r.Err = s.Err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// logLine is one line of the daemon's JSON log.
type logLine struct {
	raw    string
	text   string // the message and every attribute as key=value, JSON strings decoded
	msg    string
	plugin string
	dur    time.Duration // the "duration" attribute, in nanoseconds in JSON
}

func parseLog(text string) []logLine {
	var out []logLine
	for line := range strings.Lines(text) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			out = append(out, logLine{raw: line, text: line})
			continue
		}
		l := logLine{raw: line}
		l.msg, _ = m["msg"].(string)
		l.plugin, _ = m["plugin"].(string)
		if d, ok := m["duration"].(float64); ok {
			l.dur = time.Duration(d)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%v ", k, m[k])
		}
		l.text = b.String()
		out = append(out, l)
	}
	return out
}

// linesWith counts the log lines that name plugin (any plugin if "") and
// contain sub, and returns the first.
func linesWith(lines []logLine, plugin, sub string) (int, string) {
	n, first := 0, ""
	for _, l := range lines {
		if (plugin == "" || l.plugin == plugin) && strings.Contains(l.text, sub) {
			if n++; n == 1 {
				first = strings.TrimSpace(short(l.raw))
			}
		}
	}
	return n, first
}

// runDaemon runs one group's modules in a daemon and checks it.
func runDaemon(t *testing.T, g daemonGroup) {
	a := built(t)
	bin := binary(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, a.budgetReset, dir, "budget_reset.wasm")
	copyFile(t, a.workerTTL, dir, "worker_ttl.wasm")
	for _, m := range g.modules {
		if !hotDeployed(m) {
			copyFile(t, wasmPath(t, m.file), dir, m.file+".wasm")
		}
	}
	dbPath := filepath.Join(tmp, "ff.db")
	ctx := context.Background()
	hdb, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hdb.Close()
	if err := hdb.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	testutil.SeedDue(t, hdb.SQL, now, 20, 10)

	cache := a.cache
	if freshCache[g.name] {
		cache = filepath.Join(tmp, "cache")
	}
	addr := testutil.FreeAddr(t)
	args := []string{"run", "--db", dbPath, "--plugins", dir, "--http", addr, "--cache-dir", cache,
		"--grace", daemonGrace.String(), "--log-format", "json", "--limit", "tick-timeout=" + daemonDeadline.String(),
		"--interval", "budget_reset=" + daemonInterval, "--interval", "worker_ttl=" + daemonInterval,
		// The good plugins may wait behind a hostile transaction (up to its
		// deadline) without failing: every one of their ticks must succeed.
		"--limit", "budget_reset.tick-timeout=" + goodDeadline.String(), "--limit", "worker_ttl.tick-timeout=" + goodDeadline.String()}
	var slow int
	for _, m := range g.modules {
		if !m.ownInterval && pluginName(m) != "budget_reset" {
			args = append(args, "--interval", pluginName(m)+"="+daemonInterval)
		}
		if m.slowLoad {
			slow++
		}
	}
	// Every bound below is generous; the watchdog's is the sum of them.
	resolveLimit := 15*time.Second + time.Duration(slow)*slowRefuseTime
	limit := 30*time.Second + resolveLimit + window + daemonGrace + 15*time.Second

	lock := startLockHelper(t, dbPath, limit)
	d := &daemon{t: t, addr: addr}
	if d.w, err = watch(exec.Command(bin, args...), limit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !d.exited() {
			d.w.cmd.Process.Kill()
			d.w.wait()
		}
		if t.Failed() {
			log := firstLines(d.w.out.String(), 200)
			if len(log) > 64<<10 {
				log = log[:64<<10] + "…"
			}
			t.Logf("daemon log (first lines):\n%s", log)
		}
	})
	if !d.waitFor(30*time.Second, func() bool { code, _, _ := d.get("/healthz", time.Second); return code == http.StatusOK }) {
		killed, _, _, werr := d.w.stats()
		t.Fatalf("no /healthz within 30 s (exited: %v, killed: %q)", werr, killed)
	}
	health := pollHealth(d)
	defer health.end()
	ready := d.waitFor(30*time.Second, func() bool {
		st, ok := d.status()
		return ok && hasPlugin(st, "budget_reset") && hasPlugin(st, "worker_ttl")
	})
	if !ready {
		t.Errorf("budget_reset and worker_ttl were not both loaded within 30 s")
	}
	for _, m := range g.modules {
		if hotDeployed(m) {
			copyFile(t, wasmPath(t, m.file), dir, m.file+".wasm")
		}
	}
	var pending []string // modules neither running nor listed as invalid
	d.waitFor(resolveLimit, func() bool {
		st, ok := d.status()
		if !ok {
			return false
		}
		pending = pending[:0]
		for _, m := range g.modules {
			if !isInvalid(st, m) && !isRunning(st, m) {
				pending = append(pending, m.file)
			}
		}
		return len(pending) == 0
	})
	if len(pending) > 0 {
		t.Errorf("after %v these modules were neither running nor listed as invalid in /v1/plugins: %s", resolveLimit, strings.Join(pending, ", "))
	}
	m0 := d.metrics()
	time.Sleep(window)
	m1 := d.metrics()
	st, _ := d.status()
	// Ready, but for the hostile modules that never succeed, which the
	// daemon names stale (budget_reset and worker_ttl never are), and for
	// a module that claims a running plugin's name, a conflict the daemon
	// reports until the file goes.
	if code, body, _ := d.get("/readyz", 5*time.Second); code != http.StatusOK {
		body = strings.TrimSpace(body)
		stale := strings.HasPrefix(body, "not ready: stale plugins") && !strings.Contains(body, "budget_reset") && !strings.Contains(body, "worker_ttl")
		conflict := strings.HasPrefix(body, "not ready: plugin name conflict: budget_reset is claimed by budget_reset.wasm, describe_name_budget_reset.wasm")
		if !stale && !conflict {
			t.Errorf("/readyz = %d %q after the window; want the daemon ready, or only hostile modules stale or in conflict", code, body)
		}
	}

	// SIGTERM: the daemon drains within its grace.
	stopAt := time.Now()
	polls, slowest, bad := health.end()
	if err := d.w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-d.w.done:
	case <-time.After(daemonGrace + 2*time.Second):
		t.Errorf("the daemon was still running %v after SIGTERM (grace %v)", daemonGrace+2*time.Second, daemonGrace)
		d.w.cmd.Process.Kill()
		d.w.wait()
	}
	killed, peakRSS, peakTemp, werr := d.w.stats()
	if killed != "" {
		t.Errorf("the watchdog killed the daemon: %s", killed)
	} else if code := d.w.cmd.ProcessState.ExitCode(); code != 0 && code != 1 {
		t.Errorf("the daemon exited %d (%v) %v after SIGTERM; want 0 or 1", code, werr, time.Since(stopAt).Round(time.Millisecond))
	}
	lr := lock.stop(t)
	t.Logf("%d /healthz polls, slowest %v; write lock from another process: %d attempts, longest wait %d ms (at %s); daemon peak RSS %d MiB, temporary files %d MiB",
		polls, slowest.Round(time.Millisecond), lr.Attempts, lr.LongestMS, lr.LongestAt, peakRSS>>20, peakTemp>>20)

	if len(bad) > 0 {
		t.Errorf("%d of %d /healthz polls were not answered 200 within %v; the first: %s", len(bad), polls, healthWait, strings.Join(bad[:min(3, len(bad))], "; "))
	}
	if time.Duration(lr.LongestMS)*time.Millisecond > lockWait {
		t.Errorf("another process waited %d ms for the write lock (until %s); want at most %v", lr.LongestMS, lr.LongestAt, lockWait)
	}
	if lr.Err != "" {
		t.Errorf("lock helper: %s", lr.Err)
	}
	if lr.Taken == 0 {
		t.Errorf("the lock helper never took the write lock")
	}
	logText := d.w.out.String()
	if n := d.w.out.Dropped(); n > 0 {
		t.Logf("the daemon logged %d MiB more than the test keeps", n>>20)
	}
	lines := parseLog(logText)
	checkGoodPlugins(t, m0, m1, lines)
	if n := testutil.Count(t, hdb.SQL, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, now); n != 0 {
		t.Errorf("budget_reset left %d due budgets", n)
	}
	if n := testutil.Count(t, hdb.SQL, `SELECT count(*) FROM ff_worker_registry`); n != 0 {
		t.Errorf("worker_ttl left %d expired workers", n)
	}
	// What each module did, in a subtest of its own.
	for _, m := range g.modules {
		t.Run(m.file, func(t *testing.T) {
			if m.outcome == refused {
				checkRefusedInDaemon(t, m, st, lines)
			} else {
				checkLoadedInDaemon(t, m, st, m1, lines)
			}
			if m.maxRSS > 0 && peakRSS > m.maxRSS+daemonBaseRSS {
				t.Errorf("the daemon reached %d MiB of resident memory; want at most %d MiB (%d MiB for the daemon itself)",
					peakRSS>>20, (m.maxRSS+daemonBaseRSS)>>20, daemonBaseRSS>>20)
			}
			if m.maxTemp > 0 && peakTemp > m.maxTemp {
				t.Errorf("the daemon held %d MiB of temporary files at once; want at most %d MiB", peakTemp>>20, m.maxTemp>>20)
			}
			// The modules that write mark their rows with their name.
			if n := testutil.Count(t, hdb.SQL, `SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'hostile' AND worker_instance_id = ?`, m.file); n != 0 {
				t.Errorf("%d rows it wrote reached the database", n)
			}
		})
	}
	var ic string
	if err := hdb.SQL.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check: %q, %v", ic, err)
	}
}

func hasPlugin(st status, name string) bool {
	for _, p := range st.Plugins {
		if p.Name == name {
			return true
		}
	}
	return false
}

// isRunning reports whether a plugin loaded from m's file runs.
func isRunning(st status, m module) bool {
	for _, p := range st.Plugins {
		if filepath.Base(p.File) == m.file+".wasm" {
			return true
		}
	}
	return false
}

func isInvalid(st status, m module) bool {
	for _, f := range st.Invalid {
		if filepath.Base(f.File) == m.file+".wasm" {
			return true
		}
	}
	return false
}

// checkGoodPlugins checks that budget_reset and worker_ttl ticked on
// through the window, every tick a success that did not run long.
func checkGoodPlugins(t *testing.T, m0, m1 map[string]float64, lines []logLine) {
	t.Helper()
	for _, name := range []string{"budget_reset", "worker_ttl"} {
		series := `ffwasmhost_ticks_total{outcome="ok",plugin="` + name + `"}`
		if m1[series] <= m0[series] {
			t.Errorf("%s did not tick successfully during the %v window: %s went from %v to %v", name, window, series, m0[series], m1[series])
		}
		if n, first := linesWith(lines, name, "msg=tick failed"); n > 0 {
			t.Errorf("%d ticks of %s failed; the first: %s", n, name, first)
		}
		for _, l := range lines {
			if l.plugin == name && (l.msg == "tick" || l.msg == "tick failed") && l.dur > daemonDeadline+slack {
				t.Errorf("a tick of %s lasted %v: %s", name, l.dur.Round(time.Millisecond), strings.TrimSpace(l.raw))
			}
		}
	}
}

// checkRefusedInDaemon checks that a module to refuse is listed as
// invalid with its reasons, logged with its file, and not running.
func checkRefusedInDaemon(t *testing.T, m module, st status, lines []logLine) {
	t.Helper()
	file := m.file + ".wasm"
	listed := false
	for _, f := range st.Invalid {
		if filepath.Base(f.File) != file {
			continue
		}
		listed = true
		for _, r := range m.reasons {
			if !strings.Contains(f.Error, r) {
				t.Errorf("%s is listed as invalid without %q: %s", file, r, f.Error)
			}
		}
	}
	if !listed {
		t.Errorf("%s is not listed under \"invalid\" in /v1/plugins", file)
	}
	for _, p := range st.Plugins {
		if filepath.Base(p.File) == file {
			t.Errorf("%s runs as plugin %q (%d ticks, %d failures); want it refused", file, p.Name, p.Ticks, p.Failures)
		}
	}
	for _, r := range m.reasons {
		found := false
		for _, l := range lines {
			if strings.Contains(l.text, file) && strings.Contains(l.text, r) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no log line names %s and %q", file, r)
		}
	}
}

// checkLoadedInDaemon checks a module that must load: it ticked, its
// failures were counted as failures, no tick that overran was counted a
// success, none lasted past the deadline and the slack, and the log names
// it with its reasons.
func checkLoadedInDaemon(t *testing.T, m module, st status, mt map[string]float64, lines []logLine) {
	t.Helper()
	name := pluginName(m)
	var ticks, failures int64
	found := false
	for _, p := range st.Plugins {
		if p.Name == name {
			found, ticks, failures = true, p.Ticks, p.Failures
		}
	}
	if !found {
		t.Errorf("%s is not running", name)
		return
	}
	if ticks < badTicks {
		t.Errorf("%s ticked %d times in /v1/plugins; want at least %d (a tick that never ends?)", name, ticks, badTicks)
	}
	ok := mt[`ffwasmhost_ticks_total{outcome="ok",plugin="`+name+`"}`]
	errs := mt[`ffwasmhost_ticks_total{outcome="error",plugin="`+name+`"}`]
	if m.outcome == tickFails && (ok != 0 || failures != ticks) {
		t.Errorf("%s: every tick must fail, but /metrics counts %v ok and %v error ticks and /v1/plugins %d failures in %d ticks", name, ok, errs, failures, ticks)
	}
	if count := mt[`ffwasmhost_tick_duration_seconds_count{plugin="`+name+`"}`]; mt[`ffwasmhost_tick_duration_seconds_bucket{plugin="`+name+`",le="2.5"}`] != count {
		t.Errorf("%s: the tick duration histogram has ticks over 2.5 s", name)
	}
	var okTicks, overran, long int
	var firstOverran, firstLong string
	for _, l := range lines {
		if l.plugin != name || (l.msg != "tick" && l.msg != "tick failed") {
			continue
		}
		if l.msg == "tick" {
			okTicks++
			if l.dur > daemonDeadline {
				if overran++; overran == 1 {
					firstOverran = strings.TrimSpace(short(l.raw))
				}
			}
		}
		if l.dur > daemonDeadline+slack {
			if long++; long == 1 {
				firstLong = strings.TrimSpace(short(l.raw))
			}
		}
	}
	if overran > 0 {
		t.Errorf("%s: %d ticks ran past their %v deadline and were counted successes; the first: %s", name, overran, daemonDeadline, firstOverran)
	}
	if long > 0 {
		t.Errorf("%s: %d ticks lasted more than %v; the first: %s", name, long, daemonDeadline+slack, firstLong)
	}
	if m.outcome == tickFails && okTicks > 0 {
		t.Errorf("%s: the log has %d successful ticks; every tick must fail", name, okTicks)
	}
	for _, r := range m.reasons {
		if n, _ := linesWith(lines, name, r); n == 0 {
			t.Errorf("no log line names plugin %s and %q", name, r)
		}
	}
	// No module may be answered where it expects a refusal, or answered
	// against ABI.md, whatever its row says.
	never := []string{escaped, unexpected}
	for _, s := range m.never {
		if !slices.Contains(never, s) {
			never = append(never, s)
		}
	}
	for _, s := range never {
		if n, first := linesWith(lines, name, s); n > 0 {
			t.Errorf("%d log lines name %s and %q; the first: %s", n, name, s, first)
		}
	}
}

// runCLIDryRun runs each module of the group once with `ffwasmhost tick
// --dry-run` on a database with rows in every table and checks that
// nothing changed.
func runCLIDryRun(t *testing.T, g daemonGroup) {
	a := built(t)
	bin := binary(t)
	for _, m := range g.modules {
		t.Run(m.file, func(t *testing.T) { cliDryRun1(t, a, bin, m) })
	}
}

func cliDryRun1(t *testing.T, a artifacts, bin string, m module) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, wasmPath(t, m.file), dir, m.file+".wasm")
	dbPath := filepath.Join(tmp, "ff.db")
	ctx := context.Background()
	hdb, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hdb.Close()
	if err := hdb.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.SeedEveryTable(t, hdb.SQL)
	before := testutil.DumpDatabase(t, hdb.SQL, nil)
	cmd := exec.Command(bin, "tick", "--dry-run", "--db", dbPath, "--plugins", dir, "--cache-dir", a.cache,
		"--limit", "tick-timeout="+daemonDeadline.String(), pluginName(m))
	w, err := watch(cmd, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.wait()
	killed, _, _, werr := w.stats()
	out := w.out.String()
	switch {
	case killed != "":
		t.Errorf("tick --dry-run killed: %s\n%s", killed, short(out))
	case m.outcome == tickFails && werr == nil:
		t.Errorf("tick --dry-run succeeded; want it to fail\n%s", short(out))
	case !strings.Contains(out, `"plugin":"`+pluginName(m)+`"`):
		t.Errorf("tick --dry-run printed no result line (%v):\n%s", werr, short(out))
	}
	if after := testutil.DumpDatabase(t, hdb.SQL, nil); after != before {
		t.Errorf("tick --dry-run changed the database (%v):\n%s\n%s", werr, short(out), short(diffLines(before, after)))
	}
	var ic string
	if err := hdb.SQL.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check: %q, %v", ic, err)
	}
	if err := testutil.TryWriteLock(dbPath); err != nil {
		t.Errorf("after tick --dry-run another connection cannot take the write lock: %v", err)
	}
}
