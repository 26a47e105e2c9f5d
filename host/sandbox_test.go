package host_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestAuthorizer runs single statements through the sql_probe fixture,
// which declares probe_input and ff_budget_policy for reading and
// ff_worker_registry for writing, and checks what the authorizer lets
// through. ff_worker_registry_event stands for any undeclared table.
func TestAuthorizer(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{}, `CREATE TABLE probe_input (id INTEGER PRIMARY KEY, sql TEXT NOT NULL)`,
		// sqlite_sequence, sqlite_stat1 and sqlite_stat4 exist
		`CREATE TABLE probe_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)`, `INSERT INTO probe_seq DEFAULT VALUES`, `ANALYZE`)
	testutil.SeedEveryTable(t, setup.DB.SQL)
	var denials []store.Denial
	r := fxRunner(t, setup.DB, "sql_probe", host.Limits{}, host.RunnerOptions{Denied: func(d store.Denial) { denials = append(denials, d) }})

	const allowed = ""
	tests := []struct {
		name string
		sql  string
		want string // "" if the statement must run; else a substring of the tick's error
	}{
		{name: "read a declared table", sql: `SELECT policy_json FROM ff_budget_policy`, want: allowed},
		{name: "read a declared table in a subquery", sql: `SELECT (SELECT max(created_at_ms) FROM ff_budget_policy)`, want: allowed},
		{name: "write a table declared for writing", sql: `UPDATE ff_worker_registry SET lanes = lanes`, want: allowed},
		{name: "read-only pragma", sql: `PRAGMA data_version`, want: allowed},
		{name: "schema pragma on a declared table", sql: `PRAGMA table_info(ff_budget_policy)`, want: allowed},
		{
			name: "count(*) of a declared table", sql: `SELECT count(*) FROM ff_budget_policy`, want: allowed,
		},
		{
			name: "recursive CTE", sql: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT count(*) FROM c`, want: allowed,
		},
		{name: "read an undeclared table", sql: `SELECT namespace FROM ff_worker_registry_event`, want: "ffhost not_authorized: not authorized: read ff_worker_registry_event: table not declared"},
		{name: "count(*) of an undeclared table", sql: `SELECT count(*) FROM ff_worker_registry_event`, want: "ffhost not_authorized"},
		{name: "read an undeclared table in a subquery", sql: `SELECT (SELECT max(event_at_ms) FROM ff_worker_registry_event)`, want: "ffhost not_authorized"},
		{
			name: "read an undeclared table through a CTE", sql: `WITH x AS (SELECT namespace FROM ff_worker_registry_event) SELECT namespace FROM x`, want: "ffhost not_authorized",
		},
		{
			name: "copy an undeclared table into a declared one through a CTE",
			sql: `WITH x AS (SELECT namespace, worker_instance_id FROM ff_worker_registry_event)
			      INSERT INTO ff_worker_registry SELECT namespace, worker_instance_id, 'stolen', '', '', 0, 0, 0 FROM x`,
			want: "ffhost not_authorized",
		},
		{name: "copy an undeclared table into a declared one", sql: `INSERT INTO ff_worker_registry SELECT namespace, worker_instance_id, 'stolen', '', '', 0, 0, 0 FROM ff_worker_registry_event`, want: "ffhost not_authorized"},
		{name: "write a read-only table", sql: `UPDATE ff_budget_policy SET breach_count = 1`, want: "table declared read-only"},
		{name: "write a read-only table after a WITH", sql: `WITH x AS (SELECT 1) DELETE FROM ff_budget_policy`, want: "table declared read-only"},
		{name: "write an undeclared table", sql: `DELETE FROM ff_worker_registry_event`, want: "ffhost not_authorized"},
		{name: "schema pragma on an undeclared table", sql: `PRAGMA table_info(ff_worker_registry_event)`, want: "ffhost not_authorized"},
		{name: "pragma that writes", sql: `PRAGMA user_version = 7`, want: "ffhost not_authorized"},
		{name: "BEGIN by hand", sql: `BEGIN`, want: "ffhost not_authorized"},
		{name: "SAVEPOINT by hand", sql: `SAVEPOINT s`, want: "ffhost not_authorized"},
		{name: "create a temp view", sql: `CREATE TEMP VIEW v AS SELECT 1`, want: "ffhost not_authorized"},
		{name: "read the schema", sql: `SELECT sql FROM sqlite_schema`, want: "ffhost not_authorized"},
		{
			name: "load_extension", sql: `SELECT load_extension('x')`, want: "ffhost not_authorized",
		},
		{name: "a table-valued JSON function", sql: `SELECT count(*), sum(e.value) FROM json_each('[1,2]') AS e JOIN json_tree('{"a":1}')`, want: allowed},
		{name: "a pragma function on a declared table", sql: `SELECT name FROM pragma_table_info('ff_budget_policy')`, want: allowed},
		{name: "count(*) of a CTE", sql: `WITH c AS (SELECT 1 AS z) SELECT count(*) FROM c`, want: allowed},
		{name: "an SQL function not listed", sql: `SELECT sqlite_version()`, want: "not authorized: function sqlite_version: function not allowed"},
	}
	// SQLite's own tables and its virtual tables that read the database's
	// pages, in every form: with no column read SQLite names no database.
	for _, q := range []string{
		`SELECT count(*) FROM sqlite_dbpage`,
		`SELECT 1 FROM sqlite_dbpage LIMIT 1`,
		`SELECT data FROM sqlite_dbpage WHERE pgno = 1`,
		`SELECT count(*) FROM sqlite_schema`,
		`SELECT count(*) FROM main.sqlite_master`,
		`SELECT count(*) FROM sqlite_temp_schema`,
		`SELECT count(*) FROM temp.sqlite_schema`,
		`SELECT count(*) FROM sqlite_temp_master`,
		`SELECT count(*) FROM sqlite_sequence`,
		`SELECT seq FROM sqlite_sequence`,
		`SELECT count(*) FROM sqlite_stat1`,
		`SELECT 1 FROM sqlite_stat4 LIMIT 1`,
		`SELECT count(*) FROM dbstat`,
		`SELECT name, pgsize FROM dbstat`,
		`SELECT (SELECT count(*) FROM sqlite_schema)`,
		`WITH x AS (SELECT * FROM sqlite_master) SELECT 1 FROM x`,
		`SELECT count(*) FROM pragma_database_list`,
		`SELECT * FROM pragma_compile_options`,
		`SELECT count(*) FROM pragma_module_list`,
		`SELECT name FROM pragma_function_list`,
		`SELECT count(*) FROM pragma_table_info('ff_worker_registry_event')`,
		`SELECT count(*) FROM pragma_index_list('sqlite_stat1')`,
	} {
		tests = append(tests, struct {
			name string
			sql  string
			want string
		}{name: q, sql: q, want: "ffhost not_authorized"})
	}
	// Not in this build, or refused: either way they do not run.
	for _, name := range []string{"sqlite_dbdata", "sqlite_dbptr", "sqlite_stmt"} {
		q := `SELECT count(*) FROM ` + name
		tests = append(tests, struct {
			name string
			sql  string
			want string
		}{name: q, sql: q, want: name})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := fxDump(t, setup.DB.SQL, "probe_input")
			if _, err := setup.DB.SQL.Exec(`DELETE FROM probe_input; INSERT INTO probe_input (sql) VALUES (?)`, tc.sql); err != nil {
				t.Fatal(err)
			}
			denials = nil
			rep, err := r.Tick(context.Background(), 1)
			if tc.want == allowed {
				if err != nil || rep.Processed != 1 {
					t.Fatalf("%s\n  = %+v, %v; want it to run", tc.sql, rep, err)
				}
				return
			}
			fxWantErr(t, err, nil, tc.want)
			if strings.Contains(tc.want, "not_authorized") && len(denials) == 0 {
				t.Errorf("the Denied hook was not called")
			}
			// probe_input is the only table the test itself changed.
			if after := fxDump(t, setup.DB.SQL, "probe_input"); after != before {
				t.Errorf("a denied statement changed the database:\n%s", after)
			}
		})
	}
}

// TestDenialIsLoggedWithPlugin: a plugin that ignores a refusal and reports
// success still leaves a warning naming it, the action and the table.
func TestDenialIsLoggedWithPlugin(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{})
	r := fxRunner(t, setup.DB, "swallow_denial", host.Limits{}, host.RunnerOptions{})
	if _, err := r.Tick(context.Background(), 1); err != nil {
		t.Fatalf("the fixture swallows the refusal and succeeds, got %v", err)
	}
	if lines := fxEngineLog().fxLines("plugin=swallow_denial", "level=WARN", "ff_budget_policy", "not declared"); len(lines) == 0 {
		t.Errorf("no warning names the plugin and the denied read; log:\n%s", fxShort(fxEngineLog().String()))
	}
}

// TestInstanceStartBoundedByTickTimeout: a fresh instance's start (the Go
// runtime's and the plugin's init) is part of a tick and must end at its
// timeout like the rest of it.
func TestInstanceStartBoundedByTickTimeout(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{})
	// slow_init spins 4 s in init and fails every tick, so tick 2 needs a
	// new instance. The load itself may take the 4 s (its timeout is 10 s).
	r := fxRunner(t, setup.DB, "slow_init", host.Limits{TickTimeout: 300 * time.Millisecond}, host.RunnerOptions{})
	ctx := context.Background()
	if _, err := r.Tick(ctx, 1); err == nil {
		t.Fatal("slow_init's tick succeeded; it always fails")
	}
	_, err := r.Tick(ctx, 2)
	fxWantErr(t, err, []error{host.ErrTimeout})
}

// TestQueryResultBoundsHostMemory: a query result over MaxResultBytes
// fails, and building it costs the host a small multiple of the limit,
// not of what the plugin asked for.
func TestQueryResultBoundsHostMemory(t *testing.T) {
	setup := fxOpen(t, sqlite.Options{})
	const limit = 1 << 20
	r := fxRunner(t, setup.DB, "huge_result", host.Limits{MaxResultBytes: limit}, host.RunnerOptions{})
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := r.Tick(context.Background(), 1)
	runtime.ReadMemStats(&m1)
	fxWantErr(t, err, nil, "limit")
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 32*limit {
		t.Errorf("a query refused at %d bytes made the host allocate %d MiB", limit, alloc>>20)
	}
}

// TestLongStatementBoundedByTickTimeout: one statement that computes for
// minutes is cut off at the tick timeout, like a loop in the guest.
func TestLongStatementBoundedByTickTimeout(t *testing.T) {
	setup := fxOpen(t, sqlite.Options{})
	r := fxRunner(t, setup.DB, "slow_query", host.Limits{TickTimeout: 300 * time.Millisecond}, host.RunnerOptions{})
	start := time.Now()
	_, err := r.Tick(context.Background(), 1)
	if err == nil {
		t.Fatal("slow_query's tick succeeded")
	}
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("a 300ms tick ran %v: %v", d, err)
	}
	// Refused up front by the column and length limits, or cut off at the
	// deadline: either way it may not run on.
	if !errors.Is(err, host.ErrTimeout) && !strings.Contains(err.Error(), "interrupt") && !strings.Contains(err.Error(), "too many columns") {
		t.Errorf("tick error %v names neither a timeout, an interrupt nor a limit", err)
	}
}

// TestSleepBoundedByTickTimeout: a guest that sleeps (WASI poll_oneoff)
// is stopped at its tick timeout like one that spins.
func TestSleepBoundedByTickTimeout(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{})
	r := fxRunner(t, setup.DB, "sleep", host.Limits{TickTimeout: 300 * time.Millisecond}, host.RunnerOptions{})
	start := time.Now()
	_, err := r.Tick(context.Background(), 1)
	fxWantErr(t, err, []error{host.ErrTimeout})
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("a 300ms tick that sleeps a minute returned after %v", d)
	}
}

// TestDenialLogIsBounded: a plugin that sends thousands of refused
// statements in one tick must not write thousands of log lines; the cap
// on a plugin's log output holds for what the host logs on its behalf.
func TestDenialLogIsBounded(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{})
	denied := 0
	r := fxRunner(t, setup.DB, "deny_flood", host.Limits{}, host.RunnerOptions{Denied: func(store.Denial) { denied++ }})
	_, err := r.Tick(context.Background(), 1)
	fxWantErr(t, err, nil, "not authorized")
	if denied != 20000 {
		t.Errorf("Denied hook called %d times, want every one of 20000 denials", denied)
	}
	lines := fxEngineLog().fxLines("plugin=deny_flood", "statement denied")
	if limit := host.DefaultLimits.MaxLogLines; len(lines) > limit {
		t.Errorf("one tick logged %d denial lines, more than MaxLogLines (%d)", len(lines), limit)
	}
}

// TestLogRateSpansTicks: the per-tick cap bounds one tick, the log rate
// bounds a plugin that ticks often. Here a burst of 500 lines is spent by
// the first tick; the next ones, moments later, keep only what the rate of
// 10 lines a second refilled, and the runner counts the rest.
func TestLogRateSpansTicks(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{})
	var overTick, overRate int
	r := fxRunner(t, setup.DB, "log_flood", host.Limits{MaxLogLines: 500, LogLinesPerSecond: 10},
		host.RunnerOptions{LogDropped: func(tick, rate int) { overTick += tick; overRate += rate }})
	const ticks = 4
	start := time.Now()
	for i := range ticks {
		if _, err := r.Tick(context.Background(), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	kept := len(fxEngineLog().fxLines("plugin=log_flood", "log_flood line"))
	// The burst, plus what 10 lines a second refilled meanwhile (+1 for
	// the token in flight).
	if limit := 500 + int(elapsed.Seconds()*10) + 1; kept > limit || kept < 500 {
		t.Errorf("kept %d log lines in %d ticks over %v, want 500 to %d", kept, ticks, elapsed, limit)
	}
	if overTick != 0 || overRate != ticks*500-kept {
		t.Errorf("LogDropped counted %d over the tick limit and %d over the rate; want 0 and %d", overTick, overRate, ticks*500-kept)
	}
	if len(fxEngineLog().fxLines("plugin=log_flood", "dropped over its log rate")) == 0 {
		t.Error("the drops are not logged")
	}
}

// TestSQLClockFollowsTick: a plugin's SQL reads the tick's now_ms as the
// time, whatever the host's clock says; the probe's statement fails
// (integer overflow) unless it does.
func TestSQLClockFollowsTick(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{}, `CREATE TABLE probe_input (id INTEGER PRIMARY KEY, sql TEXT NOT NULL)`,
		`INSERT INTO probe_input (sql) VALUES ('SELECT CASE WHEN strftime(''%Y-%m-%d %H:%M:%f'', ''now'') = ''2023-11-14 22:15:23.456''
		 AND current_timestamp = ''2023-11-14 22:15:23'' THEN 1 ELSE abs(-9223372036854775807 - 1) END')`)
	r := fxRunner(t, setup.DB, "sql_probe", host.Limits{}, host.RunnerOptions{})
	if rep, err := r.Tick(context.Background(), 1_700_000_123_456); err != nil || rep.Processed != 1 {
		t.Errorf("tick at 2023-11-14T22:15:23.456Z: %+v, %v; want SQL to see that time", rep, err)
	}
	if _, err := r.Tick(context.Background(), 1_700_000_123_457); err == nil {
		t.Error("a tick a millisecond later passed the probe too")
	}
}

// TestSQLHeapBombFailsTick: a statement that makes SQLite allocate without
// bound fails the tick with out of memory at the plugin connection's heap
// cap; the plugin's next tick and another plugin run normally.
func TestSQLHeapBombFailsTick(t *testing.T) {
	setup := fxOpen(t, sqlite.Options{}, `CREATE TABLE probe_input (id INTEGER PRIMARY KEY, sql TEXT NOT NULL)`)
	if _, err := setup.DB.SQL.Exec(`INSERT INTO probe_input (sql) VALUES (?)`, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
SELECT json_group_array(hex(zeroblob(500)) || x), json_group_array(x), json_group_array(x), json_group_array(x),
       json_group_array(x), json_group_array(x), json_group_array(x), json_group_array(x) FROM c`); err != nil {
		t.Fatal(err)
	}
	bad := fxRunner(t, setup.DB, "sql_probe", host.Limits{}, host.RunnerOptions{})
	good := fxRunner(t, setup.DB, "good", host.Limits{}, host.RunnerOptions{})
	start := time.Now()
	_, err := bad.Tick(context.Background(), 1)
	fxWantErr(t, err, nil, "ffhost other: out of memory")
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("the bomb's tick ran %v", d)
	}
	if _, err := good.Tick(context.Background(), 1); err != nil {
		t.Errorf("another plugin's tick after the bomb: %v", err)
	}
	if _, err := setup.DB.SQL.Exec(`UPDATE probe_input SET sql = 'SELECT count(*) FROM ff_budget_policy'`); err != nil {
		t.Fatal(err)
	}
	if rep, err := bad.Tick(context.Background(), 2); err != nil || rep.Processed != 1 {
		t.Errorf("the plugin's next tick: %+v, %v", rep, err)
	}
}

// TestTickChanges: the runner reports the rows each tick wrote, by table
// and operation, counted as committed: a statement that fails counts
// nothing. With a diff, the rows themselves.
func TestTickChanges(t *testing.T) {
	t.Parallel()
	setup := fxOpen(t, sqlite.Options{}, `CREATE TABLE probe_input (id INTEGER PRIMARY KEY, sql TEXT NOT NULL)`,
		`INSERT INTO probe_input (sql) VALUES
		 ('INSERT INTO ff_worker_registry VALUES (''ns'', ''w1'', ''w'', ''a'', '''', 1, 1, 1), (''ns'', ''w2'', ''w'', ''a'', '''', 1, 1, 1), (''ns'', ''w3'', ''w'', ''a'', '''', 1, 1, 1)'),
		 ('UPDATE ff_worker_registry SET lanes = ''b'' WHERE worker_instance_id = ''w1'''),
		 ('DELETE FROM ff_worker_registry WHERE worker_instance_id = ''w2''')`)
	var got []store.Changes
	r := fxRunner(t, setup.DB, "sql_probe", host.Limits{}, host.RunnerOptions{DryRun: true, Diff: true,
		Changed: func(c store.Changes) { got = append(got, c) }})
	if _, err := r.Tick(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	want := []store.TableChanges{{Table: "ff_worker_registry", Inserted: 3, Updated: 1, Deleted: 1}}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Tables, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
	if rows := got[0].Rows; len(rows) != 5 || rows[3].Op != store.OpUpdate || rows[3].Old[3] != "a" || rows[3].New[3] != "b" ||
		rows[4].Op != store.OpDelete || rows[4].Old[1] != "w2" || rows[4].New != nil {
		t.Errorf("diff rows = %+v", rows)
	}
	// The same statements again in the dry run: the insert now violates
	// the primary key, fails, and counts nothing.
	if _, err := r.Tick(context.Background(), 2); err == nil {
		t.Fatal("the second tick succeeded")
	}
	if len(got) != 2 || len(got[1].Tables) != 0 || len(got[1].Rows) != 0 {
		t.Errorf("changes of a tick whose statement failed = %+v, want none", got[1])
	}
}
