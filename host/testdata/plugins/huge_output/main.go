// Command huge_output is an adversarial fixture: it logs 1 MiB lines and thousands of lines, then fails with an 8 MiB error message.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "huge_output", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		log := stdlib.Logger()
		for range 3 {
			log.Info("huge_output big line " + strings.Repeat("x", 1<<20))
		}
		for range 5000 {
			log.Info("huge_output small line\nforged=line")
		}
		return guest.Report{}, errors.New("huge_output: " + strings.Repeat("e", 8<<20))
	}})
}

func main() {}
