// Command slow_init is an adversarial fixture: every instance's initialization spins for 4 s, and every tick fails, so each tick must start a fresh instance.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

var spins int64

func init() {
	for start := time.Now(); time.Since(start) < 4*time.Second; {
		spins++
	}
	guest.Register(guest.Plugin{Name: "slow_init", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		return guest.Report{}, errors.New("slow_init: fails so that the next tick needs a fresh instance")
	}})
}

func main() {}
