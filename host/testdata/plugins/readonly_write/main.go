// Command readonly_write is an adversarial fixture: it declares ff_budget_policy read-only and writes it.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("readonly_write", []string{"ff_budget_policy"}, nil,
		`UPDATE ff_budget_policy SET breach_count = breach_count + 1`,
		`DELETE FROM ff_budget_policy`,
		`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms) VALUES (9, 'evil', '{}', 0, 0)`,
	)
}

func main() {}
