package pgreconcile

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The cases of plugins/budget_reset/reset_test.go, on FlowFabric's
// Postgres schema, in partition p of 32 with rows of other partitions
// around, each tick run through the plugin's own session as its calls
// reach it. Every tick runs at a fixed now.

// p is the partition the single-partition tests tick.
const p = 7

// policy is one ff_budget_policy row.
type policy struct {
	Partition       int64
	ID              string
	JSON            string
	CreatedAt       int64
	UpdatedAt       int64
	ScopeType       string
	ScopeID         string
	EnforcementMode string
	BreachCount     int64
	SoftBreachCount int64
	LastBreachAt    sql.NullInt64
	LastBreachDim   sql.NullString
	NextResetAt     sql.NullInt64
}

// usage is one ff_budget_usage row.
type usage struct {
	Partition   int64
	ID          string
	Dims        string
	Value       int64
	LastResetAt sql.NullInt64
	UpdatedAt   int64
}

var null = sql.NullInt64{}

func at(ms int64) sql.NullInt64 { return sql.NullInt64{Int64: ms, Valid: true} }

const minute = 60_000

// budget returns a partition-p policy row with a breach on record, due at
// next, whose policy_json is policyJSON.
func budget(id string, next sql.NullInt64, policyJSON string) policy {
	return policy{
		Partition: p, ID: id, JSON: policyJSON, CreatedAt: 100, UpdatedAt: 200,
		ScopeType: "tenant", ScopeID: "t-" + id, EnforcementMode: "hard",
		BreachCount: 3, SoftBreachCount: 7,
		LastBreachAt:  at(300),
		LastBreachDim: sql.NullString{String: "tokens", Valid: true},
		NextResetAt:   next,
	}
}

func every(ms int64) string {
	return fmt.Sprintf(`{"reset_interval_ms":%d,"limits":{"tokens":1000}}`, ms)
}

func inPartition(k int64, pl policy) policy { pl.Partition = k; return pl }

func spent(id, dims string, value int64) usage {
	return usage{Partition: p, ID: id, Dims: dims, Value: value, LastResetAt: at(50), UpdatedAt: 250}
}

func afterReset(pl policy, now int64, next sql.NullInt64) policy {
	pl.UpdatedAt = now
	pl.LastBreachAt = null
	pl.LastBreachDim = sql.NullString{}
	pl.NextResetAt = next
	return pl
}

func usageAfterReset(u usage, now int64) usage {
	u.Value = 0
	u.LastResetAt = at(now)
	u.UpdatedAt = now
	return u
}

