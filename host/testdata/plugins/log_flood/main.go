// Command log_flood is an adversarial fixture: every tick logs 500 short lines and succeeds, so that a plugin ticking often would flood the host's log.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "log_flood", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		for range 500 {
			guest.Log.Info("log_flood line")
		}
		return guest.Report{Processed: 500}, nil
	}})
}

func main() {}
