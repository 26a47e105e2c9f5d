package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// fixedNow is the now_ms of the one-shot tick tests.
const fixedNow = 1_767_225_600_000

// tickJSON is the line `ffwasmhost tick` prints.
type tickJSON struct {
	Plugin    string `json:"plugin"`
	Processed int64  `json:"processed"`
	Errors    int64  `json:"errors"`
	Ticks     int    `json:"ticks"`
	Error     string `json:"error"`
}

func tick(t *testing.T, path string, args ...string) (tickJSON, result) {
	t.Helper()
	res := ffwasmhost(t, nil, append([]string{"tick", "--db", path, "--plugins", pluginDir, "--cache-dir", cacheDir,
		"--now", "1767225600000"}, args...)...)
	var out tickJSON
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &out) != nil {
		t.Fatalf("tick %v: stdout is not one JSON line: %q (exit %d, stderr %q)", args, res.stdout, res.code, res.stderr)
	}
	return out, res
}

func TestTickDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	testutil.SeedDue(t, db, fixedNow, 45, 5)
	before := checksum(t, db)

	for _, c := range []struct {
		args []string
		want tickJSON
	}{
		{[]string{"--dry-run", "budget_reset"}, tickJSON{Plugin: "budget_reset", Processed: 20, Ticks: 1}},
		{[]string{"--dry-run", "--until-idle", "budget_reset"}, tickJSON{Plugin: "budget_reset", Processed: 45, Ticks: 4}},
		{[]string{"worker_ttl", "--dry-run"}, tickJSON{Plugin: "worker_ttl", Processed: 5, Ticks: 1}},
	} {
		got, res := tick(t, path, c.args...)
		if res.code != 0 || got != c.want {
			t.Errorf("tick %v = %+v (exit %d, stderr %q), want %+v", c.args, got, res.code, res.stderr, c.want)
		}
		if after := checksum(t, db); after != before {
			t.Fatalf("tick %v changed the database", c.args)
		}
	}
}

