package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Partitions is the number of hash partitions of every reconciler table,
// as FlowFabric's Postgres migrations create them.
const Partitions = 256

// The number of partitions each reconciler walks on Postgres.
const (
	// BudgetPartitions is FlowFabric's num_budget_partitions: budget_reset
	// ticks partitions 0 to 31.
	BudgetPartitions = 32
	// WorkerPartitions is the number of worker-registry partitions:
	// worker_ttl ticks partitions 0 to 255.
	WorkerPartitions = 256
)

// column is one column of a reconciler table.
type column struct {
	name string
	def  string // type and constraints
}

// table is one reconciler table: PARTITION BY HASH (partition_key) with
// Partitions children.
type table struct {
	name       string
	columns    []column
	primaryKey []string
	indexes    []string // CREATE INDEX statements run right after the table
}

// reconcilerTables are FlowFabric's Postgres tables that budget_reset and
// worker_ttl use: the SQLite columns, partition_key smallint first in every
// primary key, bigint for times and counters, jsonb policies and text[]
// lanes. Migrate creates those that are missing and requires every column
// listed here of those that exist.
var reconcilerTables = []table{
	{
		name: "ff_budget_policy",
		columns: []column{
			{"partition_key", "smallint NOT NULL"},
			{"budget_id", "text NOT NULL"},
			{"policy_json", "jsonb NOT NULL"},
			{"created_at_ms", "bigint NOT NULL"},
			{"updated_at_ms", "bigint NOT NULL"},
			{"scope_type", "text NOT NULL DEFAULT ''"},
			{"scope_id", "text NOT NULL DEFAULT ''"},
			{"enforcement_mode", "text NOT NULL DEFAULT ''"},
			{"breach_count", "bigint NOT NULL DEFAULT 0"},
			{"soft_breach_count", "bigint NOT NULL DEFAULT 0"},
			{"last_breach_at_ms", "bigint"},
			{"last_breach_dim", "text"},
			{"next_reset_at_ms", "bigint"},
		},
		primaryKey: []string{"partition_key", "budget_id"},
		indexes: []string{`CREATE INDEX ff_budget_policy_reset_due_idx
    ON ff_budget_policy (partition_key, next_reset_at_ms)
    WHERE next_reset_at_ms IS NOT NULL`},
	},
	{
		name: "ff_budget_usage",
		columns: []column{
			{"partition_key", "smallint NOT NULL"},
			{"budget_id", "text NOT NULL"},
			{"dimensions_key", "text NOT NULL"},
			{"current_value", "bigint NOT NULL DEFAULT 0"},
			{"last_reset_at_ms", "bigint"},
			{"updated_at_ms", "bigint NOT NULL"},
		},
		primaryKey: []string{"partition_key", "budget_id", "dimensions_key"},
	},
	{
		name: "ff_worker_registry",
		columns: []column{
			{"partition_key", "smallint NOT NULL"},
			{"namespace", "text NOT NULL"},
			{"worker_instance_id", "text NOT NULL"},
			{"worker_id", "text NOT NULL"},
			{"lanes", "text[] NOT NULL"},
			{"capabilities_csv", "text NOT NULL"},
			{"last_heartbeat_ms", "bigint NOT NULL"},
			{"liveness_ttl_ms", "bigint NOT NULL"},
			{"registered_at_ms", "bigint NOT NULL"},
		},
		primaryKey: []string{"partition_key", "namespace", "worker_instance_id"},
	},
	{
		name: "ff_worker_registry_event",
		columns: []column{
			{"partition_key", "smallint NOT NULL"},
			{"namespace", "text NOT NULL"},
			{"worker_instance_id", "text NOT NULL"},
			{"event_kind", "text NOT NULL"},
			{"event_at_ms", "bigint NOT NULL"},
			{"reason", "text"},
		},
		primaryKey: []string{"partition_key", "namespace", "worker_instance_id", "event_at_ms", "event_kind"},
	},
}

// create returns the statements that create t and its children, in order.
func (t table) create() []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", pgx.Identifier{t.name}.Sanitize())
	for _, c := range t.columns {
		fmt.Fprintf(&b, "    %s %s,\n", c.name, c.def)
	}
	fmt.Fprintf(&b, "    PRIMARY KEY (%s)\n) PARTITION BY HASH (partition_key)", strings.Join(t.primaryKey, ", "))
	stmts := []string{b.String()}
	for i := range Partitions {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d)",
			pgx.Identifier{ChildName(t.name, i)}.Sanitize(), pgx.Identifier{t.name}.Sanitize(), Partitions, i))
	}
	return append(stmts, t.indexes...)
}

// ChildName is the name Migrate gives the child table of table that holds
// hash remainder i, such as ff_budget_policy_p7.
func ChildName(table string, i int) string { return fmt.Sprintf("%s_p%d", table, i) }

// hostMigration is one step of the schema of ffwasmhost's own tables,
// applied once and recorded in ffwasmhost_migrations.
type hostMigration struct {
	version     int
	description string
	stmts       func(schema string) []string // schema: the quoted schema the tables are in
}

// migrationsTable records the host migrations applied.
const migrationsTable = `CREATE TABLE IF NOT EXISTS ffwasmhost_migrations (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
)`

// hostMigrations are ffwasmhost's own tables, in order. Never edit one that
// has shipped: add another.
var hostMigrations = []hostMigration{{
	version:     1,
	description: "cluster membership, leases and the fence function",
	stmts: func(schema string) []string {
		return []string{
			// One row per daemon. A daemon's leases are valid while its
			// row has not expired by the database's clock: a heartbeat
			// renews every lease of the daemon with this one row.
			`CREATE TABLE ffwasmhost_member (
    daemon_id    text PRIMARY KEY,
    plugins      text[] NOT NULL DEFAULT '{}',
    joined_at    timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
)`,
			// One row per (plugin, partition). A row changes only when
			// its holder does, and epoch grows by one each time.
			`CREATE TABLE ffwasmhost_lease (
    plugin      text NOT NULL,
    partition   integer NOT NULL,
    holder      text,
    epoch       bigint NOT NULL DEFAULT 0,
    acquired_at timestamptz,
    PRIMARY KEY (plugin, partition)
)`,
			`CREATE INDEX ffwasmhost_lease_holder_idx ON ffwasmhost_lease (holder) WHERE holder IS NOT NULL`,
			// The fence: run inside a write transaction before it
			// commits. It share-locks the lease row, so a change of
			// holder waits for the transaction, and reports whether the
			// epoch is still the lease's and its holder alive at p_now
			// (NULL: the database's clock). SECURITY DEFINER so that a
			// plugin's role can fence its own transaction without any
			// privilege on the lease tables.
			`CREATE FUNCTION ffwasmhost_fence(p_plugin text, p_partition integer, p_epoch bigint, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fence$
DECLARE
    h text;
BEGIN
    SELECT holder INTO h FROM ` + schema + `.ffwasmhost_lease
    WHERE plugin = p_plugin AND partition = p_partition AND epoch = p_epoch
    FOR SHARE;
    IF h IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM ` + schema + `.ffwasmhost_member
        WHERE daemon_id = h AND expires_at > coalesce(p_now, clock_timestamp()));
END
$fence$`,
			`REVOKE ALL ON FUNCTION ffwasmhost_fence(text, integer, bigint, timestamptz) FROM PUBLIC`,
		}
	},
}, {
	version:     2,
	description: "the tick ledger",
	stmts:       func(string) []string { return []string{ledgerTableSQL} },
}}

// LatestSchemaVersion is the host schema version Migrate brings a database
// to: the number of host migrations.
var LatestSchemaVersion = len(hostMigrations)
