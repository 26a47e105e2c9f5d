// Command load_extension is an adversarial fixture: it tries to load a native extension.
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("load_extension", nil, []string{"ff_worker_registry"},
		`SELECT load_extension('x')`,
	)
}

func main() {}
