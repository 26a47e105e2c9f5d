package daemon

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// node is one daemon of a test cluster.
type node struct {
	f *fixture
	d *Daemon
}

// startCluster starts n daemons on the database dsn, each with the files
// plugins in a plugin directory of its own and the config cfg, named d0,
// d1, ...; hooks, if set, runs on each daemon before it opens.
func startCluster(t *testing.T, n int, dsn string, cfg Config, plugins map[string][]byte, hooks func(i int, d *Daemon)) []*node {
	t.Helper()
	prefix := pgtest.RolePrefix(t)
	nodes := make([]*node, n)
	for i := range nodes {
		c := cfg
		c.DBPath, c.DaemonID = dsn, fmt.Sprintf("d%d", i)
		c.PGOptions.RolePrefix = prefix
		// One compilation cache for all: a plugin compiles once, not once
		// per daemon (under -race, each compile takes seconds).
		c.CacheDir = plugintest.CacheDir()
		f := newFixture(t, c)
		for name, wasm := range plugins {
			f.write(name, wasm)
		}
		d, err := New(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if hooks != nil {
			hooks(i, d)
		}
		if err := d.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.d = d
		nodes[i] = &node{f: f, d: d}
	}
	return nodes
}

// crash stops a daemon as a kill -9 would, as far as the others can tell:
// no more heartbeats or ticks, and its leases left to expire.
func (n *node) crash() {
	n.d.memberStop()
	<-n.d.memberDone
	n.d.sup.Shutdown(0)
}

// split waits until the live nodes hold every partition of each plugin
// (name: count) between them, each once, and returns who holds what.
func split(t *testing.T, live []*node, plugins map[string]int, within time.Duration) map[string]map[int]string {
	t.Helper()
	var holders map[string]map[int]string
	deadline := time.Now().Add(within)
	for {
		holders = map[string]map[int]string{}
		complete := true
		for plugin, count := range plugins {
			holders[plugin] = map[int]string{}
			for _, n := range live {
				for _, p := range n.d.member.Held()[plugin] {
					if other, dup := holders[plugin][p]; dup {
						t.Fatalf("%s partition %d held by %s and %s at once", plugin, p, other, n.d.member.ID())
					}
					holders[plugin][p] = n.d.member.ID()
				}
			}
			complete = complete && len(holders[plugin]) == count
		}
		if complete {
			return holders
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the live daemons hold %v partitions, want all of %v", within, counts(holders), plugins)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func counts(holders map[string]map[int]string) map[string]int {
	out := map[string]int{}
	for p, h := range holders {
		out[p] = len(h)
	}
	return out
}

// ledgerTicks reads the ledger: ticks by plugin and partition.
func ledgerTicks(t *testing.T, st store.Store) map[string]map[int]store.TickRecord {
	t.Helper()
	recs, err := st.Ticks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int]store.TickRecord{}
	for _, r := range recs {
		if out[r.Plugin] == nil {
			out[r.Plugin] = map[int]store.TickRecord{}
		}
		out[r.Plugin][r.Partition] = r
	}
	return out
}

// TestThreeDaemonsSplitAndTakeOver: three daemons on one database split
// the 256 worker and 32 budget partitions, each about a third; every
// partition is ticked once per interval across them (not once per daemon);
// when one dies, the others hold its partitions within 2×TTL and tick
// them.
func TestThreeDaemonsSplitAndTakeOver(t *testing.T) {
	t.Parallel()
	const (
		interval = 300 * time.Millisecond
		ttl      = 1500 * time.Millisecond
	)
	families := map[string]int{"fanw": postgres.WorkerPartitions, "fanb": postgres.BudgetPartitions}
	nodes := startCluster(t, 3, pgtest.NewDatabase(t),
		Config{LeaseTTL: ttl, Intervals: map[string]time.Duration{"fanw": interval, "fanb": interval}},
		map[string][]byte{
			"fanw.wasm": partitionedWasm(t, "fanw", "worker_registry", -1),
			"fanb.wasm": partitionedWasm(t, "fanb", "budget", -1),
		}, nil)

	holders := split(t, nodes, families, 4*ttl)
	// Rebalancing goes on until each holds its share; wait for it.
	fair := func(h map[string]map[int]string, live int) bool {
		for plugin, count := range families {
			per := map[string]int{}
			for _, id := range h[plugin] {
				per[id]++
			}
			for _, k := range per {
				if k < count/live || k > (count+live-1)/live {
					return false
				}
			}
			if len(per) != live {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(6 * ttl)
	for !fair(holders, 3) {
		if time.Now().After(deadline) {
			t.Fatalf("not split fairly after %v: %v", 6*ttl, holders)
		}
		time.Sleep(50 * time.Millisecond)
		holders = split(t, nodes, families, ttl)
	}
	for plugin := range families {
		per := map[string]int{}
		for _, id := range holders[plugin] {
			per[id]++
		}
		t.Logf("%s: partitions held %v", plugin, per)
	}

	// Once per interval across the daemons, not once per daemon: over a
	// window, no partition ticks much more often than the interval allows.
	// A lease that changes hands in the window (a heartbeat late on a
	// loaded machine) may add a tick, never three times as many.
	st := nodes[0].d.st
	time.Sleep(2 * interval)
	before, start := ledgerTicks(t, st), time.Now()
	time.Sleep(10 * interval)
	after, elapsed := ledgerTicks(t, st), time.Since(start)
	maxTicks := int64(elapsed/interval)*3/2 + 2
	for plugin, count := range families {
		for p := range count {
			n := after[plugin][p].Ticks - before[plugin][p].Ticks
			if n < 1 || n > maxTicks {
				t.Errorf("%s partition %d ticked %d times in %v at a %v interval, want 1 to %d",
					plugin, p, n, elapsed.Round(time.Millisecond), interval, maxTicks)
			}
		}
	}

	// Kill d2: d0 and d1 hold its partitions within 2×TTL, then tick them.
	dead := nodes[2]
	var orphans []int
	for p, id := range holders["fanw"] {
		if id == dead.d.member.ID() {
			orphans = append(orphans, p)
		}
	}
	dead.crash()
	killed := time.Now()
	split(t, nodes[:2], families, waitDeadline)
	takeover := time.Since(killed)
	f := nodes[0].f
	f.waitFor("the dead daemon's partitions ticked by the others", func() bool {
		recs := ledgerTicks(t, st)["fanw"]
		for _, p := range orphans {
			if r := recs[p]; r.Daemon == dead.d.member.ID() || r.Start.Before(killed) {
				return false
			}
		}
		return true
	})
	ticked := time.Since(killed)
	t.Logf("after the kill: leases taken over in %v, every orphan partition ticked in %v (TTL %v, interval %v)",
		takeover.Round(time.Millisecond), ticked.Round(time.Millisecond), ttl, interval)
	// 2×TTL by design; the slack is for a loaded test machine, where a
	// heartbeat or a tick loop may run late.
	if takeover > 2*ttl+time.Second {
		t.Errorf("the dead daemon's leases were taken over %v after the kill, want within 2×TTL (%v)", takeover, 2*ttl)
	}
	if ticked > 2*ttl+interval+5*time.Second {
		t.Errorf("the dead daemon's partitions were ticked %v after the kill, want within 2×TTL and an interval", ticked)
	}
}

// TestPausedDaemonCommitsNothing: a daemon paused in the middle of a tick,
// heartbeats and all, past its lease TTL, resumes its tick under the old
// epoch: the fence refuses its writes, so it commits none (counted), while
// the daemon that took the partition over sweeps it once and an
// application writing beside them loses nothing.
func TestPausedDaemonCommitsNothing(t *testing.T) {
	t.Parallel()
	const (
		interval = 200 * time.Millisecond
		ttl      = 900 * time.Millisecond
	)
	wasm := readFile(t, plugintest.Build(t, "../../plugins/worker_ttl"))
	dsn := pgtest.NewDatabase(t)

	var (
		paused      atomic.Bool
		target      atomic.Int64 // the partition the pause is armed for; -1 none
		inTick      = make(chan struct{})
		resume      = make(chan struct{})
		gate        = make(chan struct{}) // holds the other daemons' ticks of target
		gateWaiting = make(chan string, 4)
		once        sync.Once
	)
	target.Store(-1)
	hooks := func(i int, d *Daemon) {
		if i == 0 {
			d.memberHook = func() {
				if paused.Load() {
					<-resume
				}
			}
			d.partitionHook = func(_ context.Context, _ string, p int) {
				if paused.Load() && int64(p) == target.Load() {
					once.Do(func() { close(inTick) })
					<-resume
				}
			}
			return
		}
		d.partitionHook = func(_ context.Context, _ string, p int) {
			if int64(p) == target.Load() {
				select {
				case <-gate:
				default:
					gateWaiting <- d.member.ID()
					<-gate
				}
			}
		}
	}
	nodes := startCluster(t, 3, dsn, Config{LeaseTTL: ttl, Intervals: map[string]time.Duration{"worker_ttl": interval}},
		map[string][]byte{"worker_ttl.wasm": wasm}, hooks)
	a := nodes[0]
	holders := split(t, nodes, map[string]int{"worker_ttl": postgres.WorkerPartitions}, 4*ttl)
	p := -1
	for _, part := range slices.Sorted(maps.Keys(holders["worker_ttl"])) {
		if holders["worker_ttl"][part] == a.d.member.ID() {
			p = part
			break
		}
	}
	if p < 0 {
		t.Fatal("d0 holds no partition")
	}
	admin := pgtest.Connect(t, dsn)
	ctx := context.Background()

	// An application writes live workers all along, in every partition.
	var written atomic.Int64
	stopWriter := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		conn := pgtest.Connect(t, dsn)
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				writerDone <- nil
				return
			default:
			}
			id := fmt.Sprintf("app-%d", i)
			_, err := conn.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'app', $2, $2, '{a}', '', $3, 3600000, $3)`,
				postgres.WorkerPartition(id), id, time.Now().UnixMilli())
			if err != nil {
				writerDone <- err
				return
			}
			written.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()

	// Pause d0 inside its tick of p, lease read, heartbeats stopped.
	target.Store(int64(p))
	paused.Store(true)
	select {
	case <-inTick:
	case <-time.After(waitDeadline):
		t.Fatal("d0 never ticked its partition")
	}
	// Workers of p, expired at any now d0's tick could have read.
	var expired []string
	for i := 0; len(expired) < 5; i++ {
		id := fmt.Sprintf("gone-%d", i)
		if postgres.WorkerPartition(id) != p {
			continue
		}
		expired = append(expired, id)
		if _, err := admin.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'ns', $2, $2, '{a}', '', 1, 1, 1)`, p, id); err != nil {
			t.Fatal(err)
		}
	}
	// Another daemon takes p over and is held at the gate.
	var successor string
	select {
	case successor = <-gateWaiting:
	case <-time.After(waitDeadline):
		t.Fatal("no daemon took the paused daemon's partition over")
	}
	fencedBefore, _ := a.f.metric("ffwasmhost_fenced_writes_total", "plugin", "worker_ttl")

	// Resume d0: its tick of p runs under the old epoch.
	paused.Store(false)
	close(resume)
	a.f.waitFor("d0's stale write fenced", func() bool {
		v, _ := a.f.metric("ffwasmhost_fenced_writes_total", "plugin", "worker_ttl")
		return v > fencedBefore
	})
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	committed := 5 - count(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'ns'`) +
		count(`SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'ns'`)
	t.Logf("d0 paused in its tick of partition %d past its lease (TTL %v); %s took it over; d0's writes committed under the old epoch: %d",
		p, ttl, successor, committed)
	if committed != 0 {
		t.Errorf("the paused daemon committed %d writes under its old epoch, want 0", committed)
	}

	// The successor sweeps p once.
	close(gate)
	nodes[1].f.waitFor("the successor's sweep", func() bool {
		return count(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'ns'`) == 0
	})
	if n := count(`SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'ns' AND event_kind = 'ttl_swept'`); n != 5 {
		t.Errorf("%d ttl_swept events for the 5 expired workers, want 5", n)
	}
	close(stopWriter)
	if err := <-writerDone; err != nil {
		t.Fatalf("application writer: %v", err)
	}
	if n := count(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'app'`); n != int(written.Load()) || n == 0 {
		t.Errorf("the application wrote %d live workers, %d remain", written.Load(), n)
	}
}

// TestStaleHeldPartitions: on PostgreSQL a daemon judges staleness over
// the partitions it holds, each on its own ledger row: a partition of its
// that keeps failing makes it stale (status, /readyz, metric) while the
// other daemon, whose partitions succeed, is not; a daemon that takes the
// partition over counts from when it acquired it, and a success clears it.
func TestStaleHeldPartitions(t *testing.T) {
	t.Parallel()
	const (
		interval   = 100 * time.Millisecond
		ttl        = 900 * time.Millisecond
		staleAfter = 20
	)
	wasm := readFile(t, plugintest.Build(t, "../../plugins/worker_ttl"))
	dsn := pgtest.NewDatabase(t)
	cfg := Config{LeaseTTL: ttl, StaleAfter: staleAfter, Intervals: map[string]time.Duration{"worker_ttl": interval},
		// The failing partition backs the plugin's ticks off no further
		// than an interval, so the others keep succeeding.
		MaxBackoff: interval,
		Partitions: map[string]int{"worker_registry": 4}, PGOptions: postgres.Options{LockTimeout: 50 * time.Millisecond}}
	nodes := startCluster(t, 2, dsn, cfg, map[string][]byte{"worker_ttl.wasm": wasm}, nil)
	d0, d1 := nodes[0], nodes[1]
	d0.f.waitFor("two partitions each", func() bool {
		return len(d0.d.member.Held()["worker_ttl"]) == 2 && len(d1.d.member.Held()["worker_ttl"]) == 2
	})
	// p: a partition of d0 other than 0, which the ledger judged alone.
	p := slices.Max(d0.d.member.Held()["worker_ttl"])
	stalePartitions := func(n *node) []int {
		ps, _ := n.f.plugin("worker_ttl")
		return ps.StalePartitions
	}

	// An expired worker of p whose row the application keeps locked: every
	// sweep of p waits past the lock timeout and fails.
	ctx := context.Background()
	admin := pgtest.Connect(t, dsn)
	if _, err := admin.Exec(ctx, `INSERT INTO ff_worker_registry VALUES ($1, 'ns', 'stuck', 'stuck', '{a}', '', 1, 1, 1)`, p); err != nil {
		t.Fatal(err)
	}
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM ff_worker_registry WHERE partition_key = $1 AND worker_instance_id = 'stuck' FOR UPDATE`, p); err != nil {
		t.Fatal(err)
	}
	d0.f.waitFor("d0 stale in the partition it cannot sweep", func() bool {
		return slices.Equal(stalePartitions(d0), []int{p})
	})
	err = d0.d.Ready(ctx)
	if want := fmt.Sprintf("worker_ttl (partitions %d of the 2 this daemon holds; interval 100ms)", p); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("d0's Ready = %v, want %q in it", err, want)
	}
	if v, _ := d0.f.metric("ffwasmhost_plugin_stale", "plugin", "worker_ttl"); v != 1 {
		t.Errorf("d0's ffwasmhost_plugin_stale = %v, want 1", v)
	}
	if ps, _ := d1.f.plugin("worker_ttl"); ps.Stale || len(ps.StalePartitions) > 0 {
		t.Errorf("d1, whose partitions succeed, is stale: %v", ps.StalePartitions)
	}
	if err := d1.d.Ready(ctx); err != nil {
		t.Errorf("d1's Ready = %v", err)
	}
	if v, _ := d1.f.metric("ffwasmhost_plugin_stale", "plugin", "worker_ttl"); v != 0 {
		t.Errorf("d1's ffwasmhost_plugin_stale = %v, want 0", v)
	}

	// d0 dies: d1 takes p over, not stale for it until it has failed it
	// for StaleAfter intervals of its own.
	d0.crash()
	split(t, []*node{d1}, map[string]int{"worker_ttl": 4}, 4*ttl)
	took := time.Now()
	if got := stalePartitions(d1); len(got) > 0 && time.Since(took) < staleAfter*interval {
		t.Errorf("d1 stale in %v just after taking it over", got)
	}
	d1.f.waitFor("d1 stale in the partition it cannot sweep", func() bool {
		return slices.Equal(stalePartitions(d1), []int{p})
	})
	if since := time.Since(took); since < staleAfter*interval/2 {
		t.Errorf("d1 stale %v after taking the partition over, before %d intervals", since, staleAfter)
	}

	// The lock goes: the next sweep succeeds and clears it.
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	d1.f.waitFor("d1 no longer stale", func() bool {
		ps, _ := d1.f.plugin("worker_ttl")
		return !ps.Stale
	})
	if err := d1.d.Ready(ctx); err != nil {
		t.Errorf("d1's Ready after the sweep = %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
