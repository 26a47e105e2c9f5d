package pgreconcile

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
)

// The cases of plugins/worker_ttl/sweep_test.go on FlowFabric's Postgres
// schema. Each worker lives in partition WorkerPartition(instance id), as
// FlowFabric puts it; a tick of the whole registry is the walk of its 256
// partitions in order, each through the plugin's session.

type worker struct {
	Partition                                            int64
	Namespace, InstanceID, WorkerID, Lanes, Capabilities string
	LastHeartbeat, TTL, RegisteredAt                     int64
}

type event struct {
	Partition                   int64
	Namespace, InstanceID, Kind string
	At                          int64
	Reason                      sql.NullString
}

func live(ns, id string, heartbeat, ttl int64) worker {
	return worker{
		Partition: int64(postgres.WorkerPartition(id)), Namespace: ns, InstanceID: id, WorkerID: "w-" + id,
		Lanes: "a,b", Capabilities: "gpu,ssd", LastHeartbeat: heartbeat, TTL: ttl, RegisteredAt: 10,
	}
}

func swept(w worker, now int64) event {
	return event{Partition: w.Partition, Namespace: w.Namespace, InstanceID: w.InstanceID, Kind: "ttl_swept", At: now}
}

func ev(ns, id, kind string, at int64, reason string) event {
	e := event{Partition: int64(postgres.WorkerPartition(id)), Namespace: ns, InstanceID: id, Kind: kind, At: at}
	if reason != "" {
		e.Reason = sql.NullString{String: reason, Valid: true}
	}
	return e
}

func seedWorkers(t *testing.T, e *env, ws []worker, es []event) {
	t.Helper()
	for _, w := range ws {
		e.exec(t, `INSERT INTO ff_worker_registry (partition_key, namespace, worker_instance_id, worker_id, lanes,
capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES ($1,$2,$3,$4,string_to_array($5, ','),$6,$7,$8,$9)`,
			w.Partition, w.Namespace, w.InstanceID, w.WorkerID, w.Lanes, w.Capabilities, w.LastHeartbeat, w.TTL, w.RegisteredAt)
	}
	for _, x := range es {
		e.exec(t, `INSERT INTO ff_worker_registry_event (partition_key, namespace, worker_instance_id, event_kind,
event_at_ms, reason) VALUES ($1,$2,$3,$4,$5,$6)`, x.Partition, x.Namespace, x.InstanceID, x.Kind, x.At, x.Reason)
	}
}

// workers returns every registry row in (namespace, instance id) order,
// the order of the SQLite test's expectations.
func workers(t *testing.T, e *env) []worker {
	t.Helper()
	rows, err := e.admin.Query(context.Background(), `SELECT partition_key, namespace, worker_instance_id, worker_id,
array_to_string(lanes, ','), capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms
FROM ff_worker_registry ORDER BY namespace, worker_instance_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []worker
	for rows.Next() {
		var w worker
		var part int16
		if err := rows.Scan(&part, &w.Namespace, &w.InstanceID, &w.WorkerID, &w.Lanes, &w.Capabilities,
			&w.LastHeartbeat, &w.TTL, &w.RegisteredAt); err != nil {
			t.Fatal(err)
		}
		w.Partition = int64(part)
		out = append(out, w)
	}
	return out
}

func events(t *testing.T, e *env) []event {
	t.Helper()
	rows, err := e.admin.Query(context.Background(), `SELECT partition_key, namespace, worker_instance_id, event_kind,
event_at_ms, reason FROM ff_worker_registry_event ORDER BY namespace, worker_instance_id, event_at_ms, event_kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var x event
		var part int16
		if err := rows.Scan(&part, &x.Namespace, &x.InstanceID, &x.Kind, &x.At, &x.Reason); err != nil {
			t.Fatal(err)
		}
		x.Partition = int64(part)
		out = append(out, x)
	}
	return out
}

// sweepAll walks the 256 partitions in order, as FlowFabric's supervisor
// does in one tick, and sums their reports.
func sweepAll(t *testing.T, s ticker, now int64) Report {
	t.Helper()
	var total Report
	for part := range postgres.WorkerPartitions {
		rep, err := s.tick(t, part, now)
		if err != nil {
			t.Fatal(err)
		}
		total.Processed += rep.Processed
	}
	return total
}

