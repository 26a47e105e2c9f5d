package pgreconcile

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/internal/pgsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
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
	impl  impl
}

func newEnv(t *testing.T, im impl) *env {
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
	return &env{dsn: dsn, admin: pool, roles: pgsandbox.Roles{Prefix: pgtest.RolePrefix(t)}, impl: im}
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

// kindWant is the plugin kind of e's wasm build.
func (e *env) kindWant() host.Kind {
	if e.impl == extism {
		return host.KindExtism
	}
	return host.KindFFHost
}

// sortedCopy returns xs sorted by cmp.
func sortedCopy[T any](xs []T, cmp func(a, b T) int) []T {
	out := slices.Clone(xs)
	slices.SortFunc(out, cmp)
	return out
}

// impl is one implementation of the reconcilers that the case tables run:
// the reference in this package, or the plugins' wasm builds on the host's
// PostgreSQL store, ffhost (plugins/NAME) or Extism (plugins/extism/NAME).
type impl string

const (
	reference impl = "reference"
	wasm      impl = "wasm"
	extism    impl = "extism"
)

// forEachImpl runs fn as a subtest for the reference and for both wasm
// builds of the plugins, each on environments of its own.
func forEachImpl(t *testing.T, fn func(t *testing.T, im impl)) {
	t.Helper()
	for _, im := range []impl{reference, wasm, extism} {
		t.Run(string(im), func(t *testing.T) {
			t.Parallel()
			fn(t, im)
		})
	}
}

// ticker runs one partition's tick of a reconciler at now and ends it as
// the runtime does.
type ticker interface {
	tick(t *testing.T, part int, now int64) (Report, error)
}

// sessionTicker is the reference on the plugin's own session.
type sessionTicker struct {
	s  *pgsandbox.Session
	fn func(ctx context.Context, c Conn, part int, now int64) (Report, error)
}

func (r sessionTicker) tick(t *testing.T, part int, now int64) (Report, error) {
	t.Helper()
	rep, err := r.fn(context.Background(), r.s, part, now)
	left, eerr := r.s.EndTick(context.Background())
	if left {
		eerr = errors.Join(eerr, errors.New("the tick left a transaction open"))
	}
	return rep, errors.Join(err, eerr)
}

// runnerTicker is a plugin's wasm build, run by the host's runtime on its
// PostgreSQL store: tick_partition says part, sql_dialect postgres.
type runnerTicker struct{ r *host.Runner }

func (r runnerTicker) tick(t *testing.T, part int, now int64) (Report, error) {
	t.Helper()
	rep, err := r.r.TickPartition(context.Background(), now, part, nil)
	return Report{Processed: rep.Processed, Errors: rep.Errors}, err
}

// budgetTicker is budget_reset as e's implementation runs it.
func (e *env) budgetTicker(t *testing.T) ticker {
	t.Helper()
	if e.impl != reference {
		return e.runner(t, "budget_reset")
	}
	return sessionTicker{e.budgetSession(t), func(ctx context.Context, c Conn, part int, now int64) (Report, error) {
		rep, _, err := BudgetReset(ctx, c, part, now)
		return rep, err
	}}
}

// workerTicker is worker_ttl as e's implementation runs it.
func (e *env) workerTicker(t *testing.T) ticker {
	t.Helper()
	if e.impl != reference {
		return e.runner(t, "worker_ttl")
	}
	return sessionTicker{e.workerSession(t), WorkerTTL}
}

// runner loads the plugin name's build of e's implementation (plugins/NAME,
// or plugins/extism/NAME with the tag ffextism) on a PostgreSQL store of e's
// database, with e's role prefix, as the daemon does.
func (e *env) runner(t *testing.T, name string) runnerTicker {
	t.Helper()
	ctx := context.Background()
	eng, err := plugintest.Engine()
	if err != nil {
		t.Fatal(err)
	}
	path := plugintest.Build(t, "../../../plugins/"+name)
	if e.impl == extism {
		path = plugintest.BuildWith(t, "../../../plugins/extism/"+name, plugintest.BuildOptions{Tags: []string{"ffextism"}})
	}
	p, err := eng.Load(ctx, path, host.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != e.kindWant() {
		t.Fatalf("%s is of kind %q, want %q", path, p.Kind, e.kindWant())
	}
	t.Cleanup(func() { p.Close(ctx) })
	st, err := postgres.Open(ctx, e.dsn, postgres.Options{RolePrefix: e.roles.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := host.NewRunner(ctx, st, p, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(ctx) })
	return runnerTicker{r}
}
