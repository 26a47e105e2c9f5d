package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// migrated returns a fresh database with the host's and FlowFabric's
// tables, cloned from a template made once per test run.
func migrated(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	tmpl := pgtest.Template(t, "migrated", func(ctx context.Context, dsn string) error {
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		return s.Migrate(ctx)
	})
	dsn := pgtest.NewDatabaseFrom(t, tmpl)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return dsn, pool
}

// fakeClock is the cluster's time in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// reconcilers are the pairs FlowFabric's Postgres backend walks: 288.
var reconcilers = map[string]int{"budget_reset": postgres.BudgetPartitions, "worker_ttl": postgres.WorkerPartitions}

const ttl = 15 * time.Second

// events records a member's events.
type events struct {
	mu sync.Mutex
	es []Event
}

func (r *events) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.es = append(r.es, e)
}

// count returns how many events of kind were recorded, and forgets them all.
func (r *events) take(kind EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.es {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *events) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.es = nil
}

type testMember struct {
	*Member
	ev *events
}

func join(t *testing.T, pool *pgxpool.Pool, id string, clock Clock) testMember {
	t.Helper()
	ev := &events{}
	m, err := Join(context.Background(), pool, Config{DaemonID: id, TTL: ttl, Plugins: reconcilers, Clock: clock, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	return testMember{m, ev}
}

func step(t *testing.T, ms ...testMember) {
	t.Helper()
	for _, m := range ms {
		if err := m.Step(context.Background()); err != nil {
			t.Fatalf("step %s: %v", m.ID(), err)
		}
	}
}

func total(h map[string][]int) int {
	n := 0
	for _, ps := range h {
		n += len(ps)
	}
	return n
}

// checkSplit fails the test unless ms hold every pair exactly once between
// them, each member's share of each plugin within one of the others', and
// the lease table agrees with what the members report.
func checkSplit(t *testing.T, pool *pgxpool.Pool, ms ...testMember) {
	t.Helper()
	owner := map[pair]string{}
	for _, m := range ms {
		for plugin, parts := range m.Held() {
			for _, p := range parts {
				if o, dup := owner[pair{plugin, p}]; dup {
					t.Fatalf("%s %d held by both %s and %s", plugin, p, o, m.ID())
				}
				owner[pair{plugin, p}] = m.ID()
			}
		}
	}
	for plugin, n := range reconcilers {
		lo, hi := n/len(ms), (n+len(ms)-1)/len(ms)
		for _, m := range ms {
			if got := len(m.Held()[plugin]); got < lo || got > hi {
				t.Errorf("%s holds %d of %s's %d partitions, want %d to %d", m.ID(), got, plugin, n, lo, hi)
			}
		}
		for p := range n {
			if _, ok := owner[pair{plugin, p}]; !ok {
				t.Errorf("%s %d is held by no member", plugin, p)
			}
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT plugin, partition, holder FROM ffwasmhost_lease WHERE holder IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p pair
		var holder string
		if err := rows.Scan(&p.plugin, &p.partition, &holder); err != nil {
			t.Fatal(err)
		}
		if owner[p] != holder {
			t.Errorf("the table says %s holds %v, the members say %q", holder, p, owner[p])
		}
		n++
	}
	if n != 288 {
		t.Errorf("%d leases are held in the table, want 288", n)
	}
}

// TestSplitRebalanceTakeover walks a cluster through its life on one
// database, with the clock moved by hand: two members split the 288 pairs
// evenly; a third joins and they rebalance to thirds; one leaves and the
// others take over at their next step; one stops heartbeating and the
// other takes over within 2×TTL, while the paused one's transaction,
// begun before the pause, commits nothing.
func TestSplitRebalanceTakeover(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx := context.Background()
	clock := newClock()
	if _, err := pool.Exec(ctx, `CREATE TABLE work (partition int, v int)`); err != nil {
		t.Fatal(err)
	}

	a := join(t, pool, "a", clock)
	if got := total(a.Held()); got != 288 {
		t.Fatalf("a alone holds %d pairs, want 288", got)
	}
	b := join(t, pool, "b", clock)
	if got := total(b.Held()); got != 0 {
		t.Fatalf("b holds %d pairs before a released any", got)
	}
	step(t, a, b) // a releases its excess, b takes it
	checkSplit(t, pool, a, b)
	if got := total(a.Held()); got != 144 {
		t.Errorf("a holds %d, want 144", got)
	}
	if a.ev.take(Released) != 144 || b.ev.take(Acquired) != 144 {
		t.Error("the handover was not reported as 144 releases and 144 acquisitions")
	}

	c := join(t, pool, "c", clock)
	step(t, a, b, c)
	checkSplit(t, pool, a, b, c)
	for _, m := range []testMember{a, b, c} {
		if got := total(m.Held()); got != 96 {
			t.Errorf("%s holds %d pairs, want 96", m.ID(), got)
		}
	}
	step(t, a, b, c) // stable: nothing moves
	if n := a.ev.take(Lost) + b.ev.take(Lost) + c.ev.take(Lost); n != 0 {
		t.Errorf("%d leases lost in a quiet cluster", n)
	}
	for _, m := range []testMember{a, b, c} {
		m.ev.reset()
	}
	stable := a.Held()
	step(t, a, b, c)
	if !equalHeld(stable, a.Held()) {
		t.Error("a stable cluster moved leases")
	}

	// c leaves: a and b take its 96 at their next step, without waiting
	// for anything to expire.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.ev.take(Released); got != 96 {
		t.Errorf("c reported %d releases on Close, want 96", got)
	}
	if err := c.Step(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Step after Close = %v", err)
	}
	step(t, a, b)
	checkSplit(t, pool, a, b)

	// b begins a write for one of its partitions, then pauses (never
	// steps again).
	part := b.Held()["worker_ttl"][0]
	lease, ok := b.Lease("worker_ttl", part)
	if !ok {
		t.Fatal("b has no lease of a partition it holds")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO work SELECT $1, g FROM generate_series(1, 10) g`, part); err != nil {
		t.Fatal(err)
	}

	// a steps every TTL/3; b's heartbeat was at 0.
	var took time.Duration
	for took = 0; took <= 3*ttl; took += ttl / 3 {
		if total(a.Held()) == 288 {
			break
		}
		clock.Advance(ttl / 3)
		step(t, a)
	}
	if total(a.Held()) != 288 {
		t.Fatalf("a holds %d pairs 3×TTL after b paused", total(a.Held()))
	}
	if took > 2*ttl {
		t.Errorf("a took %v to take over, want at most 2×TTL (%v)", took, 2*ttl)
	}
	if total(b.Held()) != 0 {
		t.Errorf("paused b still reports %d pairs held", total(b.Held()))
	}

	// b wakes up and tries to commit under its old epoch: fenced.
	err = b.Fence(ctx, tx, lease.Plugin, lease.Partition, lease.Epoch)
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("fence after the takeover = %v, want ErrFenced", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM work`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("the fenced transaction left %d rows (%v), want 0", rows, err)
	}

	// b's next step finds it had lapsed: it loses what it held, and the
	// cluster rebalances to halves again.
	step(t, b)
	if got := b.ev.take(Lost); got != 144 {
		t.Errorf("b reported %d leases lost, want 144", got)
	}
	step(t, a, b)
	checkSplit(t, pool, a, b)
}

func equalHeld(x, y map[string][]int) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if !slices.Equal(v, y[k]) {
			return false
		}
	}
	return true
}

