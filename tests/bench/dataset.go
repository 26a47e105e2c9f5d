package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// The clock of every dataset: "now" for the drain and the sweep.
const benchNow int64 = 1_750_000_000_000

const (
	hour   = 3_600_000
	minute = 60_000
)

// Dataset sizes.
type sizes struct {
	Budgets    int // budgets in partition 0
	DueBudgets int // of which due at benchNow
	Workers    int // workers in the registry
	Expired    int // of which expired at benchNow
}

var fullSizes = sizes{Budgets: 20_000, DueBudgets: 10_000, Workers: 200_000, Expired: 100_000}

// createDB makes a fresh migrated database at path and fills it with fill.
// The WAL is checkpointed and removed, so the single file is the whole
// database and can be copied per run.
func createDB(ctx context.Context, path string, fill func(*sql.Tx) error) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fill(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.SQL.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// fillBudgets writes s.Budgets budgets with 1-3 usage rows each: s.DueBudgets
// due at benchNow (overdue by up to two hours), the rest due up to a day
// later or never (NULL), plus 1% more budgets, due, in another partition
// that the reconciler must not touch. Most policies reset hourly; one in ten has no
// interval and is unscheduled by its reset.
func fillBudgets(s sizes) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		rng := rand.New(rand.NewPCG(1, 2))
		pol, err := tx.Prepare(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json,
created_at_ms, updated_at_ms, scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count,
last_breach_at_ms, last_breach_dim, next_reset_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer pol.Close()
		use, err := tx.Prepare(`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key,
current_value, last_reset_at_ms, updated_at_ms) VALUES (?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer use.Close()
		dims := []string{"tokens", "requests", "cost_micros"}
		for i := 0; i < s.Budgets+s.Budgets/100; i++ {
			part := 0
			if i >= s.Budgets {
				part = 1 // another backend's rows: never touched
			}
			id := fmt.Sprintf("budget-%06d", i)
			policy := `{"reset_interval_ms":3600000,"limits":{"tokens":100000,"requests":5000}}`
			if i%10 == 3 {
				policy = `{"limits":{"tokens":100000}}`
			}
			var next any
			switch {
			case i < s.DueBudgets || part == 1:
				next = benchNow - rng.Int64N(2*hour)
			case i%4 == 0:
				next = nil
			default:
				next = benchNow + 1 + rng.Int64N(24*hour)
			}
			var breachAt, breachDim any
			if i%3 == 0 {
				breachAt, breachDim = benchNow-rng.Int64N(hour), "tokens"
			}
			if _, err := pol.Exec(part, id, policy, benchNow-30*24*hour, benchNow-hour,
				"tenant", fmt.Sprintf("tenant-%d", i%500), "hard", i%7, i%11, breachAt, breachDim, next); err != nil {
				return err
			}
			for d := 0; d < 1+rng.IntN(3); d++ {
				if _, err := use.Exec(part, id, dims[d], rng.Int64N(100000), benchNow-2*hour, benchNow-minute); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// fillWorkers writes s.Workers workers, s.Expired of them past their TTL at
// benchNow, each with its 'registered' event, and a ttl_swept event already
// on record for a few expired ones (the sweep must keep it, not fail).
func fillWorkers(s sizes) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		rng := rand.New(rand.NewPCG(3, 4))
		reg, err := tx.Prepare(`INSERT INTO ff_worker_registry (namespace, worker_instance_id, worker_id,
lanes, capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES (?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer reg.Close()
		ev, err := tx.Prepare(`INSERT INTO ff_worker_registry_event (namespace, worker_instance_id,
event_kind, event_at_ms, reason) VALUES (?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer ev.Close()
		// Expired workers are spread through the key space, not clustered.
		perm := rng.Perm(s.Workers)
		for n, i := range perm {
			ns := fmt.Sprintf("ns-%02d", i%16)
			wid := fmt.Sprintf("wi-%07d", i)
			ttl := int64(30_000)
			var hb int64
			if n < s.Expired {
				hb = benchNow - ttl - 1 - rng.Int64N(hour)
			} else {
				hb = benchNow - rng.Int64N(ttl) // deadline hb+ttl >= now: stays
			}
			if _, err := reg.Exec(ns, wid, fmt.Sprintf("worker-%d", i%5000), "default,fast",
				"gpu,linux", hb, ttl, hb-hour); err != nil {
				return err
			}
			if _, err := ev.Exec(ns, wid, "registered", hb-hour, nil); err != nil {
				return err
			}
			if n < s.Expired && n%1000 == 0 {
				if _, err := ev.Exec(ns, wid, "ttl_swept", benchNow, "already swept"); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// copyDB copies the database file src to a fresh path in dir.
func copyDB(src, dir, name string) (string, error) {
	dst := filepath.Join(dir, name)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// stateDigest hashes the reconciler tables in primary-key order, so the
// native and wasm runs can be checked to leave identical databases.
func stateDigest(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", nativeDSN(path))
	if err != nil {
		return "", err
	}
	defer db.Close()
	h := sha256.New()
	for _, q := range []string{
		`SELECT * FROM ff_budget_policy ORDER BY partition_key, budget_id`,
		`SELECT * FROM ff_budget_usage ORDER BY partition_key, budget_id, dimensions_key`,
		`SELECT * FROM ff_worker_registry ORDER BY namespace, worker_instance_id`,
		`SELECT * FROM ff_worker_registry_event ORDER BY namespace, worker_instance_id, event_at_ms, event_kind`,
	} {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return "", err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintf(h, "%v\x00", vals)
		}
		if err := rows.Close(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}
