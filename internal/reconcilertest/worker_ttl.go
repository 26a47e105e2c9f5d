package reconcilertest

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// worker is one ff_worker_registry row.
type worker struct {
	Namespace, InstanceID, WorkerID, Lanes, Capabilities string
	LastHeartbeat, TTL, RegisteredAt                     int64
}

// event is one ff_worker_registry_event row.
type event struct {
	Namespace, InstanceID, Kind string
	At                          int64
	Reason                      sql.NullString
}

// live returns a worker in namespace ns that last beat at heartbeat with a
// liveness TTL of ttl: its deadline is heartbeat+ttl.
func live(ns, id string, heartbeat, ttl int64) worker {
	return worker{
		Namespace: ns, InstanceID: id, WorkerID: "w-" + id, Lanes: "a,b",
		Capabilities: "gpu,ssd", LastHeartbeat: heartbeat, TTL: ttl, RegisteredAt: 10,
	}
}

// swept is the event a sweep at now records for w.
func swept(w worker, now int64) event {
	return event{Namespace: w.Namespace, InstanceID: w.InstanceID, Kind: "ttl_swept", At: now}
}

func seedWorkers(t *testing.T, h *plugintest.Harness, ws []worker, es []event) {
	t.Helper()
	for _, w := range ws {
		h.Exec(`INSERT INTO ff_worker_registry (namespace, worker_instance_id, worker_id, lanes,
capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES (?,?,?,?,?,?,?,?)`,
			w.Namespace, w.InstanceID, w.WorkerID, w.Lanes, w.Capabilities, w.LastHeartbeat, w.TTL, w.RegisteredAt)
	}
	for _, e := range es {
		h.Exec(`INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind,
event_at_ms, reason) VALUES (?,?,?,?,?)`, e.Namespace, e.InstanceID, e.Kind, e.At, e.Reason)
	}
}

// workers returns every registry row, ordered by primary key.
func workers(t *testing.T, h *plugintest.Harness) []worker {
	t.Helper()
	rows, err := h.DB.Query(`SELECT namespace, worker_instance_id, worker_id, lanes, capabilities_csv,
last_heartbeat_ms, liveness_ttl_ms, registered_at_ms FROM ff_worker_registry
ORDER BY namespace, worker_instance_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []worker
	for rows.Next() {
		var w worker
		if err := rows.Scan(&w.Namespace, &w.InstanceID, &w.WorkerID, &w.Lanes, &w.Capabilities,
			&w.LastHeartbeat, &w.TTL, &w.RegisteredAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// events returns every event row, ordered by primary key.
func events(t *testing.T, h *plugintest.Harness) []event {
	t.Helper()
	rows, err := h.DB.Query(`SELECT namespace, worker_instance_id, event_kind, event_at_ms, reason
FROM ff_worker_registry_event ORDER BY namespace, worker_instance_id, event_at_ms, event_kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.Namespace, &e.InstanceID, &e.Kind, &e.At, &e.Reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// workerTTLSweep seeds the registry and its events, runs one tick at now and
// compares both tables in full with what the contract says they must hold.
// A second tick at the same now must then find nothing and change nothing.
func workerTTLSweep(t *testing.T, wasm string) {
	const now = 1_000_000
	var (
		expired    = live("ns", "expired", now-30_001, 30_000) // deadline now-1
		atDeadline = live("ns", "at-deadline", now-30_000, 30_000)
		alive      = live("ns", "alive", now-5_000, 30_000)
		zeroPast   = live("ns", "zero-ttl-past", now-1, 0)
		zeroNow    = live("ns", "zero-ttl-now", now, 0)
		inA        = live("a", "w1", now-60_000, 30_000)
		inB        = live("b", "w1", now-60_000, 30_000)
		inBAlive   = live("b", "w1", now-1_000, 30_000)
		operator   = event{Namespace: "ns", InstanceID: "expired", Kind: "ttl_swept", At: now,
			Reason: sql.NullString{String: "operator sweep", Valid: true}}
		history = []event{
			{Namespace: "ns", InstanceID: "expired", Kind: "registered", At: 10},
			{Namespace: "ns", InstanceID: "expired", Kind: "heartbeat", At: now - 30_001},
			{Namespace: "ns", InstanceID: "expired", Kind: "ttl_swept", At: now - 1,
				Reason: sql.NullString{String: "earlier", Valid: true}},
		}
	)
	tests := []struct {
		name    string
		workers []worker
		events  []event
		want    host.Report
		wantW   []worker
		wantE   []event
	}{
		{
			name:    "expired row is swept with one event",
			workers: []worker{expired},
			want:    host.Report{Processed: 1},
			wantE: []event{{Namespace: "ns", InstanceID: "expired", Kind: "ttl_swept", At: now,
				Reason: sql.NullString{}}},
		},
		{
			name:    "row exactly at its deadline is kept",
			workers: []worker{atDeadline},
			wantW:   []worker{atDeadline},
		},
		{
			name:    "zero TTL, heartbeat before now, is swept",
			workers: []worker{zeroPast},
			want:    host.Report{Processed: 1},
			wantE:   []event{swept(zeroPast, now)},
		},
		{
			name:    "zero TTL, heartbeat at now, is kept",
			workers: []worker{zeroNow},
			wantW:   []worker{zeroNow},
		},
		{
			name:    "same instance id in two namespaces, both expired",
			workers: []worker{inA, inB},
			want:    host.Report{Processed: 2},
			wantE:   []event{swept(inA, now), swept(inB, now)},
		},
		{
			name:    "same instance id in two namespaces, one expired",
			workers: []worker{inA, inBAlive},
			want:    host.Report{Processed: 1},
			wantW:   []worker{inBAlive},
			wantE:   []event{swept(inA, now)},
		},
		{
			name:    "existing identical event is kept and the row still deleted",
			workers: []worker{expired},
			events:  []event{operator},
			want:    host.Report{Processed: 1},
			wantE:   []event{operator},
		},
		{
			name:    "other events of the worker are kept",
			workers: []worker{expired},
			events:  history,
			want:    host.Report{Processed: 1},
			wantE:   []event{history[0], history[1], history[2], swept(expired, now)},
		},
		{
			name:    "report counts rows deleted",
			workers: []worker{alive, expired, atDeadline, zeroPast, zeroNow, inA, inBAlive},
			events:  []event{operator},
			want:    host.Report{Processed: 3},
			// In primary-key order.
			wantW: []worker{inBAlive, alive, atDeadline, zeroNow},
			wantE: []event{swept(inA, now), operator, swept(zeroPast, now)},
		},
		{
			name:    "nothing expired",
			workers: []worker{alive, atDeadline, zeroNow},
			events:  history,
			wantW:   []worker{alive, atDeadline, zeroNow},
			wantE:   history,
		},
		{
			name: "empty registry",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, wasm)
			seedWorkers(t, h, tt.workers, tt.events)
			for i, want := range []host.Report{tt.want, {}} {
				if got := h.MustTick(now); got != want {
					t.Errorf("tick %d at %d reported %+v, want %+v", i+1, now, got, want)
				}
				if got := workers(t, h); !slices.Equal(got, tt.wantW) {
					t.Errorf("after tick %d, ff_worker_registry:\n got %+v\nwant %+v", i+1, got, tt.wantW)
				}
				if got := events(t, h); !slices.Equal(got, tt.wantE) {
					t.Errorf("after tick %d, ff_worker_registry_event:\n got %+v\nwant %+v", i+1, got, tt.wantE)
				}
			}
		})
	}
}

