package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
)

// clusterMetrics count what happens to this daemon's leases and fences.
type clusterMetrics struct {
	leases *prometheus.CounterVec // by plugin and event (acquired, released, lost)
	fenced *prometheus.CounterVec // by plugin: writes the fence refused
	held   *prometheus.GaugeVec   // by plugin: partitions held now
}

func (m *metrics) addCluster() *clusterMetrics {
	c := &clusterMetrics{
		leases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_lease_events_total",
			Help: "Cluster leases of (plugin, partition) pairs this daemon acquired, released or lost (PostgreSQL).",
		}, []string{"plugin", "event"}),
		fenced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_fenced_writes_total",
			Help: "Plugin write transactions refused by the fence: their lease was no longer this daemon's at its epoch.",
		}, []string{"plugin"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffwasmhost_partitions_held",
			Help: "Partitions of each plugin this daemon holds the lease of.",
		}, []string{"plugin"}),
	}
	m.reg.MustRegister(c.leases, c.fenced, c.held)
	return c
}

// joinCluster makes the daemon a member of the cluster on a PostgreSQL
// store, so that daemons split the (plugin, partition) pairs, and starts
// its heartbeat. On any other store it does nothing.
func (d *Daemon) joinCluster(ctx context.Context) error {
	pg, ok := d.st.(*postgres.Store)
	if !ok {
		return nil
	}
	d.clusterMetrics = d.metrics.addCluster()
	m, err := cluster.Join(ctx, pg.Pool(), cluster.Config{
		DaemonID: d.cfg.DaemonID,
		TTL:      d.cfg.LeaseTTL,
		Plugins:  map[string]int{},
		Clock:    d.cfg.ClusterClock,
		OnEvent:  d.leaseEvent,
	})
	if err != nil {
		return err
	}
	d.member = m
	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.memberStop, d.memberDone = stop, make(chan struct{})
	go d.runMember(mctx)
	d.log.Info("joined the cluster", "daemon", m.ID(), "lease_ttl", d.cfg.LeaseTTL)
	return nil
}

// runMember steps the member every LeaseTTL/3, and soon after the plugins
// it runs change, until ctx ends.
func (d *Daemon) runMember(ctx context.Context) {
	defer close(d.memberDone)
	t := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kickMember:
		}
		if d.memberHook != nil {
			d.memberHook()
		}
		d.setPlugins()
		if err := d.member.Step(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, cluster.ErrClosed) {
			d.log.Warn("cluster heartbeat failed", "err", err)
		}
		d.updateHeld()
	}
}

// leaveCluster stops the heartbeat and gives up every lease, so the other
// daemons take them over at once. Ticks must have stopped.
func (d *Daemon) leaveCluster(ctx context.Context) error {
	if d.member == nil {
		return nil
	}
	d.memberStop()
	<-d.memberDone
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := d.member.Close(cctx); err != nil {
		return err
	}
	d.updateHeld()
	return nil
}

// leaseEvent counts and logs one change of a lease, and notes when this
// daemon acquired the leases it holds.
func (d *Daemon) leaseEvent(e cluster.Event) {
	d.clusterMetrics.leases.WithLabelValues(e.Plugin, e.Kind.String()).Inc()
	d.heldSinceMu.Lock()
	if e.Kind == cluster.Acquired {
		if d.heldSince == nil {
			d.heldSince = map[string]map[int]time.Time{}
		}
		if d.heldSince[e.Plugin] == nil {
			d.heldSince[e.Plugin] = map[int]time.Time{}
		}
		d.heldSince[e.Plugin][e.Partition] = d.cfg.Clock.Now()
	} else {
		delete(d.heldSince[e.Plugin], e.Partition)
	}
	d.heldSinceMu.Unlock()
	if e.Kind == cluster.Lost {
		d.log.Warn("lease lost", "plugin", e.Plugin, "partition", e.Partition, "epoch", e.Epoch)
		return
	}
	d.log.Debug("lease "+e.Kind.String(), "plugin", e.Plugin, "partition", e.Partition, "epoch", e.Epoch)
}

// updateHeld sets the held-partitions gauge.
func (d *Daemon) updateHeld() {
	held := d.member.Held()
	d.mu.Lock()
	names := map[string]bool{}
	for _, e := range d.entries {
		names[e.name()] = true
	}
	d.mu.Unlock()
	for name := range names {
		d.clusterMetrics.held.WithLabelValues(name).Set(float64(len(held[name])))
	}
}

// kickCluster has the member rebalance soon: the plugins this daemon runs
// changed.
func (d *Daemon) kickCluster() {
	if d.member == nil {
		return
	}
	select {
	case d.kickMember <- struct{}{}:
	default:
	}
}

// setPlugins tells the member which plugins this daemon runs (those
// enabled) and how many partitions each walks.
func (d *Daemon) setPlugins() {
	plugins := map[string]int{}
	d.mu.Lock()
	for _, e := range d.entries {
		if e.interval > 0 {
			plugins[e.name()] = e.partitions
		}
	}
	d.mu.Unlock()
	if err := d.member.SetPlugins(plugins); err != nil {
		d.log.Warn("cluster: plugins not updated", "err", err)
	}
}

