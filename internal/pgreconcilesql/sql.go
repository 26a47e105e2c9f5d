// Package pgreconcilesql holds the SQL of FlowFabric's two reconcilers on
// its PostgreSQL schema, one partition per statement: the text the
// budget_reset and worker_ttl plugins send on PostgreSQL, and that the
// reference implementation (host/internal/pgreconcile) runs in its tests,
// so both run exactly the same statements. It imports nothing but the
// standard library, so a plugin may link it.
package pgreconcilesql

import "strconv"

// BatchSize is how many due budgets one partition's tick resets at most.
const BatchSize = 20

// The statements, with PostgreSQL's $n parameters. Every argument is bound
// as the wire value's own type: ints as bigint.
const (
	// BudgetSelectDue: $1 partition, $2 now, $3 batch size.
	BudgetSelectDue = `SELECT budget_id FROM ff_budget_policy
WHERE partition_key = $1 AND next_reset_at_ms IS NOT NULL AND next_reset_at_ms <= $2
ORDER BY next_reset_at_ms ASC LIMIT $3`
	// BudgetSelectOne re-reads and locks one budget: $1 partition, $2 id.
	// reset_interval_ms comes back as its jsonb text (NULL if missing).
	BudgetSelectOne = `SELECT policy_json->'reset_interval_ms', next_reset_at_ms FROM ff_budget_policy
WHERE partition_key = $1 AND budget_id = $2 FOR NO KEY UPDATE`
	// BudgetResetUsage: $1 now, $2 partition, $3 id.
	BudgetResetUsage = `UPDATE ff_budget_usage SET current_value = 0, last_reset_at_ms = $1, updated_at_ms = $1
WHERE partition_key = $2 AND budget_id = $3`
	// BudgetResetPolicy: $1 now, $2 interval (0: no next reset), $3
	// partition, $4 id. now + interval past bigint fails (22003).
	BudgetResetPolicy = `UPDATE ff_budget_policy SET last_breach_at_ms = NULL, last_breach_dim = NULL,
updated_at_ms = $1, next_reset_at_ms = CASE WHEN $2 > 0 THEN $1 + $2 END
WHERE partition_key = $3 AND budget_id = $4`
	// WorkerSweep deletes partition $1's workers whose heartbeat expired
	// before $2 (now), records a ttl_swept event for each (keeping an
	// identical event that exists), and returns how many it deleted: one
	// statement, so it needs no transaction. The row count of the INSERT
	// would miss the workers whose event existed, hence the count.
	WorkerSweep = `WITH swept AS (
  DELETE FROM ff_worker_registry
  WHERE partition_key = $1 AND last_heartbeat_ms + liveness_ttl_ms < $2
  RETURNING partition_key, namespace, worker_instance_id
), recorded AS (
  INSERT INTO ff_worker_registry_event (partition_key, namespace, worker_instance_id, event_kind, event_at_ms, reason)
  SELECT partition_key, namespace, worker_instance_id, 'ttl_swept', $2, NULL FROM swept
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM swept`
)

// ResetInterval is reset_interval_ms as BudgetSelectOne returns it, the
// jsonb value's text: the integer if it is a JSON integer that fits an
// int64, else 0. A negative one is returned as is; the policy UPDATE
// treats every interval below 1 as none.
func ResetInterval(jsonText string) int64 {
	n, err := strconv.ParseInt(jsonText, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
