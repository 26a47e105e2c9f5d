package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// BenchmarkFence measures what the fence adds to a plugin's write on
// PostgreSQL: one single-row UPDATE, in a transaction of its own (Begin,
// Exec, Commit) or on its own (the statement is its transaction), on the
// plugin's sandboxed connection, without and with the fence of a lease
// this process holds. The difference per op is the fence's cost per write
// transaction: one more statement, share-locking the lease row.
func BenchmarkFence(b *testing.B) {
	s := migrated(b)
	ctx := context.Background()
	if _, err := s.Pool().Exec(ctx, `INSERT INTO ff_budget_usage VALUES (0, 'b', 'd', 0, NULL, 0)`); err != nil {
		b.Fatal(err)
	}
	m, err := cluster.Join(ctx, s.Pool(), cluster.Config{DaemonID: "bench", TTL: time.Hour,
		Plugins: map[string]int{"budget_reset": 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Step(ctx); err != nil {
		b.Fatal(err)
	}
	lease, ok := m.Lease("budget_reset", 0)
	if !ok {
		b.Fatal("the member holds no lease of budget_reset partition 0")
	}
	fence := func(ctx context.Context, db any) error {
		return m.Fence(ctx, db.(cluster.Queryer), lease.Plugin, lease.Partition, lease.Epoch)
	}
	c, err := s.OpenConn(ctx, store.ConnSpec{Plugin: "budget_reset", Reads: []string{"ff_budget_usage"},
		Writes: []string{"ff_budget_usage"}, MaxCallBytes: 1 << 20, MaxResultBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(context.Background()) })
	update := []byte(`UPDATE ff_budget_usage SET current_value = current_value + 1 WHERE partition_key = 0 AND budget_id = 'b'`)
	noArgs := args(b)

	for _, bc := range []struct {
		name  string
		tx    bool
		fence store.Fence
	}{
		{"transaction/unfenced", true, nil},
		{"transaction/fenced", true, fence},
		{"statement/unfenced", false, nil},
		{"statement/fenced", false, fence},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c.(store.Fencer).SetFence(bc.fence)
			var failed error
			err := c.Tick(ctx, 0, func() {
				for b.Loop() {
					if bc.tx {
						if failed = c.Begin(ctx); failed != nil {
							return
						}
					}
					if _, failed = c.Exec(ctx, nil, update, noArgs); failed != nil {
						return
					}
					if bc.tx {
						if failed = c.Commit(ctx); failed != nil {
							return
						}
					}
				}
			})
			if failed != nil || err != nil {
				b.Fatalf("write: %v; tick: %v", failed, err)
			}
		})
	}
}
