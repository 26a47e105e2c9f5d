// Package cluster splits the (plugin, partition) pairs of the reconcilers
// between several daemons on one PostgreSQL database, with leases in a
// table and a fencing epoch, and no session advisory lock: those break
// behind transaction-mode poolers, and a plugin could take the same keys.
//
// Two tables, which host/store/postgres's Migrate creates:
//
//   - ffwasmhost_member: one row per daemon (its id, the plugins it runs,
//     its last heartbeat and expires_at = heartbeat + TTL);
//   - ffwasmhost_lease: one row per (plugin, partition): the holder's
//     daemon id (NULL: free) and an epoch that grows by one at every
//     change of holder.
//
// A lease is valid while its holder's member row has not expired: one
// heartbeat renews every lease of a daemon, and a lease row is written only
// when its holder changes. That keeps lease rows still while transactions
// are fenced against them, so a SERIALIZABLE plugin transaction never
// fails its fence because of a mere renewal.
//
// A Member joins, heartbeats every TTL/3 (Run, or Step by hand), computes
// its fair share of each plugin's partitions among the live members that
// run the plugin (n/members, the remainder spread by a hash of the
// plugin's name so no daemon gets every extra), acquires free or expired
// leases up to it, releases leases beyond it so that newcomers get theirs,
// and reports what it holds (Held, Lease) and what changed (Config.OnEvent).
// A daemon that stops heartbeating loses its leases TTL after its last
// heartbeat; the others notice within TTL/3, so they take over within
// 2×TTL. A daemon that leaves with Close frees its leases at once.
//
// Every time is the database's clock (clock_timestamp()), never a daemon's:
// daemons' clocks may differ, the database's is the one all of them read.
// Config.Clock replaces it, in every statement, for tests. Locally, a
// Member stops reporting a lease as held TTL after the heartbeat that last
// renewed it was sent, by its own monotonic clock, so a daemon cut off
// from the database stops ticking by itself.
//
// Fencing: before a write transaction commits, Fence calls
// ffwasmhost_fence, which share-locks the lease row and checks that the
// epoch is still the lease's and its holder alive. The lock makes any
// change of holder wait for the transaction to end, so a daemon that was
// paused past its lease either committed before the new holder's epoch
// began, or fails its fence with ErrFenced and commits nothing.
//
// It owns membership and leases only, on PostgreSQL through pgx; it must
// not import the plugin runtime, wazero or a store.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultTTL is Config.TTL's default.
const DefaultTTL = 15 * time.Second

// maxPartitions bounds the partitions of one plugin.
const maxPartitions = 1 << 16

// Clock gives the time in place of the database's clock, for tests.
type Clock interface {
	Now() time.Time
}

// Config configures a Member.
type Config struct {
	// DaemonID names the daemon; it must be unique among the daemons on
	// the database. Default: hostname, process id and a random suffix, so
	// a restarted daemon is a new member.
	DaemonID string
	// TTL is how long a heartbeat keeps the daemon, and so its leases,
	// alive. The member heartbeats every TTL/3. Default DefaultTTL.
	TTL time.Duration
	// Plugins are the partition-scoped plugins this daemon runs and how
	// many partitions each walks (budget_reset 32, worker_ttl 256).
	Plugins map[string]int
	// Clock, if set, replaces the database's clock in every statement and
	// the local clock that bounds Held. Tests only.
	Clock Clock
	// OnEvent, if set, is told of every lease acquired, released or lost,
	// from the goroutine that runs Step or Close. It must not block.
	OnEvent func(Event)
	// OnError, if set, is told of every failed Step of Run.
	OnError func(error)
}

// EventKind says what happened to a lease.
type EventKind int

// Event kinds.
const (
	// Acquired: the member now holds the lease, with a new epoch.
	Acquired EventKind = iota + 1
	// Released: the member gave the lease up (rebalancing, Close, a
	// plugin it no longer runs).
	Released
	// Lost: the member held the lease and no longer does, not by its own
	// choice: it expired (the member missed its heartbeats) or another
	// member took it over.
	Lost
)

