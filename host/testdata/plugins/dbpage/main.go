// Command dbpage is an adversarial fixture: it overwrites page 1 through the sqlite_dbpage virtual table.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("dbpage", nil, []string{"ff_worker_registry"},
		`UPDATE sqlite_dbpage SET data = zeroblob(4096) WHERE pgno = 1`,
		`SELECT data FROM sqlite_dbpage WHERE pgno = 1`,
	)
}

func main() {}
