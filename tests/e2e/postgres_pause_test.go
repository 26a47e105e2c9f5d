package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// auditSQL records every write the plugins' roles commit to the tables of
// the reconcilers: the writer's login role, the partition, the lease of
// that partition as the write saw it and, for a budget reset, the time of
// the tick that reset it. A write committed under a lease
// that was no longer the writer's shows up as a row whose holder is
// another daemon. %s is the administrator's role, whose writes (the
// application's) are not recorded.
const auditSQL = `
CREATE TABLE public.plugin_writes (
    role      text        NOT NULL,
    plugin    text        NOT NULL,
    tbl       text        NOT NULL,
    partition integer     NOT NULL,
    holder    text,
    epoch     bigint,
    now_ms    bigint,
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION public.audit_plugin_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $audit$
DECLARE
    p integer;
    now_ms bigint;
BEGIN
    IF session_user = %[1]s THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        p := OLD.partition_key;
    ELSE
        p := NEW.partition_key;
        now_ms := NEW.updated_at_ms;
    END IF;
    INSERT INTO public.plugin_writes (role, plugin, tbl, partition, holder, epoch, now_ms)
    SELECT session_user, TG_ARGV[0], TG_TABLE_NAME, p, l.holder, l.epoch, now_ms
    FROM (SELECT 1) AS one
    LEFT JOIN public.ffwasmhost_lease AS l ON l.plugin = TG_ARGV[0] AND l.partition = p;
    RETURN NULL;
END
$audit$;
CREATE TRIGGER audit AFTER UPDATE ON public.ff_budget_policy
    FOR EACH ROW EXECUTE FUNCTION public.audit_plugin_write('budget_reset');
CREATE TRIGGER audit AFTER DELETE ON public.ff_worker_registry
    FOR EACH ROW EXECUTE FUNCTION public.audit_plugin_write('worker_ttl');
`

// appWriters stand for FlowFabric's application: each on its own
// connection, they heartbeat live workers, add usage rows and register
// workers that have already expired, counting what they committed.
type appWriters struct {
	heartbeats, usage, expired atomic.Int64
	errs                       chan error
	maxWait                    atomic.Int64 // longest statement, in ns
	stop                       chan struct{}
	wg                         sync.WaitGroup
}

// liveWorkers is how many workers the heartbeat writer keeps alive.
const liveWorkers = 64

