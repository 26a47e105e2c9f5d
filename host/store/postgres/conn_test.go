package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// migrated opens a store on a fresh, migrated database whose plugin roles
// are unique to the test.
func migrated(t testing.TB) *Store {
	t.Helper()
	tmpl := pgtest.Template(t, "migrated", func(ctx context.Context, dsn string) error {
		s, err := Open(ctx, dsn, Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		return s.Migrate(ctx)
	})
	dsn := pgtest.NewDatabaseFrom(t, tmpl)
	s, err := Open(context.Background(), dsn, Options{RolePrefix: pgtest.RolePrefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func args(t testing.TB, vals ...any) []byte {
	t.Helper()
	b, err := abi.AppendArgs(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreDescribesItself(t *testing.T) {
	t.Parallel()
	s := migrated(t)
	ctx := context.Background()
	if s.Dialect() != store.Postgres {
		t.Errorf("Dialect = %q", s.Dialect())
	}
	if err := s.Ping(ctx); err != nil {
		t.Error(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != LatestSchemaVersion {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, LatestSchemaVersion)
	}
	cols, err := s.Columns(ctx, "ff_budget_usage")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		name := c.Name
		if c.Key {
			name += "*"
		}
		got = append(got, name)
	}
	want := "partition_key* budget_id* dimensions_key* current_value last_reset_at_ms updated_at_ms"
	if strings.Join(got, " ") != want {
		t.Errorf("Columns = %v, want %s", got, want)
	}
	if _, err := s.Columns(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "columns of nope: no such table") {
		t.Errorf("Columns of a missing table: %v", err)
	}
}

func TestLocationHidesThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://ff:secret@db:5432/ff?sslmode=disable",
		"postgres://ff@db/ff?password=secret&sslmode=disable",
	} {
		got := (&Store{dsn: dsn}).Location()
		if strings.Contains(got, "secret") || !strings.Contains(got, "ff@db") {
			t.Errorf("Location of %s = %q", dsn, got)
		}
	}
}

func TestSchemaVersionBeforeMigrate(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), pgtest.NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if v, err := s.SchemaVersion(ctx); v != 0 || err != nil {
		t.Errorf("SchemaVersion = %d, %v; want 0", v, err)
	}
	if recs, err := s.Ticks(ctx); recs != nil || err != nil {
		t.Errorf("Ticks = %v, %v; want none", recs, err)
	}
}

func TestLedgerCountsPerPluginAndPartition(t *testing.T) {
	t.Parallel()
	s := migrated(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	tick := func(partition int, at time.Duration, errText string) {
		t.Helper()
		err := s.RecordTick(ctx, store.Tick{Plugin: "worker_ttl", Partition: partition, Start: t0.Add(at),
			End: t0.Add(at + time.Second), Err: errText, Processed: 3, Version: "1", SHA256: "ab", Daemon: "d1",
			Interval: 15 * time.Second, Changes: []store.TableChanges{{Table: "ff_worker_registry", Deleted: 3}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	tick(7, 0, "")
	tick(7, 15*time.Second, "boom")
	tick(7, 30*time.Second, "boom again")
	tick(200, 0, "")
	recs, err := s.Ticks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Partition != 7 || recs[1].Partition != 200 {
		t.Fatalf("ledger = %+v, want partitions 7 and 200", recs)
	}
	r := recs[0]
	if r.Ticks != 3 || r.Failures != 2 || r.ConsecutiveFailures != 2 || r.Err != "boom again" ||
		!r.LastSuccess.Equal(t0.Add(time.Second)) || !r.Since.Equal(t0) || r.Interval != 15*time.Second {
		t.Errorf("partition 7 = %+v", r)
	}
	if len(r.Changes) != 1 || r.Changes[0].Deleted != 3 {
		t.Errorf("changes = %+v", r.Changes)
	}
	tick(7, 45*time.Second, "")
	recs, _ = s.Ticks(ctx)
	if r := recs[0]; r.ConsecutiveFailures != 0 || r.Err != "" || !r.LastSuccess.Equal(t0.Add(46*time.Second)) {
		t.Errorf("after a success: %+v", r)
	}
}

func TestOpenConnRunsAsThePluginsRole(t *testing.T) {
	t.Parallel()
	s := migrated(t)
	ctx := context.Background()
	var denials []store.Denial
	c, err := s.OpenConn(ctx, store.ConnSpec{Plugin: "worker_ttl", Reads: []string{"ff_budget_policy"},
		Writes: []string{"ff_worker_registry"}, MaxCallBytes: 1 << 20, MaxResultBytes: 1 << 20,
		Denied: func(d store.Denial) { denials = append(denials, d) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	role, _ := s.RoleName("worker_ttl")

	var user string
	var insertErr, readErr, setErr error
	err = c.Tick(ctx, 1, func() {
		buf, err := c.Query(ctx, nil, []byte(`SELECT current_user`), args(t), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		d := abi.NewDecoder(buf)
		if _, _, err := abi.QueryHeader(d); err != nil {
			t.Fatal(err)
		}
		v, _ := d.Value()
		user, _ = v.(string)
		if err := c.Begin(ctx); err != nil {
			t.Fatal(err)
		}
		_, insertErr = c.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ($1, 'ns', 'w', 'w', '{a}', '', 1, 2, 3)`), args(t, int64(5)))
		if err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		_, readErr = c.Query(ctx, nil, []byte(`SELECT * FROM ffwasmhost_ticks`), args(t), 1<<20)
		_, setErr = c.Exec(ctx, nil, []byte(`SET ROLE postgres`), args(t))
		if err := c.Begin(ctx); err != nil { // left open: rolled back by Tick
			t.Fatal(err)
		}
	})
	if !errors.Is(err, store.ErrLeftOpen) {
		t.Errorf("a tick that left its transaction open: %v, want ErrLeftOpen", err)
	}
	if user != role {
		t.Errorf("the plugin runs as %q, want %q", user, role)
	}
	if insertErr != nil {
		t.Errorf("insert into a declared table: %v", insertErr)
	}
	for name, err := range map[string]error{"read the ledger": readErr, "SET ROLE": setErr} {
		if st, _ := c.Explain(err); st != abi.StatusNotAuthorized {
			t.Errorf("%s: status %v (%v), want not_authorized", name, st, err)
		}
	}
	if len(denials) != 2 {
		t.Errorf("denials reported: %v, want 2", denials)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM ff_worker_registry`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows committed: %d, %v; want 1", n, err)
	}
}

func TestOpenConnRefusesADryRun(t *testing.T) {
	t.Parallel()
	s := migrated(t)
	_, err := s.OpenConn(context.Background(), store.ConnSpec{Plugin: "p", DryRun: true})
	if !errors.Is(err, ErrDryRun) {
		t.Errorf("dry run: %v, want ErrDryRun", err)
	}
}
