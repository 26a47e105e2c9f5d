package reconcilertest

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

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

// minute is the reset interval most tests use.
const minute = 60_000

// budget returns a partition-0 policy row with a breach on record, due at
// next, whose policy_json is policyJSON.
func budget(id string, next sql.NullInt64, policyJSON string) policy {
	return policy{
		ID: id, JSON: policyJSON, CreatedAt: 100, UpdatedAt: 200,
		ScopeType: "tenant", ScopeID: "t-" + id, EnforcementMode: "hard",
		BreachCount: 3, SoftBreachCount: 7,
		LastBreachAt:  at(300),
		LastBreachDim: sql.NullString{String: "tokens", Valid: true},
		NextResetAt:   next,
	}
}

// every returns a policy_json with reset_interval_ms = ms.
func every(ms int64) string {
	return fmt.Sprintf(`{"reset_interval_ms":%d,"limits":{"tokens":1000}}`, ms)
}

// inPartition returns p moved to partition key k.
func inPartition(k int64, p policy) policy { p.Partition = k; return p }

// spent returns a partition-0 usage row of budget id holding value.
func spent(id, dims string, value int64) usage {
	return usage{ID: id, Dims: dims, Value: value, LastResetAt: at(50), UpdatedAt: 250}
}

// afterReset is p as a reset at now leaves it: breach cleared, counts kept,
// updated now, next reset at next.
func afterReset(p policy, now int64, next sql.NullInt64) policy {
	p.UpdatedAt = now
	p.LastBreachAt = null
	p.LastBreachDim = sql.NullString{}
	p.NextResetAt = next
	return p
}

// usageAfterReset is u as a reset at now leaves it.
func usageAfterReset(u usage, now int64) usage {
	u.Value = 0
	u.LastResetAt = at(now)
	u.UpdatedAt = now
	return u
}

func newHarness(t *testing.T, wasm string) *plugintest.Harness {
	t.Helper()
	return plugintest.New(t, wasm)
}

func seedBudgets(t *testing.T, h *plugintest.Harness, ps []policy, us []usage) {
	t.Helper()
	for _, p := range ps {
		h.Exec(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count,
last_breach_at_ms, last_breach_dim, next_reset_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			p.Partition, p.ID, p.JSON, p.CreatedAt, p.UpdatedAt, p.ScopeType, p.ScopeID,
			p.EnforcementMode, p.BreachCount, p.SoftBreachCount, p.LastBreachAt, p.LastBreachDim, p.NextResetAt)
	}
	for _, u := range us {
		h.Exec(`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value,
last_reset_at_ms, updated_at_ms) VALUES (?,?,?,?,?,?)`,
			u.Partition, u.ID, u.Dims, u.Value, u.LastResetAt, u.UpdatedAt)
	}
}

