// Command undeclared_read is an adversarial fixture: it reads a table it did not declare.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("undeclared_read", []string{"ff_budget_usage"}, nil,
		`SELECT * FROM ff_worker_registry`,
		`SELECT sql FROM sqlite_schema`,
	)
}

func main() {}