// workerTTLLaterTickSweepsWhatBecameExpired: a worker kept at its deadline
// is swept by the first tick past it, with that tick's now as event time.
func workerTTLLaterTickSweepsWhatBecameExpired(t *testing.T, wasm string) {
	const deadline = 2_000_000
	h := plugintest.New(t, wasm)
	w := live("ns", "w", deadline-30_000, 30_000)
	seedWorkers(t, h, []worker{w}, nil)

	ticks := []struct {
		now   int64
		want  host.Report
		wantW []worker
		wantE []event
	}{
		{now: deadline - 1, wantW: []worker{w}},
		{now: deadline, wantW: []worker{w}},
		{now: deadline + 1, want: host.Report{Processed: 1}, wantE: []event{swept(w, deadline+1)}},
		{now: deadline + 2, wantE: []event{swept(w, deadline+1)}},
	}
	for _, tk := range ticks {
		if got := h.MustTick(tk.now); got != tk.want {
			t.Errorf("tick at %d reported %+v, want %+v", tk.now, got, tk.want)
		}
		if got := workers(t, h); !slices.Equal(got, tk.wantW) {
			t.Errorf("after tick at %d, ff_worker_registry:\n got %+v\nwant %+v", tk.now, got, tk.wantW)
		}
		if got := events(t, h); !slices.Equal(got, tk.wantE) {
			t.Errorf("after tick at %d, ff_worker_registry_event:\n got %+v\nwant %+v", tk.now, got, tk.wantE)
		}
	}
}

// workerTTLIdleTickTakesNoWriteLock: with nothing expired, a tick reads
// and returns, taking no write lock, so it succeeds while another writer
// holds the lock; with a worker expired, the same tick needs the lock and
// fails busy while it is held (which shows the first half would notice a
// tick that took the lock).
func workerTTLIdleTickTakesNoWriteLock(t *testing.T, wasm string) {
	const now = 5_000_000
	h := plugintest.New(t, wasm, plugintest.Options{DB: sqlite.Options{BusyTimeout: 50 * time.Millisecond}})
	alive := live("ns", "alive", now-1_000, 30_000)
	seedWorkers(t, h, []worker{alive}, nil)
	release := holdWriteLock(t, h.Path)
	if rep, err := h.Tick(now); err != nil || rep != (host.Report{}) {
		t.Errorf("idle tick while another writer holds the lock = %+v, %v; want a quiet success", rep, err)
	}
	release()
	dead := live("ns", "dead", now-60_000, 30_000)
	seedWorkers(t, h, []worker{dead}, nil)
	release = holdWriteLock(t, h.Path)
	if _, err := h.Tick(now); err == nil {
		t.Error("a sweep while another writer holds the lock succeeded")
	}
	release()
	if got := workers(t, h); !slices.Equal(got, []worker{alive}) && !slices.Equal(got, []worker{alive, dead}) {
		t.Errorf("after the ticks, ff_worker_registry = %+v", got)
	}
}

// holdWriteLock takes the database's write lock on a connection of its own
// and returns the function that releases it.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}