// TestFenceMakesTakeoverWait: a transaction that passed its fence holds
// the lease row; a takeover skips the lease until the transaction ends, so
// what it commits comes before the new holder's epoch. Afterwards, the old
// epoch is fenced.
func TestFenceMakesTakeoverWait(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx := context.Background()
	clock := newClock()
	if _, err := pool.Exec(ctx, `CREATE TABLE work (partition int, v int)`); err != nil {
		t.Fatal(err)
	}
	a := join(t, pool, "a", clock)
	lease, ok := a.Lease("budget_reset", 3)
	if !ok {
		t.Fatal("a does not hold budget_reset 3")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO work VALUES (3, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := a.Fence(ctx, tx, lease.Plugin, lease.Partition, lease.Epoch); err != nil {
		t.Fatalf("fence while holding the lease: %v", err)
	}

	// a pauses past its TTL; b joins and takes everything it can.
	clock.Advance(ttl + time.Second)
	b := join(t, pool, "b", clock)
	if _, held := b.Lease("budget_reset", 3); held {
		t.Fatal("b took over a lease while a fenced transaction held it")
	}
	if got := total(b.Held()); got != 287 {
		t.Errorf("b holds %d pairs, want all 287 others", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit of the fenced transaction: %v", err)
	}
	step(t, b)
	bl, ok := b.Lease("budget_reset", 3)
	if !ok || bl.Epoch != lease.Epoch+1 {
		t.Fatalf("after the commit b holds budget_reset 3 at %+v (%v), want epoch %d", bl, ok, lease.Epoch+1)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM work`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("work has %d rows (%v), want the 1 committed before the takeover", rows, err)
	}
	if err := a.Fence(ctx, pool, lease.Plugin, lease.Partition, lease.Epoch); !errors.Is(err, ErrFenced) {
		t.Errorf("old epoch after the takeover: %v, want ErrFenced", err)
	}
}

// TestFenceAfterLapse: a lease whose holder expired is fenced even if no
// one took it; the holder's next step forfeits and reacquires it under a
// new epoch, and only the new epoch passes.
func TestFenceAfterLapse(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx := context.Background()
	clock := newClock()
	a := join(t, pool, "a", clock)
	old, _ := a.Lease("worker_ttl", 200)
	clock.Advance(ttl)
	if err := a.Fence(ctx, pool, old.Plugin, old.Partition, old.Epoch); !errors.Is(err, ErrFenced) {
		t.Fatalf("fence at expiry: %v, want ErrFenced", err)
	}
	if len(a.Held()) != 0 {
		t.Error("Held reports leases past the TTL")
	}
	step(t, a)
	renewed, ok := a.Lease("worker_ttl", 200)
	if !ok || renewed.Epoch <= old.Epoch {
		t.Fatalf("after the lapse: %+v %v, want a new epoch above %d", renewed, ok, old.Epoch)
	}
	if err := a.Fence(ctx, pool, renewed.Plugin, renewed.Partition, renewed.Epoch); err != nil {
		t.Errorf("new epoch: %v", err)
	}
	if err := a.Fence(ctx, pool, old.Plugin, old.Partition, old.Epoch); !errors.Is(err, ErrFenced) {
		t.Errorf("old epoch: %v, want ErrFenced", err)
	}
	if got := a.ev.take(Lost); got != 288 {
		t.Errorf("%d leases reported lost at the lapse, want 288", got)
	}
	// A heartbeat in time keeps the epoch.
	clock.Advance(ttl / 3)
	step(t, a)
	if l, _ := a.Lease("worker_ttl", 200); l.Epoch != renewed.Epoch {
		t.Errorf("a timely heartbeat changed the epoch from %d to %d", renewed.Epoch, l.Epoch)
	}
}

// TestPluginsDiffer: a member that does not run a plugin gets none of its
// partitions, and the members that run it split them; a plugin dropped
// from a member's set is released.
func TestPluginsDiffer(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	clock := newClock()
	a := join(t, pool, "a", clock)
	ev := &events{}
	b, err := Join(context.Background(), pool, Config{DaemonID: "b", TTL: ttl, Clock: clock, OnEvent: ev.add,
		Plugins: map[string]int{"worker_ttl": 256}})
	if err != nil {
		t.Fatal(err)
	}
	step(t, a)
	step(t, testMember{b, ev})
	if got := len(a.Held()["budget_reset"]); got != 32 {
		t.Errorf("a holds %d budget partitions, want all 32", got)
	}
	if got, other := len(a.Held()["worker_ttl"]), len(b.Held()["worker_ttl"]); got != 128 || other != 128 {
		t.Errorf("worker partitions split %d/%d, want 128/128", got, other)
	}
	if err := a.SetPlugins(map[string]int{"budget_reset": 32}); err != nil {
		t.Fatal(err)
	}
	step(t, a)
	step(t, testMember{b, ev})
	if got := len(a.Held()["worker_ttl"]); got != 0 {
		t.Errorf("a still holds %d worker partitions", got)
	}
	if got := len(b.Held()["worker_ttl"]); got != 256 {
		t.Errorf("b holds %d worker partitions, want 256", got)
	}
}

func TestShare(t *testing.T) {
	for _, k := range []int{1, 2, 3, 5, 7} {
		var runners []string
		for i := range k {
			runners = append(runners, fmt.Sprintf("d%d", i))
		}
		for _, plugin := range []string{"budget_reset", "worker_ttl", "x"} {
			for _, n := range []int{1, 2, 32, 256, 257} {
				sum := 0
				for _, r := range runners {
					s := share(plugin, n, runners, r)
					if s < n/k || s > n/k+1 {
						t.Errorf("share(%s, %d, %d members) = %d", plugin, n, k, s)
					}
					sum += s
				}
				if sum != n {
					t.Errorf("shares of %s's %d among %d add up to %d", plugin, n, k, sum)
				}
			}
		}
	}
	if s := share("p", 10, []string{"a"}, "stranger"); s != 0 {
		t.Errorf("a member not in the list has share %d", s)
	}
}

// TestRunOnTheDatabaseClock runs three members for real, on the
// database's clock with a short TTL, until they split the pairs; then one
// leaves and the other two take its share. Run it under -race.
func TestRunOnTheDatabaseClock(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shortTTL = 600 * time.Millisecond
	var ms []testMember
	var wg sync.WaitGroup
	for _, id := range []string{"x", "y", "z"} {
		ev := &events{}
		m, err := Join(ctx, pool, Config{DaemonID: id, TTL: shortTTL, Plugins: reconcilers, OnEvent: ev.add,
			OnError: func(err error) { t.Errorf("%s: %v", id, err) }})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, testMember{m, ev})
		wg.Go(func() { m.Run(ctx) })
	}
	defer wg.Wait()
	defer cancel()
	waitSplit(t, ms...)
	checkSplit(t, pool, ms...)
	if err := ms[2].Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitSplit(t, ms[:2]...)
	checkSplit(t, pool, ms[:2]...)
}

// waitSplit waits, with a generous bound, until ms hold all 288 pairs
// evenly between them.
func waitSplit(t *testing.T, ms ...testMember) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		even, sum := true, 0
		for _, m := range ms {
			h := m.Held()
			sum += total(h)
			for plugin, n := range reconcilers {
				if got := len(h[plugin]); got < n/len(ms) || got > (n+len(ms)-1)/len(ms) {
					even = false
				}
			}
		}
		if even && sum == 288 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not split after 30 s: %d pairs held", sum)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestJoinRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	for _, cfg := range []Config{
		{DaemonID: "a", TTL: time.Millisecond, Plugins: reconcilers},
		{DaemonID: "a", Plugins: map[string]int{"p": 0}},
		{DaemonID: "a", Plugins: map[string]int{"": 3}},
	} {
		if m, err := Join(context.Background(), pool, cfg); err == nil {
			m.Close(context.Background())
			t.Errorf("Join(%+v) succeeded", cfg)
		}
	}
}

// TestFenceInSerializableTransactions: a renewal (a heartbeat) during a
// SERIALIZABLE transaction does not fence it, as renewals never write the
// lease row; a takeover does, though the transaction's snapshot predates
// it.
func TestFenceInSerializableTransactions(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx := context.Background()
	clock := newClock()
	a := join(t, pool, "a", clock)
	lease, _ := a.Lease("budget_reset", 0)
	begin := func() pgx.Tx {
		t.Helper()
		tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(ctx) })
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ff_budget_policy`).Scan(&n); err != nil { // takes the snapshot
			t.Fatal(err)
		}
		return tx
	}

	tx := begin()
	clock.Advance(ttl / 3)
	step(t, a) // renews a's membership while tx is open
	if err := a.Fence(ctx, tx, lease.Plugin, lease.Partition, lease.Epoch); err != nil {
		t.Errorf("fence after a renewal: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Errorf("commit after a renewal: %v", err)
	}

	tx = begin()
	clock.Advance(ttl + time.Second) // a pauses; b takes over
	b := join(t, pool, "b", clock)
	if _, ok := b.Lease("budget_reset", 0); !ok {
		t.Fatal("b did not take the lease over")
	}
	err := a.Fence(ctx, tx, lease.Plugin, lease.Partition, lease.Epoch)
	if !errors.Is(err, ErrFenced) {
		t.Errorf("fence after a takeover: %v, want ErrFenced", err)
	}
}

// TestJoinWithNoPluginsYet: a daemon joins before it has loaded any plugin
// (nil or empty Plugins), and takes leases once it runs some.
func TestJoinWithNoPluginsYet(t *testing.T) {
	t.Parallel()
	_, pool := migrated(t)
	ctx := context.Background()
	for _, plugins := range []map[string]int{nil, {}} {
		m, err := Join(ctx, pool, Config{DaemonID: "early", Plugins: plugins})
		if err != nil {
			t.Fatalf("Join with plugins %v: %v", plugins, err)
		}
		if err := m.SetPlugins(map[string]int{"budget_reset": 4}); err != nil {
			t.Fatal(err)
		}
		if err := m.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if got := m.Held()["budget_reset"]; len(got) != 4 {
			t.Errorf("held %v after SetPlugins, want 4 partitions", got)
		}
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
