package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestFixtureOfAFailedTick: with FixtureDir set, the first failure of a
// run of failures is written down, once, with the rows of the plugin's
// declared tables as they were before the tick; a plugin that succeeds
// leaves none.
func TestFixtureOfAFailedTick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixtures")
	f := newFixture(t, Config{FixtureDir: dir})
	ctx := context.Background()
	db, err := sqlite.Open(ctx, f.db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.SeedDue(t, db.SQL, 5000, 3, 0)
	failing := tinyWasm(t, tinySpec{Name: "alpha", Version: "1", IntervalMS: 20, Status: 1, Reads: []string{"ff_budget_policy"}})
	f.write("alpha.wasm", failing)
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20, Reads: []string{"ff_budget_policy"}}))
	f.open()
	f.waitTicks("alpha", sha(failing), 4)
	f.waitTicks("beta", "", 4)

	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("fixture directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "alpha-") {
		t.Fatalf("fixtures = %v, %v; want one, of alpha, for its run of failures", ents, err)
	}
	fx, err := replay.Read(filepath.Join(dir, ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if fx.Plugin != "alpha" || fx.SHA256 != sha(failing) || fx.File != filepath.Join(f.dir, "alpha.wasm") ||
		!strings.Contains(fx.Error, "scan_tick returned 1") || fx.Dialect != "sqlite" || fx.NowMS <= 0 {
		t.Errorf("fixture = %+v", fx)
	}
	if len(fx.Tables) != 1 || fx.Tables[0].Name != "ff_budget_policy" || len(fx.Tables[0].Rows) != 3 {
		t.Fatalf("fixture tables = %+v, want the 3 budget policies", fx.Tables)
	}
	if v, _ := f.metric("ffwasmhost_fixtures_written_total", "plugin", "alpha"); v != 1 {
		t.Errorf("ffwasmhost_fixtures_written_total{alpha} = %v, want 1", v)
	}
}

// TestFixtureCapturesOwnedTables: a failed tick's fixture holds the rows
// of the tables the plugin owns too.
func TestFixtureCapturesOwnedTables(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixtures")
	f := newFixture(t, Config{FixtureDir: dir})
	failing := tinyWasm(t, tinySpec{Name: "owner", Version: "1", IntervalMS: 20, Status: 1, Owns: []string{"notes"},
		Migrations: []string{`CREATE TABLE notes (x INTEGER); INSERT INTO notes VALUES (7)`}})
	f.write("owner.wasm", failing)
	f.open()
	f.waitTicks("owner", sha(failing), 2)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("fixtures = %v, %v; want one", ents, err)
	}
	fx, err := replay.Read(filepath.Join(dir, ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Tables) != 1 || fx.Tables[0].Name != "notes" || len(fx.Tables[0].Rows) != 1 {
		t.Fatalf("fixture tables = %+v, want notes and its row", fx.Tables)
	}
}
