// Command recursion is an adversarial fixture: its tick recurses without bound.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "recursion", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		return guest.Report{Processed: deeper(1)}, nil
	}})
}

func deeper(n int64) int64 {
	var pad [256]byte
	pad[n%256] = byte(n)
	return deeper(n+1) + int64(pad[(n+1)%256])
}

func main() {}
