package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/internal/pgsandbox"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

// TestFenceThroughPluginSession fences a plugin's own transactions on its
// own connection, as the runtime will: the plugin's role may execute
// ffwasmhost_fence and nothing else of the host's. Once another member
// has taken the lease over, neither a transaction nor a lone statement of
// the plugin commits.
func TestFenceThroughPluginSession(t *testing.T) {
	t.Parallel()
	dsn, pool := migrated(t)
	ctx := context.Background()
	clock := newClock()
	roles := pgsandbox.Roles{Prefix: pgtest.RolePrefix(t)}
	if err := roles.Ensure(ctx, pool, "worker_ttl", nil, []string{"ff_worker_registry", "ff_worker_registry_event"}); err != nil {
		t.Fatal(err)
	}
	role, _ := roles.Name("worker_ttl")
	s, err := pgsandbox.Open(ctx, pgtest.WithUser(t, dsn, role), pgsandbox.Options{Plugin: "worker_ttl", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	a := join(t, pool, "a", clock)
	const part = 17
	lease, ok := a.Lease("worker_ttl", part)
	if !ok {
		t.Fatal("a does not hold the partition")
	}
	s.SetFence(func(ctx context.Context, conn *pgx.Conn) error {
		return a.Fence(ctx, conn, lease.Plugin, lease.Partition, lease.Epoch)
	})
	insert := func(at int64) error {
		args, _ := abi.AppendArgs(nil, []any{int64(part), at})
		_, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry_event
(partition_key, namespace, worker_instance_id, event_kind, event_at_ms) VALUES ($1, 'ns', 'w', 'heartbeat', $2)`), args)
		return err
	}
	inTx := func(at int64) error {
		if err := s.Begin(ctx); err != nil {
			return err
		}
		if err := insert(at); err != nil {
			_ = s.Rollback(ctx)
			return err
		}
		if err := s.Commit(ctx); err != nil {
			_ = s.Rollback(ctx)
			return err
		}
		return nil
	}
	if err := inTx(1); err != nil {
		t.Fatalf("fenced transaction while holding the lease: %v", err)
	}
	if err := insert(2); err != nil {
		t.Fatalf("fenced statement while holding the lease: %v", err)
	}

	clock.Advance(ttl + time.Second) // a pauses; b takes over
	b := join(t, pool, "b", clock)
	if _, ok := b.Lease("worker_ttl", part); !ok {
		t.Fatal("b did not take the partition over")
	}
	for name, err := range map[string]error{"transaction": inTx(3), "statement": insert(4)} {
		st, msg := s.Explain(err)
		if !errors.Is(err, ErrFenced) || st != abi.StatusOther || !strings.Contains(msg, "fenced") {
			t.Errorf("%s after the takeover: %v (%s %q), want ErrFenced", name, err, st, msg)
		}
	}
	if _, err := s.EndTick(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ff_worker_registry_event`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d events (%v), want the 2 written under the lease", n, err)
	}
}
