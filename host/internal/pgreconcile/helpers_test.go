package pgreconcile

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/host/internal/pgsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is a fresh database with FlowFabric's Postgres tables, the admin's
// pool on it, and the plugins' roles.
type env struct {
	dsn   string
	admin *pgxpool.Pool
	roles pgsandbox.Roles
}

func newEnv(t *testing.T) *env {
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
	return &env{dsn: dsn, admin: pool, roles: pgsandbox.Roles{Prefix: pgtest.RolePrefix(t)}}
}

// session opens the plugin's session as its role, with the plugin's
// declared tables: as the runtime will.
func (e *env) session(t *testing.T, plugin string, writes []string, iso pgx.TxIsoLevel) *pgsandbox.Session {
	t.Helper()
	ctx := context.Background()
	if err := e.roles.Ensure(ctx, e.admin, plugin, nil, writes); err != nil {
		t.Fatal(err)
	}
	role, err := e.roles.Name(plugin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgsandbox.Open(ctx, pgtest.WithUser(t, e.dsn, role), pgsandbox.Options{Plugin: plugin, Role: role, Isolation: iso})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// budgetSession is budget_reset's session: SERIALIZABLE.
func (e *env) budgetSession(t *testing.T) *pgsandbox.Session {
	t.Helper()
	return e.session(t, "budget_reset", []string{"ff_budget_policy", "ff_budget_usage"}, pgx.Serializable)
}

func (e *env) workerSession(t *testing.T) *pgsandbox.Session {
	t.Helper()
	return e.session(t, "worker_ttl", []string{"ff_worker_registry", "ff_worker_registry_event"}, pgx.ReadCommitted)
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// endTick is what the runtime does after every tick.
func endTick(t *testing.T, s *pgsandbox.Session) {
	t.Helper()
	left, err := s.EndTick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if left {
		t.Error("the tick left a transaction open")
	}
}

// sortedCopy returns xs sorted by cmp.
func sortedCopy[T any](xs []T, cmp func(a, b T) int) []T {
	out := slices.Clone(xs)
	slices.SortFunc(out, cmp)
	return out
}