// fence is the fence of a tick of lease: the plugin's writes commit only
// while the lease is still this daemon's at its epoch.
func (d *Daemon) fence(l cluster.Lease) store.Fence {
	return func(ctx context.Context, db any) error {
		q, ok := db.(cluster.Queryer)
		if !ok {
			return fmt.Errorf("fence %s partition %d: the store's connection cannot run the fence", l.Plugin, l.Partition)
		}
		err := d.member.Fence(ctx, q, l.Plugin, l.Partition, l.Epoch)
		if errors.Is(err, cluster.ErrFenced) {
			d.clusterMetrics.fenced.WithLabelValues(l.Plugin).Inc()
			d.log.Warn("write fenced: the lease is no longer this daemon's", "plugin", l.Plugin, "partition", l.Partition, "epoch", l.Epoch)
		}
		return err
	}
}

// ClusterStatus is what /v1/cluster reports: the daemons on the database
// and the leases each holds.
type ClusterStatus struct {
	Daemon  string          `json:"daemon"` // this daemon's id
	Members []ClusterMember `json:"members"`
	// Free lists, by plugin, the partitions no live daemon holds.
	Free map[string][]int `json:"free"`
}

// ClusterMember is one daemon of the cluster.
type ClusterMember struct {
	DaemonID    string    `json:"daemon_id"`
	Plugins     []string  `json:"plugins"`
	JoinedAt    time.Time `json:"joined_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Alive       bool      `json:"alive"`
	// Held lists, by plugin, the partitions whose lease it holds.
	Held map[string][]int `json:"held"`
}

// Cluster reads the cluster's members and leases from the database. It
// fails on a store without a cluster (SQLite).
func (d *Daemon) Cluster(ctx context.Context) (ClusterStatus, error) {
	if d.member == nil {
		return ClusterStatus{}, errors.New("no cluster: the database is not PostgreSQL")
	}
	pool := d.st.(*postgres.Store).Pool()
	st := ClusterStatus{Daemon: d.member.ID(), Members: []ClusterMember{}, Free: map[string][]int{}}
	members, err := readMembers(ctx, pool, d.cfg.ClusterClock)
	if err != nil {
		return st, fmt.Errorf("read cluster members: %w", err)
	}
	byID := map[string]*ClusterMember{}
	for i := range members {
		byID[members[i].DaemonID] = &members[i]
	}
	rows, err := pool.Query(ctx, `SELECT plugin, partition, holder FROM ffwasmhost_lease ORDER BY plugin, partition`)
	if err != nil {
		return st, fmt.Errorf("read cluster leases: %w", err)
	}
	var (
		plugin string
		part   int32
		holder *string
	)
	_, err = pgx.ForEachRow(rows, []any{&plugin, &part, &holder}, func() error {
		if holder != nil {
			if m, ok := byID[*holder]; ok && m.Alive {
				m.Held[plugin] = append(m.Held[plugin], int(part))
				return nil
			}
		}
		st.Free[plugin] = append(st.Free[plugin], int(part))
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read cluster leases: %w", err)
	}
	st.Members = members
	return st, nil
}

func readMembers(ctx context.Context, pool *pgxpool.Pool, clock cluster.Clock) ([]ClusterMember, error) {
	var now any
	if clock != nil {
		now = clock.Now()
	}
	rows, err := pool.Query(ctx, `SELECT daemon_id, plugins, joined_at, heartbeat_at, expires_at,
  expires_at > coalesce($1::timestamptz, clock_timestamp())
FROM ffwasmhost_member ORDER BY daemon_id`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClusterMember, error) {
		m := ClusterMember{Held: map[string][]int{}}
		err := r.Scan(&m.DaemonID, &m.Plugins, &m.JoinedAt, &m.HeartbeatAt, &m.ExpiresAt, &m.Alive)
		return m, err
	})
}

// serveCluster is GET /v1/cluster.
func (d *Daemon) serveCluster(w http.ResponseWriter, r *http.Request) {
	st, err := d.Cluster(r.Context())
	if err != nil {
		status := http.StatusServiceUnavailable
		if d.member == nil {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		d.log.Warn("write /v1/cluster", "err", err)
	}
}

// heldPartitions is the partitions of plugin this daemon holds, nil
// without a cluster.
func (d *Daemon) heldPartitions(plugin string) []int {
	if d.member == nil {
		return nil
	}
	held := d.member.Held()[plugin]
	if held == nil {
		return []int{}
	}
	return slices.Clone(held)
}

// acquiredAt returns when this daemon acquired its lease of plugin's
// partition; zero if it does not know.
func (d *Daemon) acquiredAt(plugin string, partition int) time.Time {
	d.heldSinceMu.Lock()
	defer d.heldSinceMu.Unlock()
	return d.heldSince[plugin][partition]
}
