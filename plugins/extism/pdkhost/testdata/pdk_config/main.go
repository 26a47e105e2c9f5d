// Command pdk_config is a test plugin of the Extism profile on go-pdk: each
// tick reads its config keys of every type, and one it does not declare,
// through pdkhost's ff_config_get, and logs what it read with the
// partition and dialect of the tick (ff_tick_partition, ff_sql_dialect).
// Build: GOOS=wasip1 GOARCH=wasm go build -tags ffextism -buildmode=c-shared.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	_ "github.com/ffwasmhost/ffwasmhost/plugins/extism/pdkhost"
)

func init() {
	guest.Register(guest.Plugin{
		Name:    "pdk_config",
		Version: "0.0.1",
		Config: []guest.ConfigKey{
			{Name: "greeting", Type: guest.ConfigString, Default: "hello", Doc: "a string"},
			{Name: "batch", Type: guest.ConfigInt, Default: "10", Doc: "an int"},
			{Name: "on", Type: guest.ConfigBool, Default: "true", Doc: "a bool"},
			{Name: "every", Type: guest.ConfigDuration, Default: "1m30s", Doc: "a duration"},
		},
		Tick: tick,
	})
}

func tick(_ context.Context, db *guest.Conn, _ int64) (guest.Report, error) {
	greeting, err := db.Config("greeting")
	if err != nil {
		return guest.Report{}, err
	}
	batch, err := db.ConfigInt("batch")
	if err != nil {
		return guest.Report{}, err
	}
	on, err := db.ConfigBool("on")
	if err != nil {
		return guest.Report{}, err
	}
	every, err := db.ConfigDuration("every")
	if err != nil {
		return guest.Report{}, err
	}
	_, undeclared := db.Config("nope")
	guest.Log.Info("config", "greeting_bytes", len(greeting), "greeting_tail", greeting[max(0, len(greeting)-6):],
		"batch", batch, "on", on, "every", every, "nope", undeclared,
		"partition", guest.Partition(), "dialect", guest.Dialect())
	return guest.Report{Processed: 1}, nil
}

func main() {}
