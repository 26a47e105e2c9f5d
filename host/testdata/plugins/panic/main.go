// Command panic is an adversarial fixture: its tick panics (the SDK recovers it and fails the tick).
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "panic", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
		return guest.Report{}, nil
	}})
}

func main() {}