// policies returns every policy row, ordered by primary key.
func policies(t *testing.T, h *plugintest.Harness) []policy {
	t.Helper()
	rows, err := h.DB.Query(`SELECT partition_key, budget_id, policy_json, created_at_ms, updated_at_ms,
scope_type, scope_id, enforcement_mode, breach_count, soft_breach_count, last_breach_at_ms,
last_breach_dim, next_reset_at_ms FROM ff_budget_policy ORDER BY partition_key, budget_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []policy
	for rows.Next() {
		var p policy
		if err := rows.Scan(&p.Partition, &p.ID, &p.JSON, &p.CreatedAt, &p.UpdatedAt, &p.ScopeType,
			&p.ScopeID, &p.EnforcementMode, &p.BreachCount, &p.SoftBreachCount, &p.LastBreachAt,
			&p.LastBreachDim, &p.NextResetAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// usages returns every usage row, ordered by primary key.
func usages(t *testing.T, h *plugintest.Harness) []usage {
	t.Helper()
	rows, err := h.DB.Query(`SELECT partition_key, budget_id, dimensions_key, current_value,
last_reset_at_ms, updated_at_ms FROM ff_budget_usage ORDER BY partition_key, budget_id, dimensions_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []usage
	for rows.Next() {
		var u usage
		if err := rows.Scan(&u.Partition, &u.ID, &u.Dims, &u.Value, &u.LastResetAt, &u.UpdatedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkState fails the test unless the tables hold exactly wantP and wantU
// (each in primary-key order).
func checkState(t *testing.T, h *plugintest.Harness, wantP []policy, wantU []usage) {
	t.Helper()
	if got := policies(t, h); !slices.Equal(got, wantP) {
		t.Errorf("ff_budget_policy:\n got %+v\nwant %+v", got, wantP)
	}
	if got := usages(t, h); !slices.Equal(got, wantU) {
		t.Errorf("ff_budget_usage:\n got %+v\nwant %+v", got, wantU)
	}
}

func checkTick(t *testing.T, h *plugintest.Harness, now int64, want host.Report) {
	t.Helper()
	if got := h.MustTick(now); got != want {
		t.Errorf("tick at %d reported %+v, want %+v", now, got, want)
	}
}

// budgetResetTick seeds the tables, runs one tick at now and compares both tables
// in full with what the contract says they must hold. A second tick at the
// same now must then find nothing due and change nothing.
func budgetResetTick(t *testing.T, wasm string) {
	const now = 1_000_000
	tests := []struct {
		name     string
		policies []policy
		usages   []usage
		want     host.Report
		wantP    []policy
		wantU    []usage
	}{
		{
			name:     "due row is reset and rescheduled",
			policies: []policy{budget("a", at(now-1), every(minute))},
			usages:   []usage{spent("a", "model=x", 40), spent("a", "model=y", 2)},
			want:     host.Report{Processed: 1},
			// Spelled out in full: the other cases use afterReset and
			// usageAfterReset, which this case pins down.
			wantP: []policy{{
				ID: "a", JSON: every(minute), CreatedAt: 100, UpdatedAt: now,
				ScopeType: "tenant", ScopeID: "t-a", EnforcementMode: "hard",
				BreachCount: 3, SoftBreachCount: 7,
				LastBreachAt: null, LastBreachDim: sql.NullString{},
				NextResetAt: at(now + minute),
			}},
			wantU: []usage{
				{ID: "a", Dims: "model=x", Value: 0, LastResetAt: at(now), UpdatedAt: now},
				{ID: "a", Dims: "model=y", Value: 0, LastResetAt: at(now), UpdatedAt: now},
			},
		},
		{
			name:     "due exactly at now",
			policies: []policy{budget("a", at(now), every(minute))},
			usages:   []usage{spent("a", "d", 9)},
			want:     host.Report{Processed: 1},
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
			want:     host.Report{Processed: 1},
			wantP:    []policy{afterReset(budget("a", at(now-5), every(minute)), now, at(now+minute))},
		},
		{
			name:     "overdue by many intervals is reset once and rescheduled from now",
			policies: []policy{budget("a", at(now-100*minute-7), every(minute))},
			usages:   []usage{spent("a", "d", 9)},
			want:     host.Report{Processed: 1},
			wantP:    []policy{afterReset(budget("a", at(now-100*minute-7), every(minute)), now, at(now+minute))},
			wantU:    []usage{usageAfterReset(spent("a", "d", 9), now)},
		},
		{
			name: "other partition keys are untouched",
			policies: []policy{
				budget("a", at(now-1), every(minute)),
				inPartition(1, budget("a", at(now-1), every(minute))),
				inPartition(1, budget("b", at(now-1), every(minute))),
				inPartition(-3, budget("c", at(0), every(minute))),
			},
			usages: []usage{
				spent("a", "d", 9),
				{Partition: 1, ID: "a", Dims: "d", Value: 11, UpdatedAt: 1},
				{Partition: 1, ID: "b", Dims: "d", Value: 12, UpdatedAt: 1},
				{Partition: 2, ID: "a", Dims: "d", Value: 13, UpdatedAt: 1},
			},
			want: host.Report{Processed: 1},
			wantP: []policy{
				inPartition(-3, budget("c", at(0), every(minute))),
				afterReset(budget("a", at(now-1), every(minute)), now, at(now+minute)),
				inPartition(1, budget("a", at(now-1), every(minute))),
				inPartition(1, budget("b", at(now-1), every(minute))),
			},
			wantU: []usage{
				usageAfterReset(spent("a", "d", 9), now),
				{Partition: 1, ID: "a", Dims: "d", Value: 11, UpdatedAt: 1},
				{Partition: 1, ID: "b", Dims: "d", Value: 12, UpdatedAt: 1},
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
			want:   host.Report{Processed: 1},
			wantP: []policy{
				afterReset(budget("a", at(now-1), every(minute)), now, at(now+minute)),
				budget("b", at(now+1), every(minute)),
			},
			wantU: []usage{usageAfterReset(spent("a", "d", 9), now), spent("b", "d", 8), spent("orphan", "d", 7)},
		},
		{
			// now + interval overflows int64: the schedule saturates rather
			// than wrapping to a negative time that is due on every tick.
			name:     "interval too large to add to now saturates",
			policies: []policy{budget("a", at(now-1), every(math.MaxInt64))},
			want:     host.Report{Processed: 1},
			wantP:    []policy{afterReset(budget("a", at(now-1), every(math.MaxInt64)), now, at(math.MaxInt64))},
		},
		{
			name: "each budget uses its own interval",
			policies: []policy{
				budget("a", at(now-1), every(1_000)),
				budget("b", at(now-1), every(3_600_000)),
			},
			want: host.Report{Processed: 2},
			wantP: []policy{
				afterReset(budget("a", at(now-1), every(1_000)), now, at(now+1_000)),
				afterReset(budget("b", at(now-1), every(3_600_000)), now, at(now+3_600_000)),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, wasm)
			seedBudgets(t, h, tt.policies, tt.usages)
			checkTick(t, h, now, tt.want)
			checkState(t, h, tt.wantP, tt.wantU)

			checkTick(t, h, now, host.Report{})
			checkState(t, h, tt.wantP, tt.wantU)
		})
	}
}

// budgetResetUnusableIntervalClearsSchedule: a due budget whose policy has no
// usable reset_interval_ms (not a positive integer JSON number) is still
// reset, and its schedule becomes NULL so it never fires again.
func budgetResetUnusableIntervalClearsSchedule(t *testing.T, wasm string) {
	const now = 2_000_000
	tests := []struct {
		name       string
		policyJSON string
	}{
		{"zero", `{"reset_interval_ms":0}`},
		{"negative", `{"reset_interval_ms":-60000}`},
		{"missing", `{"limits":{"tokens":10}}`},
		{"empty object", `{}`},
		{"fraction", `{"reset_interval_ms":1.5}`},
		{"exponent", `{"reset_interval_ms":1e3}`},
		{"string", `{"reset_interval_ms":"1000"}`},
		{"JSON null", `{"reset_interval_ms":null}`},
		{"too large for int64", `{"reset_interval_ms":9223372036854775808}`},
		{"malformed JSON", `{"reset_interval_ms":1000`},
		{"not an object", `[1000]`},
		{"empty text", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, wasm)
			p := budget("a", at(now-10), tt.policyJSON)
			u := spent("a", "d", 5)
			seedBudgets(t, h, []policy{p}, []usage{u})

			checkTick(t, h, now, host.Report{Processed: 1})
			checkState(t, h, []policy{afterReset(p, now, null)}, []usage{usageAfterReset(u, now)})

			// NULL is never due, however late.
			checkTick(t, h, now+1_000*minute, host.Report{})
			checkState(t, h, []policy{afterReset(p, now, null)}, []usage{usageAfterReset(u, now)})
		})
	}
}

// budgetResetBatchesOf20InDueOrder: 45 due budgets take three ticks at the
// same now, reporting 20, 20 and 5, and the earliest next_reset_at_ms go
// first. The ids are not in due order, so neither insertion nor id order
// can pass for due order.
func budgetResetBatchesOf20InDueOrder(t *testing.T, wasm string) {
	const (
		now = 5_000_000
		n   = 45
	)
	h := newHarness(t, wasm)
	dueAt := map[string]int64{}
	var ps []policy
	var us []usage
	for i := range n {
		id := fmt.Sprintf("b%02d", i)
		// i*7 mod 45 is a permutation of 0..44 (gcd(7, 45) = 1): distinct
		// due times in an order unrelated to the ids.
		dueAt[id] = now - n*1_000 + int64(i*7%n)*1_000
		ps = append(ps, budget(id, at(dueAt[id]), every(minute)))
		us = append(us, spent(id, "d", int64(i+1)))
	}
	seedBudgets(t, h, ps, us)

	// resetSet returns the ids whose usage the ticks so far have reset.
	resetSet := func() []string {
		t.Helper()
		var ids []string
		for _, u := range usages(t, h) {
			if u.Value == 0 {
				ids = append(ids, u.ID)
			}
		}
		return ids
	}
	// earliest returns the k ids due first.
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

	// From ABI 1.1 a full batch says it may have left work (tick_more).
	reportsMore := minorAtLeast(h.Plugin.Desc.ABIVersion, 1)
	for i, want := range []int64{20, 20, 5, 0} {
		checkTick(t, h, now, host.Report{Processed: want, More: want == 20 && reportsMore})
		done := min(20*(i+1), n)
		if got, want := resetSet(), earliest(done); !slices.Equal(got, want) {
			t.Fatalf("after tick %d, reset budgets are\n %v\nwant the %d due first:\n %v", i+1, got, done, want)
		}
	}
	for _, p := range policies(t, h) {
		if p.NextResetAt != at(now+minute) || p.UpdatedAt != now {
			t.Errorf("budget %s: next_reset_at_ms %v, updated_at_ms %d; want %d, %d",
				p.ID, p.NextResetAt, p.UpdatedAt, now+minute, now)
		}
	}
}

// budgetResetSkipsBudgetChangedAfterScan: a budget that the scan found due but
// that someone else reset, unscheduled or deleted before its own
// transaction began is left alone.
//
// The interference is made deterministic with a trigger the host side
// creates through h.DB (the plugin creates nothing): budget "first" is due
// earlier than "second", so the tick scans both, then resets "first". Its
// usage UPDATE fires the trigger, which changes "second"'s policy row inside
// "first"'s transaction. When the plugin then re-reads "second" in its own
// transaction, the change is committed and visible, exactly as if another
// writer had got in between the scan and the apply.
func budgetResetSkipsBudgetChangedAfterScan(t *testing.T, wasm string) {
	const now = 3_000_000
	tests := []struct {
		name  string
		act   string // the trigger's action on budget "second"
		wantP policy // "second" after the tick
		gone  bool   // "second"'s policy row is deleted
	}{
		{
			name:  "schedule advanced into the future",
			act:   `UPDATE ff_budget_policy SET next_reset_at_ms = 9000000 WHERE partition_key = 0 AND budget_id = 'second';`,
			wantP: budget("second", at(9_000_000), every(minute)),
		},
		{
			name:  "schedule cleared",
			act:   `UPDATE ff_budget_policy SET next_reset_at_ms = NULL WHERE partition_key = 0 AND budget_id = 'second';`,
			wantP: budget("second", null, every(minute)),
		},
		{
			name: "policy deleted",
			act:  `DELETE FROM ff_budget_policy WHERE partition_key = 0 AND budget_id = 'second';`,
			gone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, wasm)
			first := budget("first", at(now-20), every(minute))
			second := budget("second", at(now-10), every(minute))
			seedBudgets(t, h, []policy{first, second},
				[]usage{spent("first", "d", 1), spent("second", "d", 2)})
			h.Exec(`CREATE TRIGGER interfere AFTER UPDATE ON ff_budget_usage
WHEN NEW.partition_key = 0 AND NEW.budget_id = 'first'
BEGIN ` + tt.act + ` END`)

			checkTick(t, h, now, host.Report{Processed: 1})
			wantP := []policy{afterReset(first, now, at(now+minute))}
			if !tt.gone {
				wantP = append(wantP, tt.wantP)
			}
			checkState(t, h, wantP, []usage{usageAfterReset(spent("first", "d", 1), now), spent("second", "d", 2)})
		})
	}
}

