// Command writable_schema is an adversarial fixture: it turns on writable_schema and rewrites sqlite_schema.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("writable_schema", nil, []string{"ff_worker_registry"},
		`PRAGMA writable_schema=ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE TABLE ff_worker_registry(x)' WHERE name = 'ff_worker_registry'`,
		`PRAGMA journal_mode=OFF`,
	)
}

func main() {}
