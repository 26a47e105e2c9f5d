// Command vacuum is an adversarial fixture: it runs VACUUM and VACUUM INTO a file outside the sandbox.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("vacuum", nil, []string{"ff_worker_registry"},
		`VACUUM`,
		`VACUUM INTO '/tmp/ffwasmhost-adversarial-vacuum.db'`,
	)
}

func main() {}