func TestWorkerTTL(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 1_000_000
		var (
			expired    = live("ns", "expired", now-30_001, 30_000)
			atDeadline = live("ns", "at-deadline", now-30_000, 30_000)
			alive      = live("ns", "alive", now-5_000, 30_000)
			zeroPast   = live("ns", "zero-ttl-past", now-1, 0)
			zeroNow    = live("ns", "zero-ttl-now", now, 0)
			inA        = live("a", "w1", now-60_000, 30_000)
			inB        = live("b", "w1", now-60_000, 30_000)
			inBAlive   = live("b", "w1", now-1_000, 30_000)
			operator   = ev("ns", "expired", "ttl_swept", now, "operator sweep")
			history    = []event{
				ev("ns", "expired", "registered", 10, ""),
				ev("ns", "expired", "heartbeat", now-30_001, ""),
				ev("ns", "expired", "ttl_swept", now-1, "earlier"),
			}
		)
		tests := []struct {
			name    string
			workers []worker
			events  []event
			want    Report
			wantW   []worker
			wantE   []event
		}{
			{name: "expired row is swept with one event", workers: []worker{expired},
				want: Report{Processed: 1}, wantE: []event{swept(expired, now)}},
			{name: "row exactly at its deadline is kept", workers: []worker{atDeadline}, wantW: []worker{atDeadline}},
			{name: "zero TTL, heartbeat before now, is swept", workers: []worker{zeroPast},
				want: Report{Processed: 1}, wantE: []event{swept(zeroPast, now)}},
			{name: "zero TTL, heartbeat at now, is kept", workers: []worker{zeroNow}, wantW: []worker{zeroNow}},
			{name: "same instance id in two namespaces, both expired", workers: []worker{inA, inB},
				want: Report{Processed: 2}, wantE: []event{swept(inA, now), swept(inB, now)}},
			{name: "same instance id in two namespaces, one expired", workers: []worker{inA, inBAlive},
				want: Report{Processed: 1}, wantW: []worker{inBAlive}, wantE: []event{swept(inA, now)}},
			{name: "existing identical event is kept and the row still deleted", workers: []worker{expired},
				events: []event{operator}, want: Report{Processed: 1}, wantE: []event{operator}},
			{name: "other events of the worker are kept", workers: []worker{expired}, events: history,
				want: Report{Processed: 1}, wantE: []event{history[0], history[1], history[2], swept(expired, now)}},
			{name: "report counts rows deleted",
				workers: []worker{alive, expired, atDeadline, zeroPast, zeroNow, inA, inBAlive},
				events:  []event{operator}, want: Report{Processed: 3},
				wantW: []worker{inBAlive, alive, atDeadline, zeroNow},
				wantE: []event{swept(inA, now), operator, swept(zeroPast, now)}},
			{name: "nothing expired", workers: []worker{alive, atDeadline, zeroNow}, events: history,
				wantW: []worker{alive, atDeadline, zeroNow}, wantE: history},
			{name: "empty registry"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, im)
				s := e.workerTicker(t)
				seedWorkers(t, e, tt.workers, tt.events)
				for i, want := range []Report{tt.want, {}} {
					if got := sweepAll(t, s, now); got != want {
						t.Errorf("tick %d reported %+v, want %+v", i+1, got, want)
					}
					if got := workers(t, e); !slices.Equal(got, tt.wantW) {
						t.Errorf("after tick %d, ff_worker_registry:\n got %+v\nwant %+v", i+1, got, tt.wantW)
					}
					if got := events(t, e); !slices.Equal(got, tt.wantE) {
						t.Errorf("after tick %d, ff_worker_registry_event:\n got %+v\nwant %+v", i+1, got, tt.wantE)
					}
				}
			})
		}
	})
}

// TestWorkerTTLOnePartition: a tick of partition P sweeps P's expired
// workers only; expired workers of every other partition are untouched
// until their own partition's tick.
func TestWorkerTTLOnePartition(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 2_000_000
		e := newEnv(t, im)
		s := e.workerTicker(t)
		var ws []worker
		byPart := map[int64][]worker{}
		for _, id := range []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"} {
			w := live("ns", id, now-60_000, 30_000)
			ws = append(ws, w)
			byPart[w.Partition] = append(byPart[w.Partition], w)
		}
		seedWorkers(t, e, ws, nil)
		target := ws[3].Partition
		rep, err := s.tick(t, int(target), now)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Processed != int64(len(byPart[target])) {
			t.Errorf("partition %d swept %d, want %d", target, rep.Processed, len(byPart[target]))
		}
		for _, w := range workers(t, e) {
			if w.Partition == target {
				t.Errorf("worker %s of the swept partition remains", w.InstanceID)
			}
		}
		if got, want := len(workers(t, e)), len(ws)-len(byPart[target]); got != want {
			t.Errorf("%d workers remain, want %d", got, want)
		}
		for _, x := range events(t, e) {
			if x.Partition != target || x.Kind != "ttl_swept" || x.At != now {
				t.Errorf("unexpected event %+v", x)
			}
		}
	})
}

func TestWorkerTTLLaterTickSweepsWhatBecameExpired(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const deadline = 2_000_000
		e := newEnv(t, im)
		s := e.workerTicker(t)
		w := live("ns", "w", deadline-30_000, 30_000)
		seedWorkers(t, e, []worker{w}, nil)
		ticks := []struct {
			now   int64
			want  Report
			wantW []worker
			wantE []event
		}{
			{now: deadline - 1, wantW: []worker{w}},
			{now: deadline, wantW: []worker{w}},
			{now: deadline + 1, want: Report{Processed: 1}, wantE: []event{swept(w, deadline+1)}},
			{now: deadline + 2, wantE: []event{swept(w, deadline+1)}},
		}
		for _, tk := range ticks {
			rep, err := s.tick(t, int(w.Partition), tk.now)
			if err != nil {
				t.Fatal(err)
			}
			if rep != tk.want {
				t.Errorf("tick at %d reported %+v, want %+v", tk.now, rep, tk.want)
			}
			if got := workers(t, e); !slices.Equal(got, tk.wantW) {
				t.Errorf("after tick at %d, ff_worker_registry:\n got %+v\nwant %+v", tk.now, got, tk.wantW)
			}
			if got := events(t, e); !slices.Equal(got, tk.wantE) {
				t.Errorf("after tick at %d, ff_worker_registry_event:\n got %+v\nwant %+v", tk.now, got, tk.wantE)
			}
		}
	})
}

// TestWorkerTTLLanesReadAsCSV: the registry's text[] lanes reach a plugin
// as FlowFabric's comma-joined text.
func TestWorkerTTLLanesReadAsCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t, reference)
	s := e.workerSession(t)
	w := live("ns", "w", 1, 1)
	w.Lanes = "cpu,gpu,io"
	seedWorkers(t, e, []worker{w}, nil)
	rows, err := query(context.Background(), s, `SELECT lanes FROM ff_worker_registry WHERE partition_key = $1`,
		args(w.Partition))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0][0] != "cpu,gpu,io" {
		t.Errorf("lanes read as %v", rows)
	}
	endTick(t, s)
}
