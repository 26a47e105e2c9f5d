package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

func TestValueRoundTrip(t *testing.T) {
	for _, v := range []any{nil, int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 1.5, -0.25, 3.0,
		"", "42", "text with \"quotes\" and é", []byte{}, []byte{0, 1, 255}} {
		b, err := json.Marshal(replay.Value{V: v})
		if err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
		var got replay.Value
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !reflect.DeepEqual(got.V, v) {
			t.Errorf("%#v -> %s -> %#v", v, b, got.V)
		}
	}
	for _, bad := range []string{`true`, `[1]`, `{"real":"x"}`, `{"blob":"%%%"}`, `{"other":1}`, `1.5`, `{"real":1,"blob":""}`} {
		var v replay.Value
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("unmarshal %s = %#v, want an error", bad, v.V)
		}
	}
	if _, err := json.Marshal(replay.Value{V: math.NaN()}); err == nil {
		t.Error("NaN marshalled")
	}
}

// migrated returns a migrated SQLite store in a temporary directory.
func migrated(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ff.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestCaptureWriteReadRestore: rows captured from a snapshot, written,
// read back and restored into another database are the same rows, types
// included.
func TestCaptureWriteReadRestore(t *testing.T) {
	ctx := context.Background()
	src := migrated(t)
	testutil.SeedEveryTable(t, src.SQL)
	if _, err := src.SQL.Exec(`UPDATE ff_budget_usage SET last_reset_at_ms = NULL, dimensions_key = 'a "b"'`); err != nil {
		t.Fatal(err)
	}
	tables := []string{"ff_budget_policy", "ff_budget_usage", "ff_worker_registry"}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &replay.Fixture{Plugin: "p", NowMS: 1234, Error: "boom", At: time.Unix(1, 0).UTC()}
	if err := f.Capture(ctx, snap, tables, 1<<20); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	dir := t.TempDir()
	path, err := replay.Write(dir, f, 10)
	if err != nil || filepath.Base(path) != "p-1234-p0.json" {
		t.Fatalf("Write = %s, %v", path, err)
	}
	back, err := replay.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := migrated(t)
	testutil.SeedDue(t, dst.SQL, 5000, 2, 2) // rows the restore must replace
	if err := back.Restore(ctx, dst.SQL); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		q := "SELECT * FROM " + table
		if a, b := testutil.DumpQuery(t, src.SQL, table, q), testutil.DumpQuery(t, dst.SQL, table, q); a != b {
			t.Errorf("restored %s differs:\n%s\n%s", table, a, b)
		}
	}
}

// TestSnapshotIsAMoment: rows written after the snapshot are not in it, and
// the snapshot blocks no writer.
func TestSnapshotIsAMoment(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	testutil.SeedDue(t, db.SQL, 5000, 1, 0)
	snap, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if err := testutil.TryWriteLock(db.Path()); err != nil {
		t.Fatalf("a writer waits for the snapshot: %v", err)
	}
	if _, err := db.SQL.Exec(`UPDATE ff_budget_usage SET current_value = 0`); err != nil {
		t.Fatal(err)
	}
	_, rows, err := snap.Rows(ctx, "ff_budget_usage", 1<<20)
	if err != nil || len(rows) != 2 {
		t.Fatalf("Rows = %v, %v", rows, err)
	}
	for _, r := range rows {
		if r[3] != int64(42) {
			t.Errorf("snapshot row %v: current_value changed under it", r)
		}
	}
	if _, _, err := snap.Rows(ctx, "ff_budget_usage", 10); !errors.Is(err, store.ErrTooBig) {
		t.Errorf("Rows over the bound = %v, want ErrTooBig", err)
	}
	if _, _, err := snap.Rows(ctx, "no_such_table", 10); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("Rows of a missing table = %v", err)
	}
}

func TestWriteKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	for _, now := range []int64{5, 30, 100, 7, 2} {
		if _, err := replay.Write(dir, &replay.Fixture{Plugin: "p", NowMS: now}, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := replay.Write(dir, &replay.Fixture{Plugin: "other", NowMS: 1}, 3); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"other-1-p0.json", "p-100-p0.json", "p-30-p0.json", "p-7-p0.json"}
	if !slices.Equal(names, want) {
		t.Errorf("kept %v, want %v", names, want)
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"not json", "{", "unexpected end"},
		{"format", `{"format":2,"plugin":"p"}`, "format 2"},
		{"no plugin", `{"format":1}`, "no plugin"},
		{"ragged", `{"format":1,"plugin":"p","tables":[{"name":"t","columns":["a","b"],"rows":[[1]]}]}`, "row 1 has 1 values for 2 columns"},
		{"table name", `{"format":1,"plugin":"p","tables":[{"name":"t\" ; DROP TABLE x; --","columns":["a"],"rows":[]}]}`, "not a plain identifier"},
		{"column name", `{"format":1,"plugin":"p","tables":[{"name":"t","columns":["a b"],"rows":[]}]}`, "not a plain identifier"},
		{"bad value", `{"format":1,"plugin":"p","tables":[{"name":"t","columns":["a"],"rows":[[true]]}]}`, "unknown value"},
	} {
		path := filepath.Join(dir, tc.name+".json")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := replay.Read(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Read = %v, want %q naming the file", tc.name, err, tc.want)
		}
	}
}