// String returns "acquired", "released" or "lost".
func (k EventKind) String() string {
	switch k {
	case Acquired:
		return "acquired"
	case Released:
		return "released"
	case Lost:
		return "lost"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is one change of a lease this member holds.
type Event struct {
	Kind      EventKind
	Plugin    string
	Partition int
	Epoch     int64 // the lease's epoch as this member knew it (Acquired: the new one)
}

// Lease is one (plugin, partition) lease the member holds.
type Lease struct {
	Plugin    string
	Partition int
	Epoch     int64
}

type pair struct {
	plugin    string
	partition int
}

// Member is this daemon's membership of the cluster.
type Member struct {
	pool *pgxpool.Pool
	cfg  Config

	stepMu  sync.Mutex // one Step or Close at a time
	ensured map[string]int
	closed  bool

	mu         sync.Mutex
	plugins    map[string]int
	held       map[pair]int64
	validUntil time.Time // by the local clock
}

// Join makes this daemon a member and runs its first Step, so it holds its
// share of whatever leases are free when Join returns. Call Run to keep it
// going, and Close to leave.
func Join(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Member, error) {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 3*time.Millisecond {
		return nil, fmt.Errorf("join cluster: TTL %v is too short", cfg.TTL)
	}
	if cfg.DaemonID == "" {
		cfg.DaemonID = defaultDaemonID()
	}
	if err := checkPlugins(cfg.Plugins); err != nil {
		return nil, fmt.Errorf("join cluster: %w", err)
	}
	m := &Member{pool: pool, cfg: cfg, ensured: map[string]int{}, plugins: maps.Clone(cfg.Plugins), held: map[pair]int64{}}
	if err := m.Step(ctx); err != nil {
		return nil, fmt.Errorf("join cluster as %s: %w", cfg.DaemonID, err)
	}
	return m, nil
}

func checkPlugins(plugins map[string]int) error {
	for p, n := range plugins {
		if p == "" {
			return errors.New("a plugin with no name")
		}
		if n < 1 || n > maxPartitions {
			return fmt.Errorf("plugin %s: %d partitions, want 1 to %d", p, n, maxPartitions)
		}
	}
	return nil
}

func defaultDaemonID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// ID returns the member's daemon id.
func (m *Member) ID() string { return m.cfg.DaemonID }

// SetPlugins changes the plugins this daemon runs; the next Step acquires
// and releases accordingly.
func (m *Member) SetPlugins(plugins map[string]int) error {
	if err := checkPlugins(plugins); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plugins = maps.Clone(plugins)
	return nil
}

// now is the time argument of the member's statements: nil, so that SQL
// reads the database's clock, or the injected clock's time.
func (m *Member) now() any {
	if m.cfg.Clock == nil {
		return nil
	}
	return m.cfg.Clock.Now()
}

// localNow is the clock that bounds Held.
func (m *Member) localNow() time.Time {
	if m.cfg.Clock == nil {
		return time.Now()
	}
	return m.cfg.Clock.Now()
}

// Held returns the partitions of each plugin this member holds, sorted.
// A lease whose last renewal is older than TTL by the local clock is left
// out even before the member learns it lost it.
func (m *Member) Held() map[string][]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]int{}
	if !m.localNow().Before(m.validUntil) {
		return out
	}
	for p := range m.held {
		out[p.plugin] = append(out[p.plugin], p.partition)
	}
	for _, parts := range out {
		sort.Ints(parts)
	}
	return out
}

// Lease returns the member's lease of (plugin, partition), with the epoch
// to fence its writes with, if it holds it.
func (m *Member) Lease(plugin string, partition int) (Lease, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.held[pair{plugin, partition}]
	if !ok || !m.localNow().Before(m.validUntil) {
		return Lease{}, false
	}
	return Lease{Plugin: plugin, Partition: partition, Epoch: e}, true
}

// Run steps the member every TTL/3 until ctx ends or the member is
// closed; failed steps go to Config.OnError. It does not Close the member.
func (m *Member) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := m.Step(ctx)
		switch {
		case errors.Is(err, ErrClosed):
			return
		case err != nil && m.cfg.OnError != nil && ctx.Err() == nil:
			m.cfg.OnError(err)
		}
	}
}

// ErrClosed is returned by Step after Close.
var ErrClosed = errors.New("cluster member closed")

