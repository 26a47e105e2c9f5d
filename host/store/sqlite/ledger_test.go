package sqlite_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestTickLedger: each tick is one upsert that keeps the last tick, the
// last success and the counts, per plugin and partition, and the ledger
// survives closing and reopening the database.
func TestTickLedger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	db := mustOpenMigrated(t, path, sqlite.Options{})
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	tick := func(plugin string, start int64, errText string) store.Tick {
		return store.Tick{Plugin: plugin, Start: at(start), End: at(start + 5), Err: errText, Processed: 2, Errors: 1,
			Version: "1.0", SHA256: "abc", Daemon: "d1", Interval: 15 * time.Second,
			Changes: []store.TableChanges{{Table: "t", Inserted: 1, Updated: 2, Deleted: 3}}}
	}
	for _, tk := range []store.Tick{
		tick("a", 1_000, ""), tick("a", 2_000, "boom"), tick("a", 3_000, "boom again"),
		tick("b", 1_500, "never worked"),
	} {
		if err := db.RecordTick(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = mustOpenMigrated(t, path, sqlite.Options{})
	recs, err := db.Ticks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TickRecord{
		{Tick: tick("a", 3_000, "boom again"), Since: at(1_000), LastSuccess: at(1_005), ConsecutiveFailures: 2, Ticks: 3, Failures: 2},
		{Tick: tick("b", 1_500, "never worked"), Since: at(1_500), ConsecutiveFailures: 1, Ticks: 1, Failures: 1},
	}
	if len(recs) != len(want) {
		t.Fatalf("ledger = %+v, want %+v", recs, want)
	}
	for i := range want {
		if !recs[i].Start.Equal(want[i].Start) || !recs[i].LastSuccess.Equal(want[i].LastSuccess) || !recs[i].Since.Equal(want[i].Since) {
			t.Errorf("row %d times: got start %v since %v success %v, want %v %v %v", i,
				recs[i].Start, recs[i].Since, recs[i].LastSuccess, want[i].Start, want[i].Since, want[i].LastSuccess)
		}
		recs[i].Start, recs[i].End, recs[i].Since, recs[i].LastSuccess = want[i].Start, want[i].End, want[i].Since, want[i].LastSuccess
		if !reflect.DeepEqual(recs[i], want[i]) {
			t.Errorf("row %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
	// A success clears the run of failures.
	if err := db.RecordTick(ctx, tick("a", 4_000, "")); err != nil {
		t.Fatal(err)
	}
	recs, _ = db.Ticks(ctx)
	if r := recs[0]; r.ConsecutiveFailures != 0 || !r.LastSuccess.Equal(at(4_005)) || r.Ticks != 4 || r.Failures != 2 || r.Err != "" {
		t.Errorf("after a success: %+v", r)
	}
}
