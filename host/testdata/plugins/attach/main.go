// Command attach is an adversarial fixture: it attaches a database file outside the sandbox.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("attach", nil, []string{"ff_worker_registry"},
		`ATTACH DATABASE '/tmp/ffwasmhost-adversarial-attach.db' AS evil`,
	)
}

func main() {}
