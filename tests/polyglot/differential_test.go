package polyglot

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// pluginLines is a slog handler that keeps the messages plugins log.
type pluginLines struct {
	mu    *sync.Mutex
	lines *[]string
}

func newPluginLines() pluginLines { return pluginLines{mu: &sync.Mutex{}, lines: new([]string)} }

func (pluginLines) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps a plugin's record as "LEVEL message key=value...": the Go
// SDK sends its key/value pairs as attributes (ABI 1.2, under "attrs"),
// the C and Rust plugins write them into the message, and the lines must
// compare equal.
func (p pluginLines) Handle(_ context.Context, r slog.Record) error {
	plugin, line := false, r.Level.String()+" "+r.Message
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key == "source" && a.Value.String() == "plugin":
			plugin = true
		case a.Key == "attrs" && a.Value.Kind() == slog.KindGroup:
			for _, g := range a.Value.Group() {
				line += " " + g.Key + "=" + g.Value.String()
			}
		}
		return true
	})
	if plugin {
		p.mu.Lock()
		*p.lines = append(*p.lines, line)
		p.mu.Unlock()
	}
	return nil
}

func (p pluginLines) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p pluginLines) WithGroup(string) slog.Handler      { return p }

func (p pluginLines) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := *p.lines
	*p.lines = nil
	return l
}

// workload is a random scenario for one reconciler: seed rows, then ticks
// with host-side changes between them.
type workload struct {
	tables []string // the tables to compare, each as "name: query"
	seed   func(h *plugintest.Harness, r *rand.Rand)
	nows   []int64
	// between runs host-side changes after tick i (may be nil).
	between func(h *plugintest.Harness, r *rand.Rand, i int)
}

// outcome is what one build did with a workload: per tick, the report or
// error, the plugin's log lines and the tables.
type outcome []string

func runWorkload(t *testing.T, wasm string, w workload, seed uint64) outcome {
	t.Helper()
	lines := newPluginLines()
	h := plugintest.New(t, wasm, plugintest.Options{Logger: slog.New(lines)})
	r := rand.New(rand.NewPCG(seed, 7))
	w.seed(h, r)
	var out outcome
	for i, now := range w.nows {
		rep, err := h.Tick(now)
		step := fmt.Sprintf("-- tick %d at %d: %+v", i+1, now, rep)
		if err != nil {
			step += " error: " + errorKind(err)
		}
		for _, l := range lines.take() {
			step += "\n" + logKind(l)
		}
		step += "\n"
		for _, tq := range w.tables {
			name, q, _ := strings.Cut(tq, ": ")
			step += testutil.DumpQuery(t, h.DB, name, q)
		}
		out = append(out, step)
		if w.between != nil {
			w.between(h, r, i)
		}
	}
	return out
}

// logKind keeps the part of a plugin's log line every build shares: up
// to the error's class, which the SDKs word in their own way after it,
// and with invalid UTF-8 made valid (the Rust port's messages are strings).
func logKind(line string) string {
	if i := strings.Index(line, "ffhost"); i >= 0 {
		line = line[:i]
	}
	return strings.ToValidUTF8(line, "\uFFFD")
}

// errorKind keeps the part of a tick error every build shares: the host's
// own wording, not the plugin's.
func errorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "transaction left open"):
		return "transaction left open"
	}
	return "failed"
}

// compareBuilds runs w on the Go build and each port, with several seeds,
// and fails on the first tick whose outcome differs from Go's.
func compareBuilds(t *testing.T, goWasm string, ports []port, w workload) {
	for seed := uint64(1); seed <= 3; seed++ {
		want := runWorkload(t, goWasm, w, seed)
		for _, p := range ports {
			t.Run(fmt.Sprintf("%s/seed%d", p.lang, seed), func(t *testing.T) {
				got := runWorkload(t, p.build(t), w, seed)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s differs from the Go build at tick %d:\n%s", p.name, i+1, lineDiff(want[i], got[i]))
					}
				}
			})
		}
	}
}

// lineDiff lists the lines of a and b that the other lacks.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "go:   "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "port: "+l)
		}
	}
	return strings.Join(out, "\n")
}

// pick returns one of vs at random.
func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