// budgetResetCountsFailuresAndGoesOn: a budget whose reset fails (here a
// trigger, created host-side, aborts the usage update of budget "bad") is
// counted in errors and rolled back whole; the budgets around it are still
// reset and counted in processed.
func budgetResetCountsFailuresAndGoesOn(t *testing.T, wasm string) {
	const now = 4_000_000
	h := newHarness(t, wasm)
	a := budget("a", at(now-30), every(minute))
	bad := budget("bad", at(now-20), every(minute))
	c := budget("c", at(now-10), every(minute))
	ua, ubad, uc := spent("a", "d", 1), spent("bad", "d", 2), spent("c", "d", 3)
	seedBudgets(t, h, []policy{a, bad, c}, []usage{ua, ubad, uc})
	h.Exec(`CREATE TRIGGER boom BEFORE UPDATE ON ff_budget_usage
WHEN OLD.budget_id = 'bad'
BEGIN SELECT RAISE(ABORT, 'boom'); END`)

	checkTick(t, h, now, host.Report{Processed: 2, Errors: 1})
	wantP := []policy{afterReset(a, now, at(now+minute)), bad, afterReset(c, now, at(now+minute))}
	wantU := []usage{usageAfterReset(ua, now), ubad, usageAfterReset(uc, now)}
	checkState(t, h, wantP, wantU)

	// "bad" is still due and still fails; nothing else is due.
	checkTick(t, h, now, host.Report{Errors: 1})
	checkState(t, h, wantP, wantU)

	// Once the fault is gone, it is reset like any other.
	h.Exec(`DROP TRIGGER boom`)
	checkTick(t, h, now+1, host.Report{Processed: 1})
	wantP[1] = afterReset(bad, now+1, at(now+1+minute))
	wantU[1] = usageAfterReset(ubad, now+1)
	checkState(t, h, wantP, wantU)
}
