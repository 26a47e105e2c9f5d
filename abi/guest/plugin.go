package guest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Report is what one tick did.
type Report struct {
	Processed int64 // items repaired
	Errors    int64 // items that failed; the tick itself still succeeded
}

// TickFunc runs one tick at nowMS, the host's clock in milliseconds since
// the Unix epoch. It is the only clock a plugin should read.
type TickFunc func(ctx context.Context, db *sql.DB, nowMS int64) (Report, error)

// Plugin is what Register needs to know.
type Plugin struct {
	Name            string        // unique, [a-z][a-z0-9_]*
	Version         string        // the plugin's own version
	Description     string        // one line
	DefaultInterval time.Duration // 0: disabled unless the operator sets one
	Reads           []string      // tables read and never written
	Writes          []string      // tables read and written
	Tick            TickFunc
}

var registered struct {
	p    Plugin
	desc []byte
	db   *sql.DB
}

// Register makes p the plugin this module exports. Call it once, from an
// init function. It panics on an invalid Plugin, which the host reports when
// it loads the file.
func Register(p Plugin) {
	if registered.desc != nil {
		panic("guest: Register called twice")
	}
	if p.Tick == nil {
		panic("guest: Plugin.Tick is nil")
	}
	d := abi.Descriptor{
		Name:              p.Name,
		ABIVersion:        abi.Version,
		Version:           p.Version,
		DefaultIntervalMS: p.DefaultInterval.Milliseconds(),
		Reads:             nonNil(p.Reads),
		Writes:            nonNil(p.Writes),
		Description:       p.Description,
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	registered.p, registered.desc = p, b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DB returns the plugin's database handle, opening it on first use. The
// guest holds one connection, so a tick's statements run one at a time.
func DB() *sql.DB {
	if registered.db == nil {
		db, err := sql.Open(DriverName, "")
		if err != nil {
			panic(err) // sql.Open only fails for an unknown driver
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		registered.db = db
	}
	return registered.db
}

// runTick is scan_tick's body, shared by the export and by tests.
func runTick(nowMS int64) (rep Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if registered.p.Tick == nil {
		return rep, fmt.Errorf("no plugin registered")
	}
	return registered.p.Tick(context.Background(), DB(), nowMS)
}