// Step is one round: heartbeat (forfeiting every lease first if the
// member had expired), then, for each plugin, release leases beyond the
// member's share or acquire free and expired ones up to it, then read back
// what the member holds. Leases locked by a transaction in flight (a
// fenced write) are skipped this round.
func (m *Member) Step(ctx context.Context) error {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.mu.Lock()
	plugins := maps.Clone(m.plugins)
	m.mu.Unlock()
	var events []Event
	defer func() { m.emit(events) }()

	sent := m.localNow()
	forfeited, err := m.heartbeat(ctx, plugins)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	released := map[pair]bool{}
	for _, l := range forfeited {
		released[pair{l.Plugin, l.Partition}] = true // reported as lost below
	}
	live, err := m.liveMembers(ctx)
	if err != nil {
		return fmt.Errorf("read members: %w", err)
	}
	for _, plugin := range slices.Sorted(maps.Keys(plugins)) {
		rel, err := m.balance(ctx, plugin, plugins[plugin], live)
		if err != nil {
			return fmt.Errorf("balance %s: %w", plugin, err)
		}
		for _, l := range rel {
			released[pair{l.Plugin, l.Partition}] = true
			events = append(events, Event{Released, l.Plugin, l.Partition, l.Epoch - 1})
		}
	}
	rel, err := m.releaseOthers(ctx, plugins)
	if err != nil {
		return fmt.Errorf("release plugins no longer run: %w", err)
	}
	for _, l := range rel {
		released[pair{l.Plugin, l.Partition}] = true
		events = append(events, Event{Released, l.Plugin, l.Partition, l.Epoch - 1})
	}
	now, err := m.readHeld(ctx)
	if err != nil {
		return fmt.Errorf("read leases: %w", err)
	}

	m.mu.Lock()
	old := m.held
	m.held, m.validUntil = now, sent.Add(m.cfg.TTL)
	m.mu.Unlock()
	for p, e := range now {
		if oe, ok := old[p]; !ok || oe != e {
			if ok {
				events = append(events, Event{Lost, p.plugin, p.partition, oe})
			}
			events = append(events, Event{Acquired, p.plugin, p.partition, e})
		}
	}
	for p, e := range old {
		if _, still := now[p]; !still && (!released[p] || isForfeit(forfeited, p)) {
			events = append(events, Event{Lost, p.plugin, p.partition, e})
		}
	}
	return nil
}

func isForfeit(ls []Lease, p pair) bool {
	for _, l := range ls {
		if l.Plugin == p.plugin && l.Partition == p.partition {
			return true
		}
	}
	return false
}

func (m *Member) emit(events []Event) {
	if m.cfg.OnEvent == nil {
		return
	}
	for _, e := range events {
		m.cfg.OnEvent(e)
	}
}

// nowSQL is the statements' time: the injected clock's ($1) or the
// database's.
const nowSQL = `coalesce($1::timestamptz, clock_timestamp())`

