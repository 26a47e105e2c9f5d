package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

const createLeases = `CREATE TABLE leases (id INTEGER PRIMARY KEY, worker TEXT NOT NULL)`

func leases(version string, steps ...string) tinySpec {
	return tinySpec{Name: "stale_leases", Version: version, IntervalMS: 20, Processed: 1, Owns: []string{"leases"}, Migrations: steps}
}

// TestMigrationsAppliedOnLoad: a plugin that owns a table gets its
// migrations when it loads, before its first tick; a version whose
// applied migration changed is refused while the running one goes on; a
// later version's new step is applied; a second plugin claiming the table
// is refused.
func TestMigrationsAppliedOnLoad(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{})
	d := f.open()
	db := d.st.(*sqlite.Store).SQL

	v1 := tinyWasm(t, leases("1", createLeases))
	f.write("stale_leases.wasm", v1)
	f.scan()
	ps := f.waitTicks("stale_leases", sha(v1), 1)
	if n := testutil.Count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name = 'leases'`); n != 1 {
		t.Fatal("table leases was not created")
	}
	if len(ps.Owns) != 1 || ps.Owns[0] != "leases" || len(ps.Migrations) != 1 ||
		ps.Migrations[0].Name != "step 1" || ps.Migrations[0].Checksum != store.MigrationChecksum(createLeases) {
		t.Fatalf("status owns %q, migrations %+v", ps.Owns, ps.Migrations)
	}
	if !strings.Contains(f.log.String(), "plugin migration applied") {
		t.Error("the log does not say the migration was applied")
	}

	changed := createLeases + " -- edited"
	v2 := tinyWasm(t, leases("2", changed))
	f.write("stale_leases.wasm", v2)
	f.scan()
	st := d.Status(ctx)
	if len(st.Invalid) != 1 {
		t.Fatalf("invalid = %+v, want the changed version", st.Invalid)
	}
	msg := st.Invalid[0].Error
	for _, want := range []string{"stale_leases", "migration 1 (step 1)", store.MigrationChecksum(createLeases), store.MigrationChecksum(changed)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	before, _ := f.plugin("stale_leases")
	f.waitTicks("stale_leases", sha(v1), before.Ticks+2) // v1 keeps ticking

	v3 := tinyWasm(t, leases("3", createLeases, `ALTER TABLE leases ADD COLUMN expires_ms INTEGER`))
	f.write("stale_leases.wasm", v3)
	f.scan()
	ps = f.waitTicks("stale_leases", sha(v3), before.Ticks+3)
	if len(ps.Migrations) != 2 || ps.Migrations[1].ID != 2 {
		t.Errorf("migrations after v3 = %+v, want 2", ps.Migrations)
	}
	testutil.Count(t, db, `SELECT count(expires_ms) FROM leases`)

	thief := tinySpec{Name: "thief", Version: "1", IntervalMS: 20, Owns: []string{"LEASES"},
		Migrations: []string{`ALTER TABLE leases ADD COLUMN stolen TEXT`}}
	f.write("thief.wasm", tinyWasm(t, thief))
	f.scan()
	st = d.Status(ctx)
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, "table LEASES is owned by plugin stale_leases") {
		t.Errorf("invalid = %+v, want thief refused for the owned table", st.Invalid)
	}
}

// TestTableClaimedByTwoNewPlugins: two plugins that appear together and
// claim the same table, which no plugin owns yet, are both refused, as two
// files claiming one name are; once one gives it up, the other loads.
func TestTableClaimedByTwoNewPlugins(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{})
	a := tinyWasm(t, tinySpec{Name: "alpha", Version: "1", IntervalMS: 20, Owns: []string{"shared"}, Migrations: []string{`CREATE TABLE shared (x)`}})
	b := tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20, Owns: []string{"SHARED"}})
	f.write("alpha.wasm", a)
	f.write("beta.wasm", b)
	d := f.open()
	st := d.Status(ctx)
	if len(st.Plugins) != 0 || len(st.Invalid) != 2 {
		t.Fatalf("plugins %+v, invalid %+v; want both refused", st.Plugins, st.Invalid)
	}
	for _, inv := range st.Invalid {
		if !strings.Contains(inv.Error, "table claimed by two plugins: shared, also owned by") {
			t.Errorf("%s: %s", inv.File, inv.Error)
		}
	}
	if err := os.Remove(filepath.Join(f.dir, "beta.wasm")); err != nil {
		t.Fatal(err)
	}
	d.Rescan(ctx)
	f.waitTicks("alpha", sha(a), 1)
	// beta, back, finds the table owned.
	f.write("beta.wasm", withCustomSection(b, "again"))
	f.scan()
	st = d.Status(ctx)
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, "table SHARED is owned by plugin alpha") {
		t.Errorf("invalid = %+v, want beta refused for alpha's table", st.Invalid)
	}
}
