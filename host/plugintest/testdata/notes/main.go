// Command notes is a test plugin that owns a table (ABI 1.2): each tick
// writes one note at now_ms, tagged with the build's variant.
package main

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:            "notes",
		Version:         "1.0.0+" + variant,
		Description:     "Writes one note per tick into the table it owns.",
		DefaultInterval: time.Minute,
		Owns:            []string{"notes"},
		Migrations: map[string][]guest.Migration{
			guest.SQLite: {
				{ID: 1, Name: "create notes", SQL: `CREATE TABLE notes (at_ms INTEGER NOT NULL, variant TEXT NOT NULL)`},
				{ID: 2, Name: "index notes", SQL: `CREATE INDEX notes_at ON notes (at_ms)`},
			},
		},
		Tick: func(_ context.Context, db *guest.Conn, nowMS int64) (guest.Report, error) {
			if _, err := db.Exec(`INSERT INTO notes (at_ms, variant) VALUES (?, ?)`, nowMS, variant); err != nil {
				return guest.Report{}, err
			}
			return guest.Report{Processed: 1}, nil
		},
	})
}

func main() {}
