// Command log_attrs logs key/value pairs through both of the Go SDK's
// loggers, one of them posing as the host's own keys: they must arrive as
// attributes of the host's record, under "attrs".
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "log_attrs", Version: "0.0.1", Tick: func(context.Context, *guest.Conn, int64) (guest.Report, error) {
		guest.Log.Warn("guest logger", "n", 3, "plugin", "forged", "line", "a\nb")
		stdlib.Logger().With("budget_id", "b1").Info("slog logger", "ok", true)
		guest.Log.Info("plain")
		return guest.Report{}, nil
	}})
}

func main() {}
