// Command sleep is an adversarial fixture: its tick sleeps for a minute (WASI poll_oneoff), doing nothing the guest's loop checks could catch.
package main

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "sleep", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		time.Sleep(time.Minute)
		return guest.Report{}, nil
	}})
}

func main() {}