// TestBudgetResetSameAsGo: a random budget workload, with odd ids, odd
// policies, odd column types, a failing trigger and budgets changed
// between ticks, leaves every build's tables, reports and log lines equal
// to the Go build's.
func TestBudgetResetSameAsGo(t *testing.T) {
	goWasm := plugintest.Build(t, "../../plugins/budget_reset")
	const now = 50_000_000
	policies := []string{
		`{"reset_interval_ms":60000}`, `{"reset_interval_ms":1}`, `{"reset_interval_ms":0}`,
		`{"reset_interval_ms":-5}`, `{"reset_interval_ms":1.5}`, `{"reset_interval_ms":"60000"}`,
		`{"reset_interval_ms":9223372036854775807}`, `{"limits":{"reset_interval_ms":5}}`, `{}`, ``,
		`{"reset_interval_ms":3600000,"reset_interval_ms":120000}`, `not json`, "{\"x\":\"\xff\",\"reset_interval_ms\":7000}",
	}
	w := workload{
		tables: []string{
			"ff_budget_policy: SELECT * FROM ff_budget_policy",
			"ff_budget_usage: SELECT * FROM ff_budget_usage",
		},
		nows: []int64{now, now, now + 1, now + 60_000, now + 60_000, now + 3_600_000, now + 100_000_000},
		seed: func(h *plugintest.Harness, r *rand.Rand) {
			for i := range 70 {
				var id any = fmt.Sprintf("b%03d", i)
				switch i {
				case 3:
					id = "é\u2028\"quoted\"" // odd text
				case 4:
					id = "bad\xffutf8"
				case 5:
					id = []byte("blob-id") // a BLOB id: the scan sees it, the re-read by text does not
				case 6:
					id = 123 // stored as TEXT '123' by the column's affinity
				case 7:
					id = "bad" // the trigger below fails its usage reset
				}
				var next any
				switch r.IntN(8) {
				case 0:
					next = nil
				case 1:
					next = 1.5 // REAL: due, but no integer, so its re-read fails
				case 2:
					next = "not a time" // TEXT: never due
				default:
					next = now - 100_000 + r.Int64N(300_000)
				}
				h.Exec(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count,
last_breach_at_ms, last_breach_dim, next_reset_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
					pick(r, 0, 0, 0, 1), id, pick(r, policies...), 100, 200, "tenant", "t", "hard", r.IntN(5), r.IntN(5),
					pick[any](r, nil, 300), pick[any](r, nil, "tokens"), next)
				for d := range r.IntN(3) {
					h.Exec(`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value,
last_reset_at_ms, updated_at_ms) VALUES (?,?,?,?,?,?)`, pick(r, 0, 0, 2), id, fmt.Sprintf("d%d", d), r.IntN(100), pick[any](r, nil, 50), 250)
				}
			}
			h.Exec(`CREATE TRIGGER boom BEFORE UPDATE ON ff_budget_usage WHEN OLD.budget_id = 'bad'
BEGIN SELECT RAISE(ABORT, 'boom'); END`)
		},
		between: func(h *plugintest.Harness, r *rand.Rand, i int) {
			// Another writer reschedules, unschedules or deletes a few budgets.
			for range 3 {
				id := fmt.Sprintf("b%03d", r.IntN(70))
				switch r.IntN(3) {
				case 0:
					h.Exec(`UPDATE ff_budget_policy SET next_reset_at_ms = ? WHERE budget_id = ?`, int64(now)+r.Int64N(200_000), id)
				case 1:
					h.Exec(`UPDATE ff_budget_policy SET next_reset_at_ms = NULL WHERE budget_id = ?`, id)
				default:
					h.Exec(`DELETE FROM ff_budget_policy WHERE budget_id = ?`, id)
				}
			}
		},
	}
	compareBuilds(t, goWasm, append(budgetResetPorts, budgetResetExtism), w)
}

// TestWorkerTTLSameAsGo: a random registry, swept at several times with
// workers registered and events recorded between ticks, leaves every
// build's tables and reports equal to the Go build's.
func TestWorkerTTLSameAsGo(t *testing.T) {
	goWasm := plugintest.Build(t, "../../plugins/worker_ttl")
	const now = 80_000_000
	insertWorker := func(h *plugintest.Harness, r *rand.Rand, ns, id string, base int64) {
		h.Exec(`INSERT OR REPLACE INTO ff_worker_registry (namespace, worker_instance_id, worker_id, lanes,
capabilities_csv, last_heartbeat_ms, liveness_ttl_ms, registered_at_ms) VALUES (?,?,?,?,?,?,?,?)`,
			ns, id, "w-"+id, "a,b", "gpu", base-r.Int64N(90_000), pick[int64](r, 0, 1, 30_000, 60_000), 10)
	}
	w := workload{
		tables: []string{
			"ff_worker_registry: SELECT * FROM ff_worker_registry",
			"ff_worker_registry_event: SELECT * FROM ff_worker_registry_event",
		},
		nows: []int64{now, now, now + 1, now + 30_000, now + 30_000, now + 120_000},
		seed: func(h *plugintest.Harness, r *rand.Rand) {
			for i := range 80 {
				ns, id := pick(r, "a", "b", "é"), fmt.Sprintf("w%02d", i)
				insertWorker(h, r, ns, id, now)
				if r.IntN(4) == 0 { // an event the sweep's insert conflicts with
					h.Exec(`INSERT INTO ff_worker_registry_event (namespace, worker_instance_id, event_kind,
event_at_ms, reason) VALUES (?,?,?,?,?)`, ns, id, "ttl_swept", int64(now)+pick[int64](r, 0, 1, 30_000), "earlier")
				}
			}
		},
		between: func(h *plugintest.Harness, r *rand.Rand, i int) {
			for range 5 {
				insertWorker(h, r, pick(r, "a", "b"), fmt.Sprintf("w%02d", r.IntN(100)), int64(now)+int64(i)*30_000)
			}
		},
	}
	compareBuilds(t, goWasm, append(workerTTLPorts, workerTTLExtism), w)
}

// newLogger is a logger that keeps plugin lines in lines.
func newLogger(lines pluginLines) *slog.Logger { return slog.New(lines) }