// TestTickDryRunDiff: --diff prints the rows a dry run would change, as a
// table or as JSON, at most --max-diff-rows of them, before the totals.
func TestTickDryRunDiff(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	testutil.SeedDue(t, db, fixedNow, 3, 0) // 3 policies and 6 usage rows to reset
	before := checksum(t, db)
	args := []string{"tick", "--db", path, "--plugins", pluginDir, "--cache-dir", cacheDir, "--now", "1767225600000", "--dry-run"}

	res := ffwasmhost(t, nil, append(args, "--diff", "json", "--max-diff-rows", "4", "budget_reset")...)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if res.code != 0 || len(lines) != 5 {
		t.Fatalf("tick --diff json = exit %d, %d lines, want 4 rows and the totals:\n%s%s", res.code, len(lines), res.stdout, res.stderr)
	}
	for _, l := range lines[:4] {
		var row struct {
			Tick     int
			Table    string
			Op       string
			Old, New map[string]any
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil || row.Tick != 1 || row.Op != "update" || row.Old["budget_id"] == nil ||
			(row.Table == "ff_budget_usage" && (row.Old["current_value"] != 42.0 || row.New["current_value"] != 0.0)) {
			t.Errorf("row %s: %v", l, err)
		}
	}
	if !strings.Contains(lines[4], `"processed":3`) || !strings.Contains(lines[4], `"diff_omitted":5`) {
		t.Errorf("totals %s, want 3 processed and 5 rows omitted", lines[4])
	}

	res = ffwasmhost(t, nil, append(args, "--diff", "table", "budget_reset")...)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "TICK") || strings.Count(res.stdout, "current_value=42→0") != 6 ||
		strings.Contains(res.stdout, "more changed rows") {
		t.Errorf("tick --diff table = exit %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	if after := checksum(t, db); after != before {
		t.Fatalf("a dry run with --diff changed the database")
	}
	if res := ffwasmhost(t, nil, append(args, "--diff", "xml", "budget_reset")...); res.code != 2 || !strings.Contains(res.stderr, "want table or json") {
		t.Errorf("--diff xml = exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestTickUntilIdleDrains(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	testutil.SeedDue(t, db, fixedNow, 45, 5)

	got, res := tick(t, path, "--until-idle", "budget_reset")
	if want := `{"plugin":"budget_reset","processed":45,"errors":0,"ticks":4,"changes":[` +
		`{"table":"ff_budget_policy","inserted":0,"updated":45,"deleted":0},` +
		`{"table":"ff_budget_usage","inserted":0,"updated":90,"deleted":0}]}` + "\n"; res.stdout != want || res.code != 0 {
		t.Errorf("tick --until-idle = %q (exit %d, stderr %q), want %q", res.stdout, res.code, res.stderr, want)
	}
	_ = got
	if n := testutil.Count(t, db, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, fixedNow); n != 0 {
		t.Errorf("%d budgets still due", n)
	}
	if n := testutil.Count(t, db, `SELECT count(*) FROM ff_budget_usage WHERE current_value != 0 OR last_reset_at_ms != ?`, fixedNow); n != 0 {
		t.Errorf("%d usage rows not reset at now", n)
	}
	if got, _ := tick(t, path, "--until-idle", "budget_reset"); got != (tickJSON{Plugin: "budget_reset", Ticks: 1}) {
		t.Errorf("second run = %+v, want one idle tick", got)
	}
	if got, _ := tick(t, path, "worker_ttl"); got != (tickJSON{Plugin: "worker_ttl", Processed: 5, Ticks: 1}) {
		t.Errorf("worker_ttl = %+v, want 5 swept", got)
	}
}

func TestFailingTickPrintsItsLineAndExits1(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	if _, err := db.Exec(`DROP TABLE ff_worker_registry`); err != nil {
		t.Fatal(err)
	}
	got, res := tick(t, path, "worker_ttl")
	if res.code != 1 || got.Plugin != "worker_ttl" || got.Ticks != 1 || !strings.Contains(got.Error, "ff_worker_registry") {
		t.Errorf("failing tick = %+v, exit %d; want exit 1 and the error in the JSON", got, res.code)
	}
	assertOneLine(t, res.stderr)
}

// assertOneLine fails unless s is exactly one line and no Go panic.
func assertOneLine(t *testing.T, s string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("stderr is not exactly one line: %q", s)
	}
	for _, bad := range []string{"goroutine", "panic"} {
		if strings.Contains(s, bad) {
			t.Errorf("stderr mentions %q: %q", bad, s)
		}
	}
}

func TestBadInputFailsWithOneLine(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	good := filepath.Join(tmp, "ff.db")
	openDB(t, good)
	notDB := filepath.Join(tmp, "not.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not SQLite ", 64)), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := "/nonexistent-dir/ff.db"
	// A Go plugin that never calls guest.Register, and one built without
	// -buildmode=c-shared: the two common mistakes of a new author.
	noRegister, command := filepath.Join(tmp, "no_register.wasm"), filepath.Join(tmp, "command.wasm")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	wasmEnv := []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}
	if err := goBuild(root, wasmEnv, "-buildmode=c-shared", "-o", noRegister, "./tests/e2e/testdata/noregister"); err != nil {
		t.Fatal(err)
	}
	if err := goBuild(root, wasmEnv, "-o", command, "./plugins/worker_ttl"); err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(tmp, "no-plugins")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	run := func(args ...string) []string {
		return append([]string{"run", "--http", "", "--cache-dir", cacheDir}, args...)
	}
	tickArgs := func(args ...string) []string {
		return append([]string{"tick", "--plugins", pluginDir, "--cache-dir", cacheDir}, args...)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string // a regexp the one line must match
	}{
		{"unknown plugin", nil, tickArgs("--db", good, "nope"), `unknown plugin "nope" .*known: budget_reset, worker_ttl`},
		{"run: unreadable db", nil, run("--db", unreadable, "--plugins", pluginDir), `open database /nonexistent-dir/ff.db: directory /nonexistent-dir does not exist`},
		{"migrate: unreadable db", nil, []string{"migrate", "--db", unreadable}, `/nonexistent-dir/ff.db: directory /nonexistent-dir does not exist`},
		{"tick: unreadable db", nil, tickArgs("--db", unreadable, "budget_reset"), `/nonexistent-dir/ff.db: directory /nonexistent-dir does not exist`},
		{"validate: no register", nil, []string{"validate", "--cache-dir", cacheDir, noRegister}, `describe returned nothing: does the plugin call guest.Register in an init function\?`},
		{"validate: not c-shared", nil, []string{"validate", "--cache-dir", cacheDir, command}, `a Go program built without -buildmode=c-shared: build it with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`},
		{"run: not sqlite", nil, run("--db", notDB, "--plugins", pluginDir), `not\.db: not a SQLite database`},
		{"migrate: not sqlite", nil, []string{"migrate", "--db", notDB}, `not\.db: not a SQLite database`},
		{"tick: not sqlite", nil, tickArgs("--db", notDB, "budget_reset"), `not\.db: not a SQLite database`},
		{"run: plugin dir missing", nil, run("--db", good, "--plugins", missingDir), `plugin directory .*no-plugins: plugin directory missing`},
		{"tick: plugin dir missing", nil, []string{"tick", "--db", good, "--plugins", missingDir, "budget_reset"}, `plugin directory .*no-plugins`},
		{"plugins: dir missing", nil, []string{"plugins", "--plugins", missingDir}, `plugin directory .*no-plugins`},
		{"interval: bad duration", nil, run("--interval", "budget_reset=abc"), `-interval: duration "abc"`},
		{"interval: no name", nil, run("--interval", "=5s"), `-interval: missing plugin name`},
		{"interval: no '='", nil, run("--interval", "x"), `-interval: want NAME=DURATION`},
		{"interval: negative", nil, run("--interval", "budget_reset=-1s"), `-interval: duration "-1s" is negative`},
		{"bad log format", nil, run("--log-format", "xml"), `-log-format: want text or json`},
		{"bad synchronous", nil, run("--synchronous", "OFF"), `-synchronous: want NORMAL or FULL`},
		{"bad env interval", []string{"FF_BUDGET_RESET_INTERVAL_S=abc"}, run("--db", good, "--plugins", pluginDir), `FF_BUDGET_RESET_INTERVAL_S="abc": want whole seconds`},
		{"http address in use", nil, []string{"run", "--db", good, "--plugins", pluginDir, "--http", busy.Addr().String()}, `admin http: listen tcp .*address already in use`},
		{"bad --now", nil, tickArgs("--db", good, "--now", "abc", "budget_reset"), `-now: want milliseconds since the Unix epoch`},
		{"negative --now", nil, tickArgs("--db", good, "--now", "-5", "budget_reset"), `-now: want milliseconds`},
		{"tick without a name", nil, tickArgs("--db", good), `want exactly one plugin NAME`},
		{"tick: db missing", nil, tickArgs("--db", filepath.Join(tmp, "missing.db"), "budget_reset"), `database \S+missing\.db does not exist \(create it with: ffwasmhost migrate`},
		{"unknown flag", nil, []string{"run", "--bogus"}, `flag provided but not defined: -bogus`},
		{"validate: no files", nil, []string{"validate"}, `want one or more FILE\.wasm`},
		{"extra argument", nil, []string{"migrate", "--db", good, "extra"}, `unexpected argument "extra"`},
		{"migrate: plugin dir missing", nil, []string{"migrate", "--db", good, "--plugins", missingDir}, `plugin directory .*no-plugins`},
		{"validate --db missing", nil, []string{"validate", "--db", filepath.Join(tmp, "missing.db"), "x.wasm"}, `database \S+missing\.db does not exist`},
		{"new: no name", nil, []string{"new"}, `want NAME and optionally DIR`},
		{"new: bad name", nil, []string{"new", "--sdk", "../..", "Bad-Name", filepath.Join(tmp, "bad")}, `plugin name "Bad-Name"`},
		{"new: bad language", nil, []string{"new", "--sdk", "../..", "--lang", "zig", "x", filepath.Join(tmp, "zig")}, `language "zig": want one of go, c, rust`},
		{"new: not a checkout", nil, []string{"new", "--sdk", tmp, "x", filepath.Join(tmp, "x")}, `not a checkout of github.com/ffwasmhost/ffwasmhost`},
		{"new: directory not empty", nil, []string{"new", "--sdk", "../..", "x", pluginDir}, `exists and is not empty; nothing was written`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := ffwasmhost(t, c.env, c.args...)
			if res.code == 0 {
				t.Fatalf("exit status 0, want non-zero; stderr %q", res.stderr)
			}
			assertOneLine(t, res.stderr)
			if !regexp.MustCompile(c.want).MatchString(res.stderr) {
				t.Errorf("stderr %q does not match %q", res.stderr, c.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
		})
	}
}

func TestValidateAndPlugins(t *testing.T) {
	t.Parallel()
	br, wt := filepath.Join(pluginDir, "budget_reset.wasm"), filepath.Join(pluginDir, "worker_ttl.wasm")
	res := ffwasmhost(t, nil, "validate", "--cache-dir", cacheDir, br, wt)
	want := "ok budget_reset ffhost " + br + "\nok worker_ttl ffhost " + wt + "\n"
	if res.code != 0 || res.stdout != want || res.stderr != "" {
		t.Errorf("validate = %d %q %q, want %q", res.code, res.stdout, res.stderr, want)
	}

	dir := copyPlugins(t, "budget_reset", "worker_ttl")
	broken := filepath.Join(dir, "broken.wasm")
	deploy(t, dir, "broken.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\x7f"))
	res = ffwasmhost(t, nil, "validate", "--cache-dir", cacheDir, br, broken)
	if res.code != 1 || res.stdout != "ok budget_reset ffhost "+br+"\n" || !strings.Contains(res.stderr, "broken.wasm") {
		t.Errorf("validate with a broken file = %d %q %q", res.code, res.stdout, res.stderr)
	}
	assertOneLine(t, res.stderr)

	res = ffwasmhost(t, nil, "plugins", "--plugins", dir, "--cache-dir", cacheDir)
	if res.code != 1 {
		t.Errorf("plugins with a broken file: exit %d, want 1", res.code)
	}
	assertOneLine(t, res.stderr)
	if !strings.Contains(res.stderr, "broken.wasm") {
		t.Errorf("plugins stderr %q does not name broken.wasm", res.stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("plugins table:\n%s", res.stdout)
	}
	for _, h := range []string{"KIND", "FILE", "SHA256", "ABI", "VERSION", "INTERVAL", "READS", "WRITES", "OWNS", "DIALECTS", "PARTITIONS"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header lacks %s: %q", h, lines[0])
		}
	}
	row := regexp.MustCompile(`^budget_reset\s+ffhost\s+\S+budget_reset\.wasm\s+[0-9a-f]{12}\s+` + regexp.QuoteMeta(abi.Version) + `\s+1\.0\.0\s+15s\s+-\s+ff_budget_policy,ff_budget_usage\s+-\s+sqlite,postgres\s+budget$`)
	if !row.MatchString(lines[1]) {
		t.Errorf("budget_reset row = %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "worker_ttl") || !strings.Contains(lines[2], "30s") {
		t.Errorf("worker_ttl row = %q", lines[2])
	}
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	if res := ffwasmhost(t, nil, "plugins", "--plugins", dir, "--cache-dir", cacheDir); res.code != 0 || res.stderr != "" {
		t.Errorf("plugins = %d, stderr %q", res.code, res.stderr)
	}
}

func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		if res := ffwasmhost(t, nil, args...); res.code != 0 || !strings.Contains(res.stdout, "Commands:") {
			t.Errorf("%v = %d %q", args, res.code, res.stdout)
		}
	}
	for _, args := range [][]string{{"run", "-h"}, {"help", "run"}} {
		if res := ffwasmhost(t, nil, args...); res.code != 0 || !strings.Contains(res.stdout, "-interval NAME=DURATION") {
			t.Errorf("%v = %d %q", args, res.code, res.stdout)
		}
	}
	res := ffwasmhost(t, nil, "frobnicate")
	if res.code != 2 || !strings.Contains(res.stderr, `unknown command "frobnicate"`) || !strings.Contains(res.stderr, "Commands:") {
		t.Errorf("unknown command = %d %q", res.code, res.stderr)
	}
	if res := ffwasmhost(t, nil); res.code != 2 || !strings.Contains(res.stderr, "Commands:") {
		t.Errorf("no command = %d %q", res.code, res.stderr)
	}
	if strings.Contains(ffwasmhost(t, nil, "help").stdout, "demo-seed") {
		t.Errorf("help lists the hidden demo-seed command")
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	for range 2 {
		if res := ffwasmhost(t, nil, "migrate", "--db", path); res.code != 0 || res.stdout != "ok "+path+"\n" {
			t.Fatalf("migrate = %d %q %q", res.code, res.stdout, res.stderr)
		}
	}
	db := openDB(t, path)
	if n := testutil.Count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name LIKE 'ff\_%' ESCAPE '\'`); n != 5 {
		t.Errorf("schema objects = %d, want 4 tables and 1 index", n)
	}
	if n := testutil.Count(t, db, `SELECT count(*) FROM ffwasmhost_migrations`); int(n) != sqlite.LatestSchemaVersion {
		t.Errorf("migration ledger rows = %d, want %d", n, sqlite.LatestSchemaVersion)
	}
}
