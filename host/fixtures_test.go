package host_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// fxWasm builds the fixture plugin testdata/plugins/name (once per test
// process) and returns the .wasm path.
func fxWasm(t testing.TB, name string) string {
	t.Helper()
	return plugintest.Build(t, "./testdata/plugins/"+name)
}

var fxShared struct {
	once sync.Once
	eng  *host.Engine
	err  error
	log  fxLog
}

// fxEngine returns an engine shared by this package's tests whose log goes
// to fxEngineLog. Its compilation cache is on disk, in a fixed directory
// under os.TempDir shared by test processes, because compiling a Go plugin
// under -race takes seconds. Tests that read the log filter it by plugin.
func fxEngine(t testing.TB) *host.Engine {
	t.Helper()
	fxShared.once.Do(func() {
		fxShared.eng, fxShared.err = host.NewEngine(host.EngineConfig{
			CacheDir: plugintest.CacheDir(),
			Logger:   slog.New(slog.NewTextHandler(&fxShared.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	})
	if fxShared.err != nil {
		t.Fatal(fxShared.err)
	}
	return fxShared.eng
}

// fxEngineLog returns what fxEngine's plugins and runners logged.
func fxEngineLog() *fxLog { return &fxShared.log }

// fxSetup is a database prepared for one test by fxOpen.
type fxSetup struct {
	DB   *sqlite.Store
	Path string
}

// fxOpen opens a fresh migrated database, runs setup statements on it and
// closes it when the test ends.
func fxOpen(t testing.TB, opts sqlite.Options, setup ...string) fxSetup {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ff.db")
	db, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range setup {
		if _, err := db.SQL.Exec(s); err != nil {
			t.Fatalf("setup %q: %v", s, err)
		}
	}
	return fxSetup{DB: db, Path: path}
}

// fxRunner loads fixture name with fxEngine and binds it to db. A name
// ending in .wasm is a committed module under testdata/wat; any other is a
// Go fixture under testdata/plugins.
func fxRunner(t testing.TB, db *sqlite.Store, name string, lim host.Limits, opts host.RunnerOptions) *host.Runner {
	t.Helper()
	ctx := context.Background()
	file := filepath.Join("testdata", "wat", name)
	if !strings.HasSuffix(name, ".wasm") {
		file = fxWasm(t, name)
	}
	p, err := fxEngine(t).Load(ctx, file, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	r, err := host.NewRunner(ctx, db, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(ctx) })
	return r
}

// fxLog is a goroutine-safe buffer for a slog handler.
type fxLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *fxLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *fxLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fxLines returns the log lines that contain every one of subs.
func (l *fxLog) fxLines(subs ...string) []string {
	var out []string
	for line := range strings.Lines(l.String()) {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// fxCount returns the single integer query yields on db.
func fxCount(t testing.TB, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// fxDump returns every row of every table except those in skip, and every
// row of sqlite_schema, as sorted text: two dumps are equal exactly when
// the content is.
func fxDump(t testing.TB, db *sql.DB, skip ...string) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	b.WriteString(testutil.DumpQuery(t, db, "sqlite_schema", `SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema`))
	for _, tb := range tables {
		if !fxContainsFold(skip, tb) {
			b.WriteString(testutil.DumpQuery(t, db, tb, `SELECT * FROM "`+tb+`"`))
		}
	}
	return b.String()
}

func fxContainsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// fxCopy copies src to dir/name.
func fxCopy(t testing.TB, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fxWantErr fails unless err is non-nil, wraps every target and contains
// every substring.
func fxWantErr(t testing.TB, err error, targets []error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("error %q does not wrap %v", fxShort(err.Error()), target)
		}
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", fxShort(err.Error()), s)
		}
	}
}

// fxShort cuts s for a readable failure message.
func fxShort(s string) string {
	if len(s) > 500 {
		return s[:500] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// fxTinyDesc is a valid descriptor for a hand-assembled plugin.
func fxTinyDesc(name string) string {
	return `{"name":"` + name + `","abi_version":"1.0","version":"0.1.0","default_interval_ms":1000,"reads":[],"writes":[],"description":"hand-assembled"}`
}

// fxWrite writes b to dir/name and returns the path.
func fxWrite(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
