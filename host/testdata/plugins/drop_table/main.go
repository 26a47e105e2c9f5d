// Command drop_table is an adversarial fixture: it declares ff_worker_registry for writing and tries to drop it, and other DDL.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("drop_table", nil, []string{"ff_worker_registry"},
		`DROP TABLE ff_worker_registry`,
		`ALTER TABLE ff_worker_registry RENAME TO gone`,
		`CREATE TEMP TABLE scratch(x)`,
	)
}

func main() {}