// heartbeat renews the member's row. If the row had expired (or is new),
// every lease still recorded for this daemon is forfeited first, with a
// new epoch, in the same transaction: a transaction of this daemon begun
// before the lapse can then never pass its fence, even if no one else took
// the lease meanwhile.
func (m *Member) heartbeat(ctx context.Context, plugins map[string]int) (forfeited []Lease, err error) {
	err = pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		var alive bool
		err := tx.QueryRow(ctx, `SELECT expires_at > `+nowSQL+` FROM ffwasmhost_member WHERE daemon_id = $2 FOR UPDATE`,
			m.now(), m.cfg.DaemonID).Scan(&alive)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if !alive {
			if forfeited, err = m.collect(tx.Query(ctx, `UPDATE ffwasmhost_lease SET holder = NULL, epoch = epoch + 1, acquired_at = NULL
WHERE holder = $1 RETURNING plugin, partition, epoch`, m.cfg.DaemonID)); err != nil {
				return fmt.Errorf("forfeit leases: %w", err)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO ffwasmhost_member (daemon_id, plugins, joined_at, heartbeat_at, expires_at)
SELECT $2, $3, t.now, t.now, t.now + $4::interval FROM (SELECT `+nowSQL+` AS now) t
ON CONFLICT (daemon_id) DO UPDATE SET plugins = EXCLUDED.plugins, heartbeat_at = EXCLUDED.heartbeat_at,
  expires_at = EXCLUDED.expires_at`,
			m.now(), m.cfg.DaemonID, append([]string{}, slices.Sorted(maps.Keys(plugins))...), m.cfg.TTL) // never NULL, even with none
		if err != nil {
			return err
		}
		// Members long gone are of no use even to an operator's eye.
		_, err = tx.Exec(ctx, `DELETE FROM ffwasmhost_member WHERE expires_at < `+nowSQL+` - $2::interval`, m.now(), 10*m.cfg.TTL)
		return err
	})
	return forfeited, err
}

// collect reads (plugin, partition, epoch) rows.
func (m *Member) collect(rows pgx.Rows, err error) ([]Lease, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lease, error) {
		var l Lease
		var p int32
		err := r.Scan(&l.Plugin, &p, &l.Epoch)
		l.Partition = int(p)
		return l, err
	})
}

// member is a live member and the plugins it runs.
type member struct {
	id      string
	plugins []string
}

func (m *Member) liveMembers(ctx context.Context) ([]member, error) {
	rows, err := m.pool.Query(ctx, `SELECT daemon_id, plugins FROM ffwasmhost_member
WHERE expires_at > `+nowSQL+` ORDER BY daemon_id`, m.now())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (member, error) {
		var mb member
		err := r.Scan(&mb.id, &mb.plugins)
		return mb, err
	})
}

// share is this member's fair share of a plugin's n partitions among the
// live members that run it: n/k each, the n%k extra partitions going to
// the members at ranks offset, offset+1, ... (mod k), offset a hash of the
// plugin's name, so the extras of different plugins fall on different
// members. Every member computes the same shares, which add up to n.
func share(plugin string, n int, runners []string, me string) int {
	k := len(runners)
	r := slices.Index(runners, me)
	if k == 0 || r < 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(plugin))
	off := int(h.Sum32() % uint32(k))
	s := n / k
	if (r-off+k)%k < n%k {
		s++
	}
	return s
}

// balance moves the member towards its share of plugin: it creates the
// plugin's lease rows if missing, then releases leases beyond the share
// (highest partitions first) or acquires free and expired ones (lowest
// first). Rows locked by a transaction in flight are skipped.
func (m *Member) balance(ctx context.Context, plugin string, n int, live []member) (released []Lease, err error) {
	if m.ensured[plugin] != n {
		if _, err := m.pool.Exec(ctx, `INSERT INTO ffwasmhost_lease (plugin, partition)
SELECT $1, g FROM generate_series(0, $2::integer - 1) g ON CONFLICT DO NOTHING`, plugin, n); err != nil {
			return nil, fmt.Errorf("create lease rows: %w", err)
		}
		m.ensured[plugin] = n
	}
	var runners []string
	for _, mb := range live {
		if slices.Contains(mb.plugins, plugin) {
			runners = append(runners, mb.id)
		}
	}
	want := share(plugin, n, runners, m.cfg.DaemonID)
	var have int
	if err := m.pool.QueryRow(ctx, `SELECT count(*) FROM ffwasmhost_lease WHERE plugin = $1 AND holder = $2 AND partition < $3`,
		plugin, m.cfg.DaemonID, n).Scan(&have); err != nil {
		return nil, err
	}
	// Partitions past n (the plugin now walks fewer) always go, with
	// any beyond the share.
	released, err = m.collect(m.pool.Query(ctx, `WITH pick AS (
  SELECT partition FROM ffwasmhost_lease WHERE plugin = $1 AND holder = $2
  ORDER BY partition >= $3 DESC, partition DESC
  LIMIT (SELECT count(*) FROM ffwasmhost_lease WHERE plugin = $1 AND holder = $2 AND partition >= $3) + greatest($4::integer, 0)
  FOR UPDATE SKIP LOCKED)
UPDATE ffwasmhost_lease l SET holder = NULL, epoch = l.epoch + 1, acquired_at = NULL
FROM pick WHERE l.plugin = $1 AND l.partition = pick.partition
RETURNING l.plugin, l.partition, l.epoch`, plugin, m.cfg.DaemonID, n, have-want))
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if have >= want {
		return released, nil
	}
	_, err = m.pool.Exec(ctx, `WITH t AS (SELECT `+nowSQL+` AS now), pick AS (
  SELECT l.partition FROM ffwasmhost_lease l, t
  WHERE l.plugin = $2 AND l.partition < $4
    AND (l.holder IS NULL OR NOT EXISTS (
      SELECT 1 FROM ffwasmhost_member mb WHERE mb.daemon_id = l.holder AND mb.expires_at > t.now))
  ORDER BY l.partition
  LIMIT $5
  FOR UPDATE OF l SKIP LOCKED)
UPDATE ffwasmhost_lease l SET holder = $3, epoch = l.epoch + 1, acquired_at = (SELECT now FROM t)
FROM pick WHERE l.plugin = $2 AND l.partition = pick.partition`,
		m.now(), plugin, m.cfg.DaemonID, n, want-have)
	if err != nil {
		return released, fmt.Errorf("acquire: %w", err)
	}
	return released, nil
}

// releaseOthers releases the leases of plugins the member no longer runs.
func (m *Member) releaseOthers(ctx context.Context, plugins map[string]int) ([]Lease, error) {
	return m.collect(m.pool.Query(ctx, `WITH pick AS (
  SELECT plugin, partition FROM ffwasmhost_lease WHERE holder = $1 AND plugin <> ALL ($2::text[])
  FOR UPDATE SKIP LOCKED)
UPDATE ffwasmhost_lease l SET holder = NULL, epoch = l.epoch + 1, acquired_at = NULL
FROM pick WHERE l.plugin = pick.plugin AND l.partition = pick.partition
RETURNING l.plugin, l.partition, l.epoch`, m.cfg.DaemonID, slices.Sorted(maps.Keys(plugins))))
}

func (m *Member) readHeld(ctx context.Context) (map[pair]int64, error) {
	ls, err := m.collect(m.pool.Query(ctx, `SELECT plugin, partition, epoch FROM ffwasmhost_lease WHERE holder = $1`, m.cfg.DaemonID))
	if err != nil {
		return nil, err
	}
	held := make(map[pair]int64, len(ls))
	for _, l := range ls {
		held[pair{l.Plugin, l.Partition}] = l.Epoch
	}
	return held, nil
}

// Close leaves the cluster: it releases every lease of the member, so the
// others take them over at their next step, and deletes its member row.
// Stop ticking first: a release waits for the member's transactions in
// flight that fenced the lease. Later Steps fail with ErrClosed.
func (m *Member) Close(ctx context.Context) error {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	if m.closed {
		return nil
	}
	var released []Lease
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		var err error
		if released, err = m.collect(tx.Query(ctx, `UPDATE ffwasmhost_lease SET holder = NULL, epoch = epoch + 1, acquired_at = NULL
WHERE holder = $1 RETURNING plugin, partition, epoch`, m.cfg.DaemonID)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM ffwasmhost_member WHERE daemon_id = $1`, m.cfg.DaemonID)
		return err
	})
	if err != nil {
		return fmt.Errorf("leave cluster as %s: %w", m.cfg.DaemonID, err)
	}
	m.closed = true
	m.mu.Lock()
	m.held = map[pair]int64{}
	m.mu.Unlock()
	events := make([]Event, 0, len(released))
	for _, l := range released {
		events = append(events, Event{Released, l.Plugin, l.Partition, l.Epoch - 1})
	}
	m.emit(events)
	return nil
}