func startAppWriters(t *testing.T, dsn string) *appWriters {
	t.Helper()
	w := &appWriters{errs: make(chan error, 16), stop: make(chan struct{})}
	ctx := context.Background()
	run := func(name string, conn *pgx.Conn, step func(i int) (int64, error), n *atomic.Int64) {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				start := time.Now()
				rows, err := step(i)
				for d := int64(time.Since(start)); ; {
					m := w.maxWait.Load()
					if d <= m || w.maxWait.CompareAndSwap(m, d) {
						break
					}
				}
				if err == nil && rows != 1 {
					err = fmt.Errorf("changed %d rows, want 1", rows)
				}
				if err != nil {
					select {
					case w.errs <- fmt.Errorf("%s write %d: %w", name, i, err):
					default:
					}
					continue
				}
				n.Add(1)
			}
		}()
	}
	hb := pgtest.Connect(t, dsn)
	run("heartbeat", hb, func(i int) (int64, error) {
		id := fmt.Sprintf("live-%d", i%liveWorkers)
		tag, err := hb.Exec(ctx, `UPDATE ff_worker_registry SET last_heartbeat_ms = $3
WHERE partition_key = $1 AND namespace = 'live' AND worker_instance_id = $2`,
			postgres.WorkerPartition(id), id, time.Now().UnixMilli())
		return tag.RowsAffected(), err
	}, &w.heartbeats)
	us := pgtest.Connect(t, dsn)
	run("usage", us, func(i int) (int64, error) {
		tag, err := us.Exec(ctx, `INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value, updated_at_ms)
VALUES ($1, 'b', $2, 1, $3)`, i%postgres.BudgetPartitions, fmt.Sprintf("app-%d", i), time.Now().UnixMilli())
		return tag.RowsAffected(), err
	}, &w.usage)
	ex := pgtest.Connect(t, dsn)
	run("expired worker", ex, func(i int) (int64, error) {
		id := fmt.Sprintf("exp-%d", i)
		tag, err := ex.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'exp', $2, $2, '{a}', '', 1, 1, 1)`,
			postgres.WorkerPartition(id), id)
		return tag.RowsAffected(), err
	}, &w.expired)
	t.Cleanup(w.halt)
	return w
}

// halt stops the writers and waits for them.
func (w *appWriters) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// TestPostgresPausedDaemonIsFenced: three `ffwasmhost run` processes
// share the partitions; one is stopped (SIGSTOP) past its lease while the
// application keeps writing, the other two take its partitions over and
// tick them, and once it is continued (SIGCONT) it commits nothing under
// the leases it lost. The application loses no write.
func TestPostgresPausedDaemonIsFenced(t *testing.T) {
	t.Parallel()
	const (
		ttl      = 2 * time.Second
		interval = 300 * time.Millisecond
	)
	dsn := pgtest.NewDatabase(t)
	prefix, prefixC := pgtest.RolePrefix(t), pgtest.RolePrefix(t)
	plugins := copyPlugins(t, "budget_reset", "worker_ttl")
	// The paused daemon's plugins log in as roles of their own, so the
	// audit tells its writes from the others'.
	for _, p := range []string{prefix, prefixC} {
		if r := ffwasmhost(t, nil, "migrate", "--db", dsn, "--plugins", plugins, "--role-prefix", p); r.code != 0 {
			t.Fatalf("migrate --role-prefix %s: %s", p, r.stderr)
		}
	}
	admin := pgtest.Connect(t, dsn)
	ctx := context.Background()
	var adminRole string
	if err := admin.QueryRow(ctx, `SELECT quote_literal(session_user)`).Scan(&adminRole); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(auditSQL, adminRole)); err != nil {
		t.Fatalf("audit trigger: %v", err)
	}
	now := time.Now().UnixMilli()
	for i := range liveWorkers {
		id := fmt.Sprintf("live-%d", i)
		if _, err := admin.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'live', $2, $2, '{a}', '', $3, 20000, $3)`,
			postgres.WorkerPartition(id), id, now); err != nil {
			t.Fatal(err)
		}
	}
	for part := range postgres.BudgetPartitions {
		if _, err := admin.Exec(ctx, `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, next_reset_at_ms) VALUES ($1, 'b', '{"reset_interval_ms": 1000}', 1, 1, 1)`, part); err != nil {
			t.Fatal(err)
		}
	}
	args := func(p string) []string {
		return []string{"--db", dsn, "--plugins", plugins, "--role-prefix", p, "--lease-ttl", ttl.String(),
			"--interval", "worker_ttl=" + interval.String(), "--interval", "budget_reset=" + interval.String()}
	}
	a := startDaemon(t, nil, args(prefix)...)
	b := startDaemon(t, nil, args(prefix)...)
	c := startDaemon(t, nil, args(prefixC)...)
	writers := startAppWriters(t, dsn)

	thirds := func(v clusterView, plugin string, total int) bool {
		held := v.heldBy(plugin)
		sum := 0
		for _, n := range held {
			sum += n
			if math.Abs(float64(n)-float64(total)/3) > float64(total)/12+1 {
				return false
			}
		}
		return len(held) == 3 && sum == total
	}
	var before clusterView
	a.waitFor("each daemon holding about a third of the partitions", func() bool {
		before = c.cluster()
		return thirds(before, "worker_ttl", 256) && thirds(before, "budget_reset", postgres.BudgetPartitions)
	})
	cID := before.Daemon
	lost := map[string][]int{}
	for _, m := range before.Members {
		if m.DaemonID == cID {
			lost = m.Held
		}
	}
	t.Logf("daemon %s holds %d worker_ttl and %d budget_reset partitions", cID, len(lost["worker_ttl"]), len(lost["budget_reset"]))

	// Pause it past its lease: the others take its partitions over and
	// tick them.
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	takenOver := func() bool {
		rows, err := admin.Query(ctx, `SELECT plugin, partition_key FROM ffwasmhost_ticks
WHERE daemon <> $1 AND start_ms > $2`, cID, stopped.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		ticked := map[string][]int{}
		for rows.Next() {
			var plugin string
			var part int
			if err := rows.Scan(&plugin, &part); err != nil {
				t.Fatal(err)
			}
			ticked[plugin] = append(ticked[plugin], part)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for plugin, parts := range lost {
			for _, p := range parts {
				if !slices.Contains(ticked[plugin], p) {
					return false
				}
			}
		}
		return true
	}
	a.waitFor("the paused daemon's partitions ticked by the others", takenOver)
	took := time.Since(stopped)
	t.Logf("the paused daemon's partitions were taken over and ticked %v after SIGSTOP (lease TTL %v, interval %v)", took, ttl, interval)
	if bound := 3 * (2*ttl + interval); took > bound {
		t.Errorf("takeover took %v, want under %v (2×TTL + an interval, three times over)", took, bound)
	}
	time.Sleep(ttl) // the others keep ticking while it stays paused
	// Work in every partition, waiting for whoever ticks it first.
	for i := range 256 {
		id := fmt.Sprintf("resume-%d", i)
		if _, err := admin.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'exp', $2, $2, '{a}', '', 1, 1, 1)`, i, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the continued daemon back in the cluster with partitions", func() bool {
		v := c.cluster()
		return v.heldBy("worker_ttl")[cID] > 0 && v.heldBy("budget_reset")[cID] > 0
	})
	time.Sleep(2 * interval)
	writers.halt()
	// Its leases lapsed by its own clock, so it mostly skips the lost
	// partitions before writing; a tick it was paused in the middle of
	// meets the fence.
	fenced := 0.0
	for _, plugin := range []string{"worker_ttl", "budget_reset"} {
		fenced += max(0, c.metric(`ffwasmhost_fenced_writes_total{plugin="`+plugin+`"}`))
	}
	t.Logf("the continued daemon's write transactions refused by the fence: %v", fenced)

	// Nothing it wrote under a lease it had lost was committed.
	var stale int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM plugin_writes WHERE role LIKE $1 || '%' AND holder IS DISTINCT FROM $2`,
		prefixC, cID).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("the paused daemon committed %d writes to partitions whose lease it no longer held", stale)
	}
	var others, byC int
	if err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE role LIKE $1 || '%'), count(*) FILTER (WHERE role LIKE $2 || '%')
