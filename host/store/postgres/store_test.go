package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenErrorsNameHostAndDatabase(t *testing.T) {
	t.Parallel()
	admin := pgtest.DSN(t)
	missing := pgtest.UniqueName("ffwt_missing_")
	tests := []struct {
		name string
		dsn  string
		want []string
	}{
		{"nothing listens", "postgres://postgres@127.0.0.1:1/ffdb?sslmode=disable&connect_timeout=5",
			[]string{"database ffdb on 127.0.0.1:1", "connection refused"}},
		{"no such database", pgtest.WithDatabase(t, admin, missing),
			[]string{"database " + missing + " on ", "does not exist"}},
		{"not a URL", "host=127.0.0.1 dbname=x", []string{"postgres://"}},
		{"unparsable URL", "postgres://u:secret@[::1", []string{"open postgres database", "xxxxx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "secret") {
				t.Errorf("error is not one line without the password: %q", msg)
			}
			if strings.Contains(msg, "failed to connect") {
				t.Errorf("error repeats pgx's description of the attempt: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestWorkerPartition(t *testing.T) {
	// FNV-1a 64 test vectors (offset basis 0xcbf29ce484222325, prime
	// 0x100000001b3), modulo 256: the low byte.
	tests := []struct {
		id   string
		hash uint64
	}{
		{"", 0xcbf29ce484222325},
		{"a", 0xaf63dc4c8601ec8c},
		{"foobar", 0x85944171f73967e8},
	}
	for _, tt := range tests {
		if got, want := WorkerPartition(tt.id), int(tt.hash%256); got != want {
			t.Errorf("WorkerPartition(%q) = %d, want %d", tt.id, got, want)
		}
	}
	// Every result is a partition, and ids spread over all of them.
	seen := map[int]bool{}
	for i := range 10_000 {
		p := WorkerPartition(fmt.Sprintf("worker-%d", i))
		if p < 0 || p >= WorkerPartitions {
			t.Fatalf("partition %d out of range", p)
		}
		seen[p] = true
		h := fnv.New64a()
		h.Write([]byte(fmt.Sprintf("worker-%d", i)))
		if uint64(p) != h.Sum64()%256 {
			t.Fatalf("worker-%d: %d is not fnv1a_64 %% 256", i, p)
		}
	}
	if len(seen) != WorkerPartitions {
		t.Errorf("10,000 ids cover %d partitions, want %d", len(seen), WorkerPartitions)
	}
}

// wantTypes are the column types FlowFabric's Postgres schema has.
var wantTypes = map[string]map[string]string{
	"ff_budget_policy": {
		"partition_key": "smallint", "budget_id": "text", "policy_json": "jsonb",
		"created_at_ms": "bigint", "updated_at_ms": "bigint", "scope_type": "text", "scope_id": "text",
		"enforcement_mode": "text", "breach_count": "bigint", "soft_breach_count": "bigint",
		"last_breach_at_ms": "bigint", "last_breach_dim": "text", "next_reset_at_ms": "bigint",
	},
	"ff_budget_usage": {
		"partition_key": "smallint", "budget_id": "text", "dimensions_key": "text",
		"current_value": "bigint", "last_reset_at_ms": "bigint", "updated_at_ms": "bigint",
	},
	"ff_worker_registry": {
		"partition_key": "smallint", "namespace": "text", "worker_instance_id": "text", "worker_id": "text",
		"lanes": "text[]", "capabilities_csv": "text", "last_heartbeat_ms": "bigint",
		"liveness_ttl_ms": "bigint", "registered_at_ms": "bigint",
	},
	"ff_worker_registry_event": {
		"partition_key": "smallint", "namespace": "text", "worker_instance_id": "text",
		"event_kind": "text", "event_at_ms": "bigint", "reason": "text",
	},
}

var wantPrimaryKeys = map[string]string{
	"ff_budget_policy":         "PRIMARY KEY (partition_key, budget_id)",
	"ff_budget_usage":          "PRIMARY KEY (partition_key, budget_id, dimensions_key)",
	"ff_worker_registry":       "PRIMARY KEY (partition_key, namespace, worker_instance_id)",
	"ff_worker_registry_event": "PRIMARY KEY (partition_key, namespace, worker_instance_id, event_at_ms, event_kind)",
}

// fingerprint describes every relation, column and function of the public
// schema, with the identity of its storage: two fingerprints are equal
// only if nothing was created, dropped, rewritten or altered in between.
func fingerprint(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var fp string
	err := conn.QueryRow(context.Background(), `SELECT
  (SELECT string_agg(c.oid || ':' || c.relname || ':' || c.relkind::text || ':' || c.relfilenode, ',' ORDER BY c.oid)
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace)
  || '|' ||
  (SELECT string_agg(a.attrelid || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attrelid, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0)
  || '|' ||
  coalesce((SELECT string_agg(p.oid || ':' || p.proname, ',' ORDER BY p.oid)
     FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace), '')`).Scan(&fp)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func hostTablesExist(t *testing.T, conn *pgx.Conn) bool {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_class
WHERE relnamespace = 'public'::regnamespace AND relname LIKE 'ffwasmhost\_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestMigrateEmptyDatabase: two daemons migrate an empty database at once;
// both succeed and the result is FlowFabric's layout exactly. A third run
// changes nothing.
func TestMigrateEmptyDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = open(t, dsn).Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrate %d: %v", i+1, err)
		}
	}
	conn := pgtest.Connect(t, dsn)
	checkLayout(t, conn)

	before := fingerprint(t, conn)
	if err := open(t, dsn).Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if after := fingerprint(t, conn); after != before {
		t.Errorf("a second migrate changed the schema")
	}
	var versions []int32
	rows, _ := conn.Query(ctx, `SELECT version FROM ffwasmhost_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(hostMigrations) {
		t.Errorf("ffwasmhost_migrations holds versions %v, want one row per host migration (%d)", versions, len(hostMigrations))
	}
}

// checkLayout fails the test unless the reconciler tables are hash
// partitioned on partition_key into 256 children, with FlowFabric's column
// types, primary keys and partial index.
func checkLayout(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	for table, types := range wantTypes {
		var keydef string
		var children, remainders int
		err := conn.QueryRow(ctx, `SELECT pg_get_partkeydef($1::regclass),
  (SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass),
  (SELECT count(DISTINCT pg_get_expr(c.relpartbound, c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) LIKE 'FOR VALUES WITH (modulus 256, remainder %')`,
			table).Scan(&keydef, &children, &remainders)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if keydef != "HASH (partition_key)" || children != Partitions || remainders != Partitions {
			t.Errorf("%s: partitioned by %q into %d children (%d distinct modulus-256 bounds), want HASH (partition_key) into 256",
				table, keydef, children, remainders)
		}
		rows, err := conn.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, table)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			got[name] = typ
		}
		if len(got) != len(types) {
			t.Errorf("%s has %d columns, want %d", table, len(got), len(types))
		}
		for col, typ := range types {
			if got[col] != typ {
				t.Errorf("%s.%s is %q, want %q", table, col, got[col], typ)
			}
		}
		var pk string
		if err := conn.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = $1::regclass AND contype = 'p'`, table).Scan(&pk); err != nil {
			t.Fatalf("%s primary key: %v", table, err)
		}
		if pk != wantPrimaryKeys[table] {
			t.Errorf("%s: %s, want %s", table, pk, wantPrimaryKeys[table])
		}
	}
	var idx string
	if err := conn.QueryRow(ctx, `SELECT pg_get_indexdef('ff_budget_policy_reset_due_idx'::regclass)`).Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(idx, "ON ONLY public.ff_budget_policy USING btree (partition_key, next_reset_at_ms) WHERE (next_reset_at_ms IS NOT NULL)") {
		t.Errorf("reset-due index is %q", idx)
	}
}

// flowFabricSchema stands for tables FlowFabric's own migrations made:
// other child names and count, an extra column, its own index names, and
// rows. Migrate must leave all of it exactly as it is.
const flowFabricSchema = `
CREATE TABLE ff_budget_policy (partition_key smallint NOT NULL, budget_id text NOT NULL, policy_json jsonb NOT NULL,
  created_at_ms bigint NOT NULL, updated_at_ms bigint NOT NULL, scope_type text NOT NULL DEFAULT '',
  scope_id text NOT NULL DEFAULT '', enforcement_mode text NOT NULL DEFAULT '', breach_count bigint NOT NULL DEFAULT 0,
  soft_breach_count bigint NOT NULL DEFAULT 0, last_breach_at_ms bigint, last_breach_dim text, next_reset_at_ms bigint,
  flowfabric_extra text, PRIMARY KEY (partition_key, budget_id)) PARTITION BY HASH (partition_key);
CREATE TABLE ff_budget_policy_h0 PARTITION OF ff_budget_policy FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE ff_budget_policy_h1 PARTITION OF ff_budget_policy FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ff_budget_policy_due ON ff_budget_policy (partition_key, next_reset_at_ms) WHERE next_reset_at_ms IS NOT NULL;
CREATE TABLE ff_budget_usage (partition_key smallint NOT NULL, budget_id text NOT NULL, dimensions_key text NOT NULL,
  current_value bigint NOT NULL DEFAULT 0, last_reset_at_ms bigint, updated_at_ms bigint NOT NULL,
  PRIMARY KEY (partition_key, budget_id, dimensions_key)) PARTITION BY HASH (partition_key);
CREATE TABLE ff_budget_usage_h0 PARTITION OF ff_budget_usage FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE TABLE ff_worker_registry (partition_key smallint NOT NULL, namespace text NOT NULL, worker_instance_id text NOT NULL,
  worker_id text NOT NULL, lanes text[] NOT NULL, capabilities_csv text NOT NULL, last_heartbeat_ms bigint NOT NULL,
  liveness_ttl_ms bigint NOT NULL, registered_at_ms bigint NOT NULL,
  PRIMARY KEY (partition_key, namespace, worker_instance_id)) PARTITION BY HASH (partition_key);
CREATE TABLE ff_worker_registry_h0 PARTITION OF ff_worker_registry FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE TABLE ff_worker_registry_event (partition_key smallint NOT NULL, namespace text NOT NULL,
  worker_instance_id text NOT NULL, event_kind text NOT NULL, event_at_ms bigint NOT NULL, reason text,
  PRIMARY KEY (partition_key, namespace, worker_instance_id, event_at_ms, event_kind)) PARTITION BY HASH (partition_key);
CREATE TABLE ff_worker_registry_event_h0 PARTITION OF ff_worker_registry_event FOR VALUES WITH (MODULUS 1, REMAINDER 0);
INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, next_reset_at_ms)
  VALUES (3, 'b', '{"reset_interval_ms": 60000}', 1, 2, 3);
INSERT INTO ff_worker_registry VALUES (7, 'ns', 'w', 'w1', '{a,b}', 'gpu', 1, 2, 3);
`

func dump(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var s string
	err := conn.QueryRow(context.Background(), `SELECT
  (SELECT string_agg(p::text, ';' ORDER BY p::text) FROM ff_budget_policy p) || '|' ||
  (SELECT string_agg(w::text, ';' ORDER BY w::text) FROM ff_worker_registry w)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrateLeavesFlowFabricTablesAlone(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, flowFabricSchema); err != nil {
		t.Fatal(err)
	}
	before, rows := fingerprint(t, conn), dump(t, conn)
	for i := range 2 {
		if err := open(t, dsn).Migrate(ctx); err != nil {
			t.Fatalf("migrate %d: %v", i+1, err)
		}
	}
	if !hostTablesExist(t, conn) {
		t.Error("the host tables were not created")
	}
	// The host's own objects are new; everything FlowFabric made is as
	// it was, so the fingerprint of it is a prefix of the new one once
	// the host's relations are left out.
	var ffOnly string
	if err := conn.QueryRow(ctx, `SELECT string_agg(c.oid || ':' || c.relname || ':' || c.relkind::text || ':' || c.relfilenode, ',' ORDER BY c.oid)
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'ffwasmhost\_%'`).Scan(&ffOnly); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(before, ffOnly+"|") {
		t.Errorf("FlowFabric's relations changed:\nbefore %s\nafter  %s", before[:strings.Index(before, "|")], ffOnly)
	}
	if got := dump(t, conn); got != rows {
		t.Errorf("rows changed:\nbefore %s\nafter  %s", rows, got)
	}
	var idx int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = 'ff_budget_policy_reset_due_idx'`).Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if idx != 0 {
		t.Error("migrate added its index to FlowFabric's table")
	}
}

// TestMigrateRefusesMissingColumn: an existing table without a column the
// host needs is named with the column, and nothing at all is created.
func TestMigrateRefusesMissingColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		table, column string
	}{
		{"ff_budget_policy", "next_reset_at_ms"},
		{"ff_budget_policy", "policy_json"},
		{"ff_budget_usage", "last_reset_at_ms"},
		{"ff_worker_registry", "partition_key"},
		{"ff_worker_registry", "liveness_ttl_ms"},
		{"ff_worker_registry_event", "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.table+"."+tt.column, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, dsn)
			ctx := context.Background()
			var cols []string
			for _, tbl := range reconcilerTables {
				if tbl.name != tt.table {
					continue
				}
				for _, c := range tbl.columns {
					if c.name != tt.column {
						cols = append(cols, c.name+" "+c.def)
					}
				}
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE "+tt.table+" ("+strings.Join(cols, ", ")+")"); err != nil {
				t.Fatal(err)
			}
			before := fingerprint(t, conn)
			err := open(t, dsn).Migrate(ctx)
			want := fmt.Sprintf("table %s exists but lacks column %s; nothing was changed", tt.table, tt.column)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Migrate = %v, want an error containing %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if after := fingerprint(t, conn); after != before {
				t.Error("the refused migrate changed the schema")
			}
		})
	}
}