func seedBudgets(t *testing.T, e *env, ps []policy, us []usage) {
	t.Helper()
	for _, pl := range ps {
		e.exec(t, `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count,
last_breach_at_ms, last_breach_dim, next_reset_at_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
			pl.Partition, pl.ID, pl.JSON, pl.CreatedAt, pl.UpdatedAt, pl.ScopeType, pl.ScopeID,
			pl.EnforcementMode, pl.BreachCount, pl.SoftBreachCount, pl.LastBreachAt, pl.LastBreachDim, pl.NextResetAt)
	}
	for _, u := range us {
		e.exec(t, `INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value,
last_reset_at_ms, updated_at_ms) VALUES ($1,$2,$3,$4,$5,$6)`,
			u.Partition, u.ID, u.Dims, u.Value, u.LastResetAt, u.UpdatedAt)
	}
}

// policies returns every policy row, ordered by primary key, policy_json
// in jsonb's text form.
func policies(t *testing.T, e *env) []policy {
	t.Helper()
	rows, err := e.admin.Query(context.Background(), `SELECT partition_key, budget_id, policy_json::text, created_at_ms,
updated_at_ms, scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count, last_breach_at_ms,
last_breach_dim, next_reset_at_ms FROM ff_budget_policy ORDER BY partition_key, budget_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []policy
	for rows.Next() {
		var pl policy
		var part int16
		if err := rows.Scan(&part, &pl.ID, &pl.JSON, &pl.CreatedAt, &pl.UpdatedAt, &pl.ScopeType,
			&pl.ScopeID, &pl.EnforcementMode, &pl.BreachCount, &pl.SoftBreachCount, &pl.LastBreachAt,
			&pl.LastBreachDim, &pl.NextResetAt); err != nil {
			t.Fatal(err)
		}
		pl.Partition = int64(part)
		out = append(out, pl)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func usages(t *testing.T, e *env) []usage {
	t.Helper()
	rows, err := e.admin.Query(context.Background(), `SELECT partition_key, budget_id, dimensions_key, current_value,
last_reset_at_ms, updated_at_ms FROM ff_budget_usage ORDER BY partition_key, budget_id, dimensions_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []usage
	for rows.Next() {
		var u usage
		var part int16
		if err := rows.Scan(&part, &u.ID, &u.Dims, &u.Value, &u.LastResetAt, &u.UpdatedAt); err != nil {
			t.Fatal(err)
		}
		u.Partition = int64(part)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// canon returns want's policies with policy_json in jsonb's text form and
// in primary-key order, as policies reads them.
func canon(t *testing.T, e *env, want []policy) []policy {
	t.Helper()
	out := slices.Clone(want)
	for i := range out {
		if err := e.admin.QueryRow(context.Background(), `SELECT $1::jsonb::text`, out[i].JSON).Scan(&out[i].JSON); err != nil {
			t.Fatal(err)
		}
	}
	return sortedCopy(out, func(a, b policy) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func checkBudgets(t *testing.T, e *env, wantP []policy, wantU []usage) {
	t.Helper()
	if got, want := policies(t, e), canon(t, e, wantP); !slices.Equal(got, want) {
		t.Errorf("ff_budget_policy:\n got %+v\nwant %+v", got, want)
	}
	wantU = sortedCopy(wantU, func(a, b usage) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return strings.Compare(a.ID+"\x00"+a.Dims, b.ID+"\x00"+b.Dims)
	})
	if got := usages(t, e); !slices.Equal(got, wantU) {
		t.Errorf("ff_budget_usage:\n got %+v\nwant %+v", got, wantU)
	}
}

// tickBudgets runs budget_reset on partition part at now and ends the tick.
func tickBudgets(t *testing.T, s ticker, part int, now int64) Report {
	t.Helper()
	rep, err := s.tick(t, part, now)
	if err != nil {
		t.Fatalf("tick partition %d at %d: %v", part, now, err)
	}
	return rep
}

func checkBudgetTick(t *testing.T, s ticker, now int64, want Report) {
	t.Helper()
	if got := tickBudgets(t, s, p, now); got != want {
		t.Errorf("tick at %d reported %+v, want %+v", now, got, want)
	}
}

func TestBudgetReset(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 1_000_000
		tests := []struct {
			name     string
			policies []policy
			usages   []usage
			want     Report
			again    Report // the second tick at the same now
			wantP    []policy
			wantU    []usage
		}{
			{
				name:     "due row is reset and rescheduled",
				policies: []policy{budget("a", at(now-1), every(minute))},
				usages:   []usage{spent("a", "model=x", 40), spent("a", "model=y", 2)},
				want:     Report{Processed: 1},
				wantP: []policy{{
					Partition: p, ID: "a", JSON: every(minute), CreatedAt: 100, UpdatedAt: now,
					ScopeType: "tenant", ScopeID: "t-a", EnforcementMode: "hard",
					BreachCount: 3, SoftBreachCount: 7,
					LastBreachAt: null, LastBreachDim: sql.NullString{},
					NextResetAt: at(now + minute),
				}},
				wantU: []usage{
					{Partition: p, ID: "a", Dims: "model=x", Value: 0, LastResetAt: at(now), UpdatedAt: now},
					{Partition: p, ID: "a", Dims: "model=y", Value: 0, LastResetAt: at(now), UpdatedAt: now},
				},
			},
			{
				name:     "due exactly at now",
				policies: []policy{budget("a", at(now), every(minute))},
				usages:   []usage{spent("a", "d", 9)},
				want:     Report{Processed: 1},
				wantP:    []policy{afterReset(budget("a", at(now), every(minute)), now, at(now+minute))},
				wantU:    []usage{usageAfterReset(spent("a", "d", 9), now)},
			},
			{
				name:     "one interval in the future is not due",
				policies: []policy{budget("a", at(now+minute), every(minute))},
				usages:   []usage{spent("a", "d", 9)},
				wantP:    []policy{budget("a", at(now+minute), every(minute))},
				wantU:    []usage{spent("a", "d", 9)},
			},
			{
				name:     "one millisecond in the future is not due",
				policies: []policy{budget("a", at(now+1), every(minute))},
				usages:   []usage{spent("a", "d", 9)},
				wantP:    []policy{budget("a", at(now+1), every(minute))},
				wantU:    []usage{spent("a", "d", 9)},
			},
			{
				name:     "NULL schedule never fires",
				policies: []policy{budget("a", null, every(minute))},
				usages:   []usage{spent("a", "d", 9)},
				wantP:    []policy{budget("a", null, every(minute))},
				wantU:    []usage{spent("a", "d", 9)},
			},
			{
				name:     "budget without usage rows is still rescheduled",
				policies: []policy{budget("a", at(now-5), every(minute))},
				want:     Report{Processed: 1},
				wantP:    []policy{afterReset(budget("a", at(now-5), every(minute)), now, at(now+minute))},
			},
			{
				name:     "overdue by many intervals is reset once and rescheduled from now",
				policies: []policy{budget("a", at(now-100*minute-7), every(minute))},
				usages:   []usage{spent("a", "d", 9)},
				want:     Report{Processed: 1},
				wantP:    []policy{afterReset(budget("a", at(now-100*minute-7), every(minute)), now, at(now+minute))},
				wantU:    []usage{usageAfterReset(spent("a", "d", 9), now)},
			},
			{
				name: "other partition keys are untouched",
				policies: []policy{
					budget("a", at(now-1), every(minute)),
					inPartition(1, budget("a", at(now-1), every(minute))),
					inPartition(8, budget("b", at(now-1), every(minute))),
					inPartition(-3, budget("c", at(0), every(minute))),
					inPartition(p+32, budget("d", at(0), every(minute))),
				},
				usages: []usage{
					spent("a", "d", 9),
					{Partition: 1, ID: "a", Dims: "d", Value: 11, UpdatedAt: 1},
					{Partition: 8, ID: "b", Dims: "d", Value: 12, UpdatedAt: 1},
					{Partition: 2, ID: "a", Dims: "d", Value: 13, UpdatedAt: 1},
				},
				want: Report{Processed: 1},
				wantP: []policy{
					inPartition(-3, budget("c", at(0), every(minute))),
					afterReset(budget("a", at(now-1), every(minute)), now, at(now+minute)),
					inPartition(1, budget("a", at(now-1), every(minute))),
					inPartition(8, budget("b", at(now-1), every(minute))),
					inPartition(p+32, budget("d", at(0), every(minute))),
				},
				wantU: []usage{
					usageAfterReset(spent("a", "d", 9), now),
					{Partition: 1, ID: "a", Dims: "d", Value: 11, UpdatedAt: 1},
					{Partition: 8, ID: "b", Dims: "d", Value: 12, UpdatedAt: 1},
					{Partition: 2, ID: "a", Dims: "d", Value: 13, UpdatedAt: 1},
				},
			},
			{
				name: "usage of other budgets is untouched",
				policies: []policy{
					budget("a", at(now-1), every(minute)),
					budget("b", at(now+1), every(minute)),
				},
				usages: []usage{spent("a", "d", 9), spent("b", "d", 8), spent("orphan", "d", 7)},
				want:   Report{Processed: 1},
				wantP: []policy{
					afterReset(budget("a", at(now-1), every(minute)), now, at(now+minute)),
					budget("b", at(now+1), every(minute)),
				},
				wantU: []usage{usageAfterReset(spent("a", "d", 9), now), spent("b", "d", 8), spent("orphan", "d", 7)},
			},
			{
				// Postgres differs from SQLite on purpose: now + interval past
				// bigint fails the budget, which stays due, rather than
				// saturating.
				name:     "interval too large to add to now fails the budget, which stays due",
				policies: []policy{budget("a", at(now-1), every(math.MaxInt64))},
				usages:   []usage{spent("a", "d", 9)},
				want:     Report{Errors: 1},
				again:    Report{Errors: 1},
				wantP:    []policy{budget("a", at(now-1), every(math.MaxInt64))},
				wantU:    []usage{spent("a", "d", 9)},
			},
			{
				name: "each budget uses its own interval",
				policies: []policy{
					budget("a", at(now-1), every(1_000)),
					budget("b", at(now-1), every(3_600_000)),
				},
				want: Report{Processed: 2},
				wantP: []policy{
					afterReset(budget("a", at(now-1), every(1_000)), now, at(now+1_000)),
					afterReset(budget("b", at(now-1), every(3_600_000)), now, at(now+3_600_000)),
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, im)
				s := e.budgetTicker(t)
				seedBudgets(t, e, tt.policies, tt.usages)
				checkBudgetTick(t, s, now, tt.want)
				checkBudgets(t, e, tt.wantP, tt.wantU)

				checkBudgetTick(t, s, now, tt.again)
				checkBudgets(t, e, tt.wantP, tt.wantU)
			})
		}
	})
}

// TestBudgetResetUnusableInterval: a due budget whose policy has no usable
// reset_interval_ms is reset and unscheduled. jsonb cannot hold malformed
// JSON or empty text (SQLite's last cases), and it stores 1e3 as the
// integer 1000, which is therefore an interval.
func TestBudgetResetUnusableInterval(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 2_000_000
		tests := []struct {
			name       string
			policyJSON string
			next       sql.NullInt64
		}{
			{"zero", `{"reset_interval_ms":0}`, null},
			{"negative", `{"reset_interval_ms":-60000}`, null},
			{"missing", `{"limits":{"tokens":10}}`, null},
			{"empty object", `{}`, null},
			{"fraction", `{"reset_interval_ms":1.5}`, null},
			{"integral fraction", `{"reset_interval_ms":1.0}`, null},
			{"string", `{"reset_interval_ms":"1000"}`, null},
			{"JSON null", `{"reset_interval_ms":null}`, null},
			{"too large for int64", `{"reset_interval_ms":9223372036854775808}`, null},
			{"huge", `{"reset_interval_ms":1e20}`, null},
			{"not an object", `[1000]`, null},
			{"nested, not top level", `{"limits":{"reset_interval_ms":1000}}`, null},
			{"exponent is an integer in jsonb", `{"reset_interval_ms":1e3}`, at(now + 1_000)},
			{"duplicate keys: the last wins", `{"reset_interval_ms":5,"reset_interval_ms":2000}`, at(now + 2_000)},
		}
		e := newEnv(t, im)
		s := e.budgetTicker(t)
		var ps, want []policy
		var us, wantU []usage
		for i, tt := range tests {
			id := fmt.Sprintf("b%02d", i)
			pl := budget(id, at(now-10), tt.policyJSON)
			u := spent(id, "d", 5)
			ps, us = append(ps, pl), append(us, u)
			want, wantU = append(want, afterReset(pl, now, tt.next)), append(wantU, usageAfterReset(u, now))
		}
		seedBudgets(t, e, ps, us)
		checkBudgetTick(t, s, now, Report{Processed: int64(len(tests))})
		checkBudgets(t, e, want, wantU)
		// NULL is never due, however late; the two with an interval are.
		checkBudgetTick(t, s, now+1_000*minute, Report{Processed: 2})
	})
}

func TestBudgetResetBatchesOf20InDueOrder(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const (
			now = 5_000_000
			n   = 45
		)
		e := newEnv(t, im)
		s := e.budgetTicker(t)
		dueAt := map[string]int64{}
		var ps []policy
		var us []usage
		for i := range n {
			id := fmt.Sprintf("b%02d", i)
			dueAt[id] = now - n*1_000 + int64(i*7%n)*1_000
			ps = append(ps, budget(id, at(dueAt[id]), every(minute)))
			us = append(us, spent(id, "d", int64(i+1)))
		}
		seedBudgets(t, e, ps, us)
		resetSet := func() []string {
			var ids []string
			for _, u := range usages(t, e) {
				if u.Value == 0 {
					ids = append(ids, u.ID)
				}
			}
			return ids
		}
		earliest := func(k int) []string {
			ids := make([]string, 0, n)
			for id := range dueAt {
				ids = append(ids, id)
			}
			slices.SortFunc(ids, func(a, b string) int { return int(dueAt[a] - dueAt[b]) })
			ids = ids[:k]
			slices.Sort(ids)
			return ids
		}
		for i, want := range []int64{20, 20, 5, 0} {
			checkBudgetTick(t, s, now, Report{Processed: want})
			done := min(20*(i+1), n)
			if got, want := resetSet(), earliest(done); !slices.Equal(got, want) {
				t.Fatalf("after tick %d, reset budgets are\n %v\nwant the %d due first:\n %v", i+1, got, done, want)
			}
		}
	})
}

// TestBudgetResetSkipsBudgetChangedAfterScan: the scan finds "first" and
// "second" due; resetting "first" fires a trigger (the operator's, made
// by the admin) that changes "second", so its own transaction finds it
// no longer due, or gone.
func TestBudgetResetSkipsBudgetChangedAfterScan(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 3_000_000
		tests := []struct {
			name  string
			act   string
			wantP policy
			gone  bool
		}{
			{"schedule advanced into the future",
				`UPDATE ff_budget_policy SET next_reset_at_ms = 9000000 WHERE partition_key = 7 AND budget_id = 'second'`,
				budget("second", at(9_000_000), every(minute)), false},
			{"schedule cleared",
				`UPDATE ff_budget_policy SET next_reset_at_ms = NULL WHERE partition_key = 7 AND budget_id = 'second'`,
				budget("second", null, every(minute)), false},
			{"policy deleted",
				`DELETE FROM ff_budget_policy WHERE partition_key = 7 AND budget_id = 'second'`, policy{}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, im)
				s := e.budgetTicker(t)
				first := budget("first", at(now-20), every(minute))
				second := budget("second", at(now-10), every(minute))
				seedBudgets(t, e, []policy{first, second}, []usage{spent("first", "d", 1), spent("second", "d", 2)})
				e.exec(t, `CREATE FUNCTION interfere() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN `+tt.act+`; RETURN NULL; END $$`)
				e.exec(t, `CREATE TRIGGER interfere AFTER UPDATE ON ff_budget_usage FOR EACH ROW
WHEN (NEW.partition_key = 7 AND NEW.budget_id = 'first') EXECUTE FUNCTION interfere()`)

				checkBudgetTick(t, s, now, Report{Processed: 1})
				wantP := []policy{afterReset(first, now, at(now+minute))}
				if !tt.gone {
					wantP = append(wantP, tt.wantP)
				}
				checkBudgets(t, e, wantP, []usage{usageAfterReset(spent("first", "d", 1), now), spent("second", "d", 2)})
			})
		}
	})
}

// TestBudgetResetCountsFailuresAndGoesOn: a budget whose reset fails (a
// trigger raises) is counted in errors and rolled back whole; the others
// are reset.
func TestBudgetResetCountsFailuresAndGoesOn(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 4_000_000
		e := newEnv(t, im)
		s := e.budgetTicker(t)
		a := budget("a", at(now-30), every(minute))
		bad := budget("bad", at(now-20), every(minute))
		c := budget("c", at(now-10), every(minute))
		ua, ubad, uc := spent("a", "d", 1), spent("bad", "d", 2), spent("c", "d", 3)
		seedBudgets(t, e, []policy{a, bad, c}, []usage{ua, ubad, uc})
		e.exec(t, `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$`)
		e.exec(t, `CREATE TRIGGER boom BEFORE UPDATE ON ff_budget_usage FOR EACH ROW
WHEN (OLD.budget_id = 'bad') EXECUTE FUNCTION boom()`)

		checkBudgetTick(t, s, now, Report{Processed: 2, Errors: 1})
		wantP := []policy{afterReset(a, now, at(now+minute)), bad, afterReset(c, now, at(now+minute))}
		wantU := []usage{usageAfterReset(ua, now), ubad, usageAfterReset(uc, now)}
		checkBudgets(t, e, wantP, wantU)

		checkBudgetTick(t, s, now, Report{Errors: 1})
		checkBudgets(t, e, wantP, wantU)

		e.exec(t, `DROP TRIGGER boom ON ff_budget_usage`)
		checkBudgetTick(t, s, now+1, Report{Processed: 1})
		wantP[1] = afterReset(bad, now+1, at(now+1+minute))
		wantU[1] = usageAfterReset(ubad, now+1)
		checkBudgets(t, e, wantP, wantU)
	})
}

// TestBudgetResetWalksPartitions: FlowFabric's walk, partitions 0 to 31 in
// order: each resets its own budgets and nothing else; a budget in a
// partition past 31 is never walked.
func TestBudgetResetWalksPartitions(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const now = 6_000_000
		e := newEnv(t, im)
		s := e.budgetTicker(t)
		var ps, want []policy
		for part := int64(0); part < 32; part++ {
			for _, id := range []string{"x", "y"} {
				pl := inPartition(part, budget(id, at(now-part), every(minute)))
				ps = append(ps, pl)
				want = append(want, afterReset(pl, now, at(now+minute)))
			}
		}
		outside := inPartition(40, budget("x", at(0), every(minute)))
		ps, want = append(ps, outside), append(want, outside)
		seedBudgets(t, e, ps, nil)
		for part := range 32 {
			if got := tickBudgets(t, s, part, now); got != (Report{Processed: 2}) {
				t.Errorf("partition %d reported %+v, want 2 processed", part, got)
			}
			// Partitions not walked yet are untouched.
			for _, pl := range policies(t, e) {
				if pl.Partition > int64(part) && pl.UpdatedAt != 200 {
					t.Fatalf("after partition %d, partition %d's %s changed", part, pl.Partition, pl.ID)
				}
			}
		}
		checkBudgets(t, e, want, nil)
	})
}

// TestBudgetResetConcurrentDaemons: two sessions tick the same partition
// at the same now at once (two daemons that do not split partitions, as
// FlowFabric's replicas do): row locks and SERIALIZABLE make every budget
// reset exactly once between them.
func TestBudgetResetConcurrentDaemons(t *testing.T) {
	t.Parallel()
	forEachImpl(t, func(t *testing.T, im impl) {
		const (
			now = 7_000_000
			n   = 60
		)
		e := newEnv(t, im)
		a := e.budgetTicker(t)
		b := e.budgetTicker(t)
		var ps []policy
		var us []usage
		for i := range n {
			id := fmt.Sprintf("b%02d", i)
			ps = append(ps, budget(id, at(now-int64(i)), every(minute)))
			us = append(us, spent(id, "d", 1), spent(id, "e", 2))
		}
		seedBudgets(t, e, ps, us)
		var mu sync.Mutex
		var total Report
		var wg sync.WaitGroup
		for _, s := range []ticker{a, b} {
			wg.Go(func() {
				for range 4 {
					rep, err := s.tick(t, p, now)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					total.Processed += rep.Processed
					total.Errors += rep.Errors
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// A budget both attempts of which failed would still be due: one more
		// tick picks it up, so Processed counts every budget exactly once.
		total.Processed += tickBudgets(t, a, p, now).Processed
		if total.Processed != n {
			t.Errorf("%d resets of %d budgets (%d errors on the way)", total.Processed, n, total.Errors)
		}
		for _, pl := range policies(t, e) {
			if pl.UpdatedAt != now || pl.NextResetAt != at(now+minute) {
				t.Errorf("budget %s: updated %d, next %v", pl.ID, pl.UpdatedAt, pl.NextResetAt)
			}
		}
		for _, u := range usages(t, e) {
			if u.Value != 0 || u.UpdatedAt != now {
				t.Errorf("usage %s/%s: %d at %d", u.ID, u.Dims, u.Value, u.UpdatedAt)
			}
		}
	})
}

func TestResetInterval(t *testing.T) {
	tests := []struct {
		in   any
		want int64
	}{
		{"60000", 60000}, {"-5", -5}, {"0", 0}, {"1.5", 0}, {"1.0", 0}, {`"1000"`, 0},
		{"null", 0}, {"9223372036854775807", math.MaxInt64}, {"9223372036854775808", 0},
		{nil, 0}, {int64(5), 0},
	}
	for _, tt := range tests {
		if got := ResetInterval(tt.in); got != tt.want {
			t.Errorf("ResetInterval(%#v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