// ErrFenced is returned by Fence when the lease is no longer the caller's
// at that epoch: another member holds it, it was released, or its holder
// expired. The transaction must roll back.
var ErrFenced = errors.New("fenced: the lease is no longer held at this epoch")

// Queryer runs one query: pgx.Tx, *pgx.Conn and *pgxpool.Pool are ones.
type Queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Fence checks, inside the write transaction q is in, just before it
// commits, that (plugin, partition) is still leased at epoch and its
// holder alive by the database's clock, and share-locks the lease row so
// that no change of holder can happen before the transaction ends. If not,
// it returns an error wrapping ErrFenced and the transaction must roll
// back. q may be the plugin's own connection: its role is granted EXECUTE
// on ffwasmhost_fence and nothing on the lease tables.
func Fence(ctx context.Context, q Queryer, plugin string, partition int, epoch int64) error {
	return fence(ctx, q, plugin, partition, epoch, nil)
}

// Fence is the package's Fence with the member's clock.
func (m *Member) Fence(ctx context.Context, q Queryer, plugin string, partition int, epoch int64) error {
	return fence(ctx, q, plugin, partition, epoch, m.now())
}

func fence(ctx context.Context, q Queryer, plugin string, partition int, epoch int64, now any) error {
	var ok bool
	err := q.QueryRow(ctx, `SELECT ffwasmhost_fence($1, $2, $3, $4)`, plugin, int32(partition), epoch, now).Scan(&ok)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "40001":
		// A REPEATABLE READ or SERIALIZABLE transaction found the lease
		// row changed since its snapshot: its holder changed.
		return fmt.Errorf("fence %s partition %d epoch %d: %w (%v)", plugin, partition, epoch, ErrFenced, err)
	case err != nil:
		return fmt.Errorf("fence %s partition %d epoch %d: %w", plugin, partition, epoch, err)
	case !ok:
		return fmt.Errorf("fence %s partition %d epoch %d: %w", plugin, partition, epoch, ErrFenced)
	}
	return nil
}