FROM plugin_writes`, prefix, prefixC).Scan(&others, &byC); err != nil {
		t.Fatal(err)
	}
	if others == 0 || byC == 0 {
		t.Errorf("audited writes: %d by the two daemons, %d by the paused one; want some by each", others, byC)
	}
	// No budget was reset twice within its reset interval, by the time
	// of the ticks that reset it: no partition was processed twice in one
	// interval.
	var twice int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM (
  SELECT now_ms - lag(now_ms) OVER (PARTITION BY partition ORDER BY at) AS gap FROM plugin_writes WHERE plugin = 'budget_reset'
) g WHERE gap < 1000`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d budget resets came within the reset interval of the previous one", twice)
	}

	// The application lost nothing.
	select {
	case err := <-writers.errs:
		t.Errorf("application writer: %v", err)
	default:
	}
	t.Logf("application writes: %d heartbeats, %d usage rows, %d expired workers; longest statement %v",
		writers.heartbeats.Load(), writers.usage.Load(), writers.expired.Load(), time.Duration(writers.maxWait.Load()))
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := admin.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM ff_budget_usage WHERE dimensions_key LIKE 'app-%'`); n != writers.usage.Load() {
		t.Errorf("%d usage rows, the application committed %d", n, writers.usage.Load())
	}
	if n := count(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'live'`); n != liveWorkers {
		t.Errorf("%d live workers left, want all %d (heartbeats lost?)", n, liveWorkers)
	}
	a.waitFor("every expired worker swept", func() bool {
		return count(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'exp'`) == 0
	})
	if n, want := count(`SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'exp' AND event_kind = 'ttl_swept'`),
		writers.expired.Load()+256; n != want {
		t.Errorf("%d ttl_swept events, want one for each of the %d expired workers", n, want)
	}
	for _, p := range []*daemonProc{a, b, c} {
		if code := p.stop(); code != 0 {
			t.Errorf("exit %d", code)
		}
	}
}
