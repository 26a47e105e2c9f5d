package daemon

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// partitionedWasm is a plugin that speaks postgres (ABI 1.4), walks
// family's partitions, reports its partition as its processed count, and
// fails in partition fail (-1: none).
func partitionedWasm(t *testing.T, name, family string, fail int32) []byte {
	t.Helper()
	desc, err := json.Marshal(map[string]any{
		"name": name, "abi_version": "1.4", "version": "1", "default_interval_ms": 1000,
		"dialects": []string{"sqlite", "postgres"}, "partition_family": family,
	})
	if err != nil {
		t.Fatal(err)
	}
	return wasmenc.Plugin{Desc: string(desc), ByPartition: true, FailPartition: fail}.Encode()
}

// pgFixture is a daemon on a fresh PostgreSQL database with roles of its
// own.
func pgFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	cfg.DBPath = pgtest.NewDatabase(t)
	cfg.PGOptions = postgres.Options{RolePrefix: pgtest.RolePrefix(t)}
	return newFixture(t, cfg)
}

// ledgerRows returns the ledger's rows of plugin, by partition.
func ledgerRows(t *testing.T, d *Daemon, plugin string) map[int]store.TickRecord {
	t.Helper()
	recs, err := d.st.Ticks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]store.TickRecord{}
	for _, r := range recs {
		if r.Plugin == plugin {
			out[r.Partition] = r
		}
	}
	return out
}

// TestPartitionFanOutOnPostgres: on PostgreSQL a partition-scoped plugin
// ticks once per partition of its family each interval, tick_partition
// telling each which; a failing partition is logged with its number and
// the others still tick; the ledger has one row per partition.
func TestPartitionFanOutOnPostgres(t *testing.T) {
	t.Parallel()
	f := pgFixture(t, Config{Partitions: map[string]int{"budget": 5}, Intervals: map[string]time.Duration{"fan": 300 * time.Millisecond}})
	d := f.open()
	f.write("fan.wasm", partitionedWasm(t, "fan", "budget", 3))
	f.scan()
	var rows map[int]store.TickRecord
	f.waitFor("two rounds of every partition", func() bool {
		rows = ledgerRows(t, d, "fan")
		return len(rows) == 5 && rows[4].Ticks >= 2
	})
	for p, r := range rows {
		// The ledger is written behind the ticks: a round may be in flight.
		if n := r.Ticks - rows[4].Ticks; n < 0 || n > 1 {
			t.Errorf("partition %d ticked %d times, partition 4 %d: not once per round", p, r.Ticks, rows[4].Ticks)
		}
		if r.Processed != int64(p) {
			t.Errorf("partition %d: tick_partition said %d", p, r.Processed)
		}
		if failed := r.Err != ""; failed != (p == 3) {
			t.Errorf("partition %d: error %q", p, r.Err)
		}
	}
	f.waitFor("the failing partition logged", func() bool {
		return strings.Contains(f.log.String(), `msg="partition tick failed" plugin=fan partition=3`)
	})
}

// TestPartitionFamiliesOnSQLite: on SQLite a partition-scoped plugin ticks
// partition 0 only, and a family with no count is no matter.
func TestPartitionFamiliesOnSQLite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	d := f.open()
	f.write("fan.wasm", partitionedWasm(t, "fan", "nobody_knows", -1))
	f.scan()
	f.waitTicks("fan", "", 2)
	rows := ledgerRows(t, d, "fan")
	if len(rows) != 1 || rows[0].Ticks < 2 || rows[0].Processed != 0 {
		t.Errorf("ledger on SQLite: %+v, want partition 0 only", rows)
	}
}

// TestUnknownPartitionFamilyRefusedOnPostgres: a family the daemon has no
// count for is refused on PostgreSQL, naming the family and the flag.
func TestUnknownPartitionFamilyRefusedOnPostgres(t *testing.T) {
	t.Parallel()
	f := pgFixture(t, Config{})
	d := f.open()
	f.write("fan.wasm", partitionedWasm(t, "fan", "nobody_knows", -1))
	f.scan()
	st := d.Status(context.Background())
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error,
		`partition family "nobody_knows" has no partition count here (known: budget, worker_registry; set one with --partitions nobody_knows=N)`) {
		t.Errorf("invalid files: %+v", st.Invalid)
	}
}

// TestPostgresOnlyPluginRefusedOnSQLite: a plugin that speaks only
// postgres is refused on SQLite, in one line naming both dialects.
func TestPostgresOnlyPluginRefusedOnSQLite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	d := f.open()
	desc, err := json.Marshal(map[string]any{"name": "pgonly", "abi_version": "1.4", "version": "1",
		"default_interval_ms": 1000, "dialects": []string{"postgres"}})
	if err != nil {
		t.Fatal(err)
	}
	f.write("pgonly.wasm", wasmenc.Plugin{Desc: string(desc)}.Encode())
	f.scan()
	st := d.Status(context.Background())
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, "plugin pgonly speaks postgres only, database ") ||
		!strings.Contains(st.Invalid[0].Error, " is sqlite") || strings.Contains(st.Invalid[0].Error, "\n") {
		t.Errorf("invalid files: %+v", st.Invalid)
	}
}
