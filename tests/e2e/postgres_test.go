package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// TestPostgresMigrateAndStatus: migrate on an empty database creates the
// tables and the plugins' roles, a second migrate changes nothing, and
// status reads the ledger; status before migrate says how to migrate.
func TestPostgresMigrateAndStatus(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	prefix := pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "budget_reset", "worker_ttl")

	r := ffwasmhost(t, nil, "status", "--db", dsn)
	if r.code != 1 || !strings.Contains(r.stderr, "not migrated (run: ffwasmhost migrate --db ") {
		t.Fatalf("status before migrate: exit %d, stderr %q", r.code, r.stderr)
	}
	for i := range 2 {
		r = ffwasmhost(t, nil, "migrate", "--db", dsn, "--plugins", plugins, "--role-prefix", prefix)
		if r.code != 0 || !strings.Contains(r.stdout, "role "+prefix+"budget_reset of plugin budget_reset") ||
			!strings.Contains(r.stdout, "role "+prefix+"worker_ttl of plugin worker_ttl") {
			t.Fatalf("migrate %d: exit %d\nstdout: %s\nstderr: %s", i+1, r.code, r.stdout, r.stderr)
		}
	}
	conn := pgtest.Connect(t, dsn)
	var children int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_inherits WHERE inhparent = 'ff_worker_registry'::regclass`).Scan(&children); err != nil || children != 256 {
		t.Errorf("ff_worker_registry has %d partitions (%v), want 256", children, err)
	}
	r = ffwasmhost(t, nil, "status", "--db", dsn, "--json")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("status of a fresh database: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = ffwasmhost(t, nil, "plugins", "--plugins", plugins, "--cache-dir", cacheDir, "--db", dsn, "--role-prefix", prefix)
	if r.code != 0 || !strings.Contains(r.stdout, "ON POSTGRES") || !strings.Contains(r.stdout, "ok, role "+prefix+"worker_ttl") {
		t.Errorf("plugins --db: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	// tick --partition: one partition's expired workers, recorded under it.
	for _, w := range []struct {
		part int
		id   string
	}{{7, "a"}, {7, "b"}, {9, "c"}} {
		if _, err := conn.Exec(context.Background(), `INSERT INTO ff_worker_registry VALUES ($1, 'ns', $2, $2, '{a}', '', 1, 1, 1)`,
			w.part, w.id); err != nil {
			t.Fatal(err)
		}
	}
	r = ffwasmhost(t, nil, "tick", "--db", dsn, "--plugins", plugins, "--role-prefix", prefix, "--partition", "7", "worker_ttl")
	if r.code != 0 || !strings.Contains(r.stdout, `"processed":2`) {
		t.Fatalf("tick --partition 7: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var left int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM ff_worker_registry WHERE partition_key = 9`).Scan(&left); err != nil || left != 1 {
		t.Errorf("partition 9 has %d workers (%v), want its 1 untouched", left, err)
	}
	r = ffwasmhost(t, nil, "status", "--db", dsn, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"plugin":"worker_ttl","partition":7,`) || !strings.Contains(r.stdout, `"processed":2`) {
		t.Errorf("status after tick: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestPostgresMigrateWithoutCreateRole: a role that owns the database but
// may not create roles gets the tables, and the roles' SQL on stdout with
// exit 1; once an operator ran it, migrate succeeds.
func TestPostgresMigrateWithoutCreateRole(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewRole(t, "NOINHERIT")
	dsn := pgtest.NewDatabase(t)
	admin := pgtest.Connect(t, dsn)
	ctx := context.Background()
	var db string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + pgx.Identifier{db}.Sanitize() + " OWNER TO " + pgx.Identifier{owner}.Sanitize(),
		"ALTER SCHEMA public OWNER TO " + pgx.Identifier{owner}.Sanitize(),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	ownerDSN := pgtest.WithUser(t, dsn, owner)
	prefix := pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "worker_ttl")
	args := []string{"migrate", "--db", ownerDSN, "--plugins", plugins, "--role-prefix", prefix}

	r := ffwasmhost(t, nil, args...)
	if r.code != 1 || !strings.Contains(r.stdout, "CREATE ROLE") ||
		!strings.Contains(r.stdout, `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."ff_worker_registry" TO "`+prefix+`worker_ttl"`) ||
		!strings.Contains(r.stderr, "may not create the roles of 1 plugins: have an operator run the SQL above") {
		t.Fatalf("migrate without CREATEROLE: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	p := ffwasmhost(t, nil, "migrate", "--db", ownerDSN, "--plugins", plugins, "--role-prefix", prefix, "--print-roles")
	if p.code != 0 || p.stdout != r.stdout {
		t.Errorf("--print-roles: exit %d, output differs from migrate's:\n%s", p.code, p.stdout)
	}
	if _, err := admin.Exec(ctx, r.stdout); err != nil {
		t.Fatalf("the operator's SQL: %v", err)
	}
	r = ffwasmhost(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "of plugin worker_ttl (made by an operator)") {
		t.Fatalf("migrate after the operator: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// cluster is the part of /v1/cluster the tests read.
type clusterView struct {
	Daemon  string `json:"daemon"`
	Members []struct {
		DaemonID string           `json:"daemon_id"`
		Alive    bool             `json:"alive"`
		Held     map[string][]int `json:"held"`
	} `json:"members"`
	Free map[string][]int `json:"free"`
}

func (p *daemonProc) cluster() clusterView {
	p.t.Helper()
	code, body := p.get("/v1/cluster")
	var c clusterView
	if code != http.StatusOK {
		return c
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		p.t.Fatalf("/v1/cluster: %v\n%s", err, body)
	}
	return c
}

// heldBy counts, by daemon, the partitions of plugin live daemons hold.
func (c clusterView) heldBy(plugin string) map[string]int {
	out := map[string]int{}
	for _, m := range c.Members {
		if m.Alive {
			out[m.DaemonID] = len(m.Held[plugin])
		}
	}
	return out
}

// TestPostgresDaemonsSweepAndTakeOver: two `ffwasmhost run` processes on
// one PostgreSQL database split the partitions of the Go reconcilers, run
// them on FlowFabric's Postgres tables (expired workers swept, due budgets
// reset, in every partition), show it in /v1/cluster and /v1/plugins, and
// when one is killed the other takes all its partitions over.
func TestPostgresDaemonsSweepAndTakeOver(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	prefix := pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "budget_reset", "worker_ttl")
	if r := ffwasmhost(t, nil, "migrate", "--db", dsn, "--plugins", plugins, "--role-prefix", prefix); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	admin := pgtest.Connect(t, dsn)
	ctx := context.Background()
	seed := func(tag string) {
		t.Helper()
		for i := range 64 {
			id := fmt.Sprintf("%s-%d", tag, i)
			if _, err := admin.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'ns', $2, $2, '{a}', '', 1, 1, 1)`,
				postgres.WorkerPartition(id), id); err != nil {
				t.Fatal(err)
			}
		}
	}
	seed("first")
	for part := range postgres.BudgetPartitions {
		if _, err := admin.Exec(ctx, `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, next_reset_at_ms) VALUES ($1, 'b', '{"reset_interval_ms": 3600000}', 1, 1, 1)`, part); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--db", dsn, "--plugins", plugins, "--role-prefix", prefix, "--lease-ttl", "1500ms",
		"--interval", "worker_ttl=300ms", "--interval", "budget_reset=300ms"}
	a := startDaemon(t, nil, args...)
	b := startDaemon(t, nil, args...)
	count := func(q string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a.waitFor("the expired workers swept and the budgets reset", func() bool {
		return count(`SELECT count(*) FROM ff_worker_registry`) == 0 &&
			count(`SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms = 1`) == 0
	})
	if n := count(`SELECT count(*) FROM ff_worker_registry_event WHERE event_kind = 'ttl_swept'`); n != 64 {
		t.Errorf("%d ttl_swept events for 64 expired workers", n)
	}
	a.waitFor("both daemons holding partitions", func() bool {
		c := a.cluster()
		w, bu := c.heldBy("worker_ttl"), c.heldBy("budget_reset")
		return len(w) == 2 && w[c.Members[0].DaemonID]+w[c.Members[1].DaemonID] == 256 &&
			len(bu) == 2 && bu[c.Members[0].DaemonID]+bu[c.Members[1].DaemonID] == 32 &&
			min(w[c.Members[0].DaemonID], w[c.Members[1].DaemonID]) == 128
	})
	var plugs struct {
		Plugins []struct {
			Name       string `json:"name"`
			Partitions []int  `json:"partitions"`
		} `json:"plugins"`
	}
	_, body := b.get("/v1/plugins")
	if err := json.Unmarshal([]byte(body), &plugs); err != nil {
		t.Fatal(err)
	}
	for _, p := range plugs.Plugins {
		if want := map[string]int{"worker_ttl": 128, "budget_reset": 16}[p.Name]; len(p.Partitions) != want {
			t.Errorf("/v1/plugins of the second daemon: %s holds %d partitions, want %d", p.Name, len(p.Partitions), want)
		}
	}

	// Kill the second daemon: the first takes every partition over and
	// sweeps what expires in them.
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b.done
	seed("second")
	a.waitFor("the first daemon holding every partition and sweeping", func() bool {
		c := a.cluster()
		return c.heldBy("worker_ttl")[c.Daemon] == 256 && c.heldBy("budget_reset")[c.Daemon] == 32 &&
			count(`SELECT count(*) FROM ff_worker_registry`) == 0
	})
	if v := a.metric(`ffwasmhost_lease_events_total{event="acquired",plugin="worker_ttl"}`); v < 256 {
		t.Errorf("lease acquisitions of worker_ttl: %v, want at least 256", v)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
