package guest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	descpkg "github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// TestDescriptorJSON: the hand-written JSON parses back, with descpkg.Parse
// (the host's parser), to the plugin's fields, escapes included.
func TestDescriptorJSON(t *testing.T) {
	tests := []Plugin{
		{Name: "budget_reset", Version: "1.0.0", Description: "Resets budgets.", DefaultInterval: 15 * time.Second,
			Writes: []string{"ff_budget_policy", "ff_budget_usage"}},
		{Name: "p", Version: `v"1\2`, Description: "quote \" backslash \\ tab\t é 😀", Reads: []string{"a", "b"}},
		{Name: "empty_lists", Version: "0"},
		{Name: "stale_leases", Version: "1", Reads: []string{"ff_worker_registry"}, Owns: []string{"leases", "lease_log"},
			Migrations: map[string][]Migration{
				Postgres: {{ID: 1, Name: "create leases", SQL: "CREATE TABLE leases (id bigint)"}},
				SQLite: {{ID: 1, Name: "create \"leases\"", SQL: "CREATE TABLE leases (id INTEGER,\n note TEXT DEFAULT 'a\tb')"},
					{ID: 2, Name: "log", SQL: "CREATE TABLE lease_log (id INTEGER)"}},
			}},
		{Name: "with_config", Version: "1", Config: []ConfigKey{{Name: "mode", Type: ConfigString, Default: "a \"b\"", Doc: "how"},
			{Name: "every", Type: ConfigDuration, Default: "1m", Doc: "é"}}},
		{Name: "worker_ttl", Version: "2", Writes: []string{"ff_worker_registry"},
			Dialects: []string{"sqlite", "postgres"}, PartitionFamily: "worker_registry"},
	}
	for _, p := range tests {
		t.Run(p.Name, func(t *testing.T) {
			b := descriptorJSON(p)
			d, err := descpkg.Parse(b)
			if p.Name == "p" { // a tab in the description is refused by Validate; parse without it
				if err == nil || !strings.Contains(err.Error(), "description") {
					t.Fatalf("Parse(%s) = %v, want the control character refused", b, err)
				}
				p.Description = strings.ReplaceAll(p.Description, "\t", " ")
				d, err = descpkg.Parse(descriptorJSON(p))
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", b, err)
			}
			want := descpkg.Descriptor{Name: p.Name, ABIVersion: abi.Version, Version: p.Version,
				DefaultIntervalMS: p.DefaultInterval.Milliseconds(), Reads: nonNil(p.Reads), Writes: nonNil(p.Writes),
				Description: p.Description, Owns: p.Owns,
				Dialects: p.Dialects, PartitionFamily: p.PartitionFamily}
			for dialect, ms := range p.Migrations {
				if want.Migrations == nil {
					want.Migrations = map[string][]descpkg.Migration{}
				}
				for _, m := range ms {
					want.Migrations[dialect] = append(want.Migrations[dialect], descpkg.Migration{ID: m.ID, Name: m.Name, SQL: m.SQL})
				}
			}
			for _, k := range p.Config {
				want.Config = append(want.Config, descpkg.ConfigKey{Name: k.Name, Type: k.Type, Default: k.Default, Doc: k.Doc})
			}
			if fmt.Sprint(d) != fmt.Sprint(want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", d, want)
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestAppendText(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"s", "s"}, {errors.New("boom"), "boom"}, {42, "42"}, {int64(-1), "-1"}, {uint32(7), "7"},
		{1.5, "1.5"}, {true, "true"}, {1500 * time.Millisecond, "1.5s"}, {nil, "<nil>"}, {[]byte("b"), "b"},
		{abi.StatusBusy, abi.StatusBusy.String()}, {struct{}{}, "?"},
	}
	for _, tt := range tests {
		if got := string(appendText(nil, tt.v)); got != tt.want {
			t.Errorf("appendText(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestPanicText(t *testing.T) {
	if got := panicText(errors.New("e")); got != "e" {
		t.Errorf("error: %q", got)
	}
	if got := panicText("s"); got != "s" {
		t.Errorf("string: %q", got)
	}
	var m map[string]int
	func() {
		defer func() {
			if got := panicText(recover()); !strings.Contains(got, "nil map") {
				t.Errorf("runtime error: %q", got)
			}
		}()
		m["x"] = 1
	}()
}

// TestRunTick: scan_tick's body turns a missing plugin and a panic into
// the tick's error, and passes a report through.
func TestRunTick(t *testing.T) {
	saved := registered
	defer func() { registered = saved }()
	registered.p = Plugin{}
	if _, err := runTick(1); err == nil || !strings.Contains(err.Error(), "no plugin registered") {
		t.Errorf("no plugin: %v", err)
	}
	registered.p.Tick = func(_ context.Context, _ *Conn, now int64) (Report, error) {
		if now < 0 {
			panic("negative now")
		}
		return Report{Processed: now}, nil
	}
	if rep, err := runTick(7); err != nil || rep.Processed != 7 {
		t.Errorf("tick = %+v, %v", rep, err)
	}
	if _, err := runTick(-1); err == nil || err.Error() != "panic: negative now" {
		t.Errorf("panic: %v", err)
	}
}

// TestEncodeLog: key/value pairs travel as attributes (ABI 1.2), a message
// without them as plain text.
func TestEncodeLog(t *testing.T) {
	if got := string(encodeLog("plain n=1", nil)); got != "plain n=1" {
		t.Errorf("plain message encoded as %q", got)
	}
	msg, attrs := abi.ParseLog(string(encodeLog("budget reset failed", []any{"budget_id", "b1", "n", 3, "err", errors.New("busy"), "lonely"})))
	want := [][2]string{{"budget_id", "b1"}, {"n", "3"}, {"err", "busy"}, {"!BADKEY", "lonely"}}
	if msg != "budget reset failed" || fmt.Sprint(attrs) != fmt.Sprint(want) {
		t.Errorf("ParseLog(encodeLog(...)) = %q, %q; want the message and %q", msg, attrs, want)
	}
}
