package describe_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// validJSON is a complete descriptor as the Go SDK writes it.
const validJSON = `{
	"name": "worker_ttl",
	"abi_version": "1.0",
	"version": "1.2.3",
	"default_interval_ms": 15000,
	"reads": ["ff_config"],
	"writes": ["ff_worker_registry", "ff_worker_registry_event"],
	"description": "Deletes workers whose heartbeat expired."
}`

var validDesc = describe.Descriptor{
	Name:              "worker_ttl",
	ABIVersion:        "1.0",
	Version:           "1.2.3",
	DefaultIntervalMS: 15000,
	Reads:             []string{"ff_config"},
	Writes:            []string{"ff_worker_registry", "ff_worker_registry_event"},
	Description:       "Deletes workers whose heartbeat expired.",
}

// withField returns validJSON with one field set to raw JSON, or removed if
// raw is "".
func withField(tb testing.TB, field, raw string) string {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(validJSON), &m); err != nil {
		tb.Fatal(err)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParseDescriptorValid(t *testing.T) {
	tests := []struct {
		name string
		json string
		want func(*describe.Descriptor) // edits validDesc into the expected value
	}{
		{"complete", validJSON, func(*describe.Descriptor) {}},
		{"unknown fields ignored", withField(t, "added_in_1_1", `{"x":[1,2]}`), func(*describe.Descriptor) {}},
		{"later minor", withField(t, "abi_version", `"1.7"`), func(d *describe.Descriptor) { d.ABIVersion = "1.7" }},
		{"disabled by default", withField(t, "default_interval_ms", `0`), func(d *describe.Descriptor) { d.DefaultIntervalMS = 0 }},
		{"no tables", withField(t, "writes", `null`), func(d *describe.Descriptor) { d.Writes = nil }},
		{"empty tables", withField(t, "reads", `[]`), func(d *describe.Descriptor) { d.Reads = []string{} }},
		{"no version", withField(t, "version", ""), func(d *describe.Descriptor) { d.Version = "" }},
		{"no description", withField(t, "description", ""), func(d *describe.Descriptor) { d.Description = "" }},
		{"single-letter name", withField(t, "name", `"a"`), func(d *describe.Descriptor) { d.Name = "a" }},
		{"64-char name", withField(t, "name", `"`+"a"+strings.Repeat("_", 63)+`"`), func(d *describe.Descriptor) { d.Name = "a" + strings.Repeat("_", 63) }},
		{"mixed-case table", withField(t, "reads", `["FF_Config"]`), func(d *describe.Descriptor) { d.Reads = []string{"FF_Config"} }},
		{"table with sqlite inside", withField(t, "reads", `["my_sqlite_notes"]`), func(d *describe.Descriptor) { d.Reads = []string{"my_sqlite_notes"} }},
		{"unicode description", withField(t, "description", `"Räumt auf — täglich"`), func(d *describe.Descriptor) { d.Description = "Räumt auf — täglich" }},
		{"owned tables", withField(t, "owns", `["leases","lease_events"]`), func(d *describe.Descriptor) {
			d.Owns = []string{"leases", "lease_events"}
		}},
		{"both dialects", withField(t, "dialects", `["sqlite","postgres"]`), func(d *describe.Descriptor) { d.Dialects = []string{"sqlite", "postgres"} }},
		{"postgres only", withField(t, "dialects", `["postgres"]`), func(d *describe.Descriptor) { d.Dialects = []string{"postgres"} }},
		{"partition family", withField(t, "partition_family", `"worker_registry"`), func(d *describe.Descriptor) { d.PartitionFamily = "worker_registry" }},
	}
	owned := withField(t, "owns", `["leases"]`)
	owned = strings.Replace(owned, `"owns"`, `"migrations":{"sqlite":[{"id":1,"name":"create leases","sql":"CREATE TABLE leases (id INTEGER PRIMARY KEY)"},{"id":2,"name":"index","sql":"CREATE INDEX leases_id ON leases (id)"}],"postgres":[{"id":1,"name":"create leases","sql":"CREATE TABLE leases (id bigint PRIMARY KEY)"}]},"owns"`, 1)
	tests = append(tests, struct {
		name string
		json string
		want func(*describe.Descriptor)
	}{"migrations per dialect", owned, func(d *describe.Descriptor) {
		d.Owns = []string{"leases"}
		d.Migrations = map[string][]describe.Migration{
			"sqlite":   {{ID: 1, Name: "create leases", SQL: "CREATE TABLE leases (id INTEGER PRIMARY KEY)"}, {ID: 2, Name: "index", SQL: "CREATE INDEX leases_id ON leases (id)"}},
			"postgres": {{ID: 1, Name: "create leases", SQL: "CREATE TABLE leases (id bigint PRIMARY KEY)"}},
		}
	}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := describe.Parse([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseDescriptor: %v", err)
			}
			want := validDesc
			want.Reads = append([]string(nil), validDesc.Reads...)
			want.Writes = append([]string(nil), validDesc.Writes...)
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseDescriptor =\n%#v\nwant\n%#v", got, want)
			}
			checkRoundTrip(t, got)
		})
	}
}

// checkRoundTrip requires a valid descriptor to survive json.Marshal and
// ParseDescriptor unchanged, as the guest SDK and the host use them.
func checkRoundTrip(tb testing.TB, d describe.Descriptor) {
	tb.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		tb.Fatalf("json.Marshal(%#v): %v", d, err)
	}
	got, err := describe.Parse(b)
	if err != nil {
		tb.Fatalf("ParseDescriptor(json.Marshal(d)) of %d bytes: %v", len(b), err)
	}
	if !reflect.DeepEqual(got, d) {
		tb.Fatalf("round trip changed the descriptor:\n%#v\nbecame\n%#v", d, got)
	}
}

func TestParseDescriptorInvalid(t *testing.T) {
	tests := []struct {
		name string
		json string
		msg  string // the error must contain this
	}{
		{"empty input", ``, "bad JSON"},
		{"not an object", `[]`, "bad JSON"},
		{"truncated", validJSON[:40], "bad JSON"},
		{"trailing data", validJSON + `{}`, "bad JSON"},
		{"name not a string", withField(t, "name", `1`), "bad JSON"},
		{"interval not an integer", withField(t, "default_interval_ms", `1.5`), "bad JSON"},
		{"interval overflows", withField(t, "default_interval_ms", `9223372036854775808`), "bad JSON"},
		{"tables not strings", withField(t, "reads", `[1]`), "bad JSON"},

		{"no name", withField(t, "name", ""), "name"},
		{"empty name", withField(t, "name", `""`), "name"},
		{"unknown dialect", withField(t, "dialects", `["mysql"]`), `dialect "mysql": want sqlite or postgres`},
		{"dialect twice", withField(t, "dialects", `["postgres","postgres"]`), `dialect "postgres" listed twice`},
		{"three dialects", withField(t, "dialects", `["sqlite","postgres","sqlite"]`), "3 dialects listed"},
		{"dialects not a list", withField(t, "dialects", `"postgres"`), "bad JSON"},
		{"bad partition family", withField(t, "partition_family", `"Budget; DROP"`), "partition_family"},
		{"uppercase name", withField(t, "name", `"Worker"`), "name"},
		{"name with digit first", withField(t, "name", `"1worker"`), "name"},
		{"name with underscore first", withField(t, "name", `"_worker"`), "name"},
		{"name with dash", withField(t, "name", `"worker-ttl"`), "name"},
		{"name with space", withField(t, "name", `"worker ttl"`), "name"},
		{"name with trailing newline", withField(t, "name", `"worker\n"`), "name"},
		{"65-char name", withField(t, "name", `"`+strings.Repeat("a", 65)+`"`), "name"},

		{"no abi_version", withField(t, "abi_version", ""), "abi_version"},
		{"abi_version major only", withField(t, "abi_version", `"1"`), "abi_version"},
		{"abi_version three parts", withField(t, "abi_version", `"1.0.0"`), "abi_version"},
		{"abi_version empty minor", withField(t, "abi_version", `"1."`), "abi_version"},
		{"abi_version empty major", withField(t, "abi_version", `".0"`), "abi_version"},
		{"abi_version with v", withField(t, "abi_version", `"v1.0"`), "abi_version"},
		{"abi_version with plus", withField(t, "abi_version", `"+1.0"`), "abi_version"},
		{"abi_version negative minor", withField(t, "abi_version", `"1.-0"`), "abi_version"},
		{"abi_version with space", withField(t, "abi_version", `" 1.0"`), "abi_version"},
		{"abi_version too long", withField(t, "abi_version", `"1.1234567890"`), "abi_version"},
		{"abi_version a number", withField(t, "abi_version", `1.0`), "bad JSON"},

		{"negative interval", withField(t, "default_interval_ms", `-1`), "negative"},
		{"interval over a year", withField(t, "default_interval_ms", `31536000001`), "over the limit of 31536000000"},
		{"interval of max int64", withField(t, "default_interval_ms", `9223372036854775807`), "over the limit"},
		{"interval that overflowed a duration", withField(t, "default_interval_ms", `76480200929599801`), "over the limit"},

		{"empty table name", withField(t, "reads", `[""]`), "plain identifier"},
		{"host table", withField(t, "reads", `["ffwasmhost_migrations"]`), "belongs to the host"},
		{"host table in capitals", withField(t, "writes", `["FFWASMHOST_Lease"]`), "belongs to the host"},
		{"table with space", withField(t, "writes", `["ff worker"]`), "plain identifier"},
		{"table with schema", withField(t, "writes", `["main.ff_worker"]`), "plain identifier"},
		{"table with quote", withField(t, "reads", `["\"t\""]`), "plain identifier"},
		{"table with semicolon", withField(t, "reads", `["t;drop"]`), "plain identifier"},
		{"table with digit first", withField(t, "reads", `["1t"]`), "plain identifier"},
		{"table name too long", withField(t, "reads", `["`+strings.Repeat("t", 129)+`"]`), "plain identifier"},
		{"sqlite_master", withField(t, "reads", `["sqlite_master"]`), "internal to SQLite"},
		{"sqlite_dbpage uppercase", withField(t, "writes", `["SQLITE_DBPAGE"]`), "internal to SQLite"},
		{"sqlite_sequence mixed case", withField(t, "writes", `["Sqlite_Sequence"]`), "internal to SQLite"},
		{"too many tables", withField(t, "reads", tableList(129)), "131 tables declared, limit 128"}, // 129 reads + 2 writes,

		{"description with newline", withField(t, "description", `"one\ntwo"`), "description must be one line"},
		{"description with CR", withField(t, "description", `"one\rtwo"`), "description must be one line"},
		{"description with line separator", withField(t, "description", `"one\u2028two"`), "description must be one line"},
		{"description with paragraph separator", withField(t, "description", `"one\u2029two"`), "description must be one line"},
		{"description with NEL", withField(t, "description", `"one\u0085two"`), "description must be one line"},
		{"description with NUL", withField(t, "description", `"one\u0000two"`), "description must be one line"},
		{"description with escape", withField(t, "description", `"\u001b[31mred"`), "description must be one line"},
		{"description too long", withField(t, "description", `"`+strings.Repeat("d", 1025)+`"`), "description is 1025 bytes, limit 1024"},
		{"version with newline", withField(t, "version", `"1.0\nlevel=ERROR"`), "version must be one line"},
		{"version too long", withField(t, "version", `"`+strings.Repeat("9", 129)+`"`), "version is 129 bytes, limit 128"},

		{"owns ff_ table", withField(t, "owns", `["ff_leases"]`), "belong to FlowFabric"},
		{"owns FF_ table", withField(t, "owns", `["FF_Budget"]`), "belong to FlowFabric"},
		{"owns host table", withField(t, "owns", `["ffwasmhost_migrations"]`), "belongs to the host"},
		{"owns sqlite_master", withField(t, "owns", `["sqlite_master"]`), "internal to SQLite"},
		{"owns a read table", strings.Replace(withField(t, "reads", `["leases"]`), `"reads"`, `"owns":["LEASES"],"reads"`, 1), `owns "LEASES": also declared in reads`},
		{"owns a written table", strings.Replace(withField(t, "writes", `["leases"]`), `"writes"`, `"owns":["leases"],"writes"`, 1), `owns "leases": also declared in writes`},
		{"owns twice", withField(t, "owns", `["leases","Leases"]`), "owns \"Leases\" twice"},
		{"owns a bad name", withField(t, "owns", `["leases;drop"]`), "plain identifier"},
		{"too many tables with owns", withField(t, "owns", tableList(127)), "130 tables declared, limit 128"},
		{"migrations without owns", withField(t, "migrations", `{"sqlite":[{"id":1,"name":"x","sql":"SELECT 1"}]}`), "no owned tables"},
		{"migrations not an object", withField(t, "migrations", `[1]`), "bad JSON"},
		{"migration id not a number", migrations(t, `[{"id":"1","name":"x","sql":"SELECT 1"}]`), "bad JSON"},
		{"migration unknown dialect", strings.Replace(migrations(t, `[]`), `"sqlite"`, `"sqlite3"`, 1), `dialect "sqlite3"`},
		{"migration ids from 0", migrations(t, `[{"id":0,"name":"x","sql":"SELECT 1"}]`), "sqlite migration 1 has id 0"},
		{"migration ids skip", migrations(t, `[{"id":1,"name":"x","sql":"SELECT 1"},{"id":3,"name":"y","sql":"SELECT 1"}]`), "sqlite migration 2 has id 3"},
		{"migration ids repeat", migrations(t, `[{"id":1,"name":"x","sql":"SELECT 1"},{"id":1,"name":"y","sql":"SELECT 1"}]`), "sqlite migration 2 has id 1"},
		{"migration ids descend", migrations(t, `[{"id":2,"name":"x","sql":"SELECT 1"},{"id":1,"name":"y","sql":"SELECT 1"}]`), "sqlite migration 1 has id 2"},
		{"migration without name", migrations(t, `[{"id":1,"sql":"SELECT 1"}]`), "sqlite migration 1 has no name"},
		{"migration name with newline", migrations(t, `[{"id":1,"name":"a\nb","sql":"SELECT 1"}]`), "sqlite migration 1 name must be one line"},
		{"migration name too long", migrations(t, `[{"id":1,"name":"`+strings.Repeat("n", 129)+`","sql":"SELECT 1"}]`), "name is 129 bytes, limit 128"},
		{"migration without SQL", migrations(t, `[{"id":1,"name":"x","sql":"  "}]`), "sqlite migration 1 (x) has no SQL"},
		{"migration SQL with NUL", migrations(t, `[{"id":1,"name":"x","sql":"SELECT 1\u0000; DROP TABLE ff_x"}]`), "without NUL"},
		{"migration SQL too long", migrations(t, `[{"id":1,"name":"x","sql":"`+strings.Repeat(" ", describe.MaxMigrationSQL)+`x"}]`), "limit 16384"},
		{"too many migrations", migrations(t, migrationList(65)), "65 sqlite migrations, limit 64"},

		{"oversize", withField(t, "padding", `"`+strings.Repeat(" ", describe.MaxSize)+`"`), fmt.Sprintf("limit %d", describe.MaxSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := describe.Parse([]byte(tt.json))
			if err == nil {
				t.Fatalf("ParseDescriptor(%.200s): no error", tt.json)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "describe: ") {
				t.Errorf("error %q does not start with \"describe: \"", err)
			}
			if errors.Is(err, describe.ErrABIMismatch) {
				t.Errorf("error %q wraps ErrABIMismatch", err)
			}
		})
	}
}

// migrations returns validJSON owning "leases" with list as its sqlite
// migrations.
func migrations(tb testing.TB, list string) string {
	tb.Helper()
	return strings.Replace(withField(tb, "owns", `["leases"]`), `"owns"`, `"migrations":{"sqlite":`+list+`},"owns"`, 1)
}

func migrationList(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"id":%d,"name":"m%d","sql":"SELECT 1"}`, i+1, i+1)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func tableList(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%q", fmt.Sprintf("t%d", i))
	}
	return "[" + strings.Join(names, ",") + "]"
}

func TestParseDescriptorABIMismatch(t *testing.T) {
	tests := []struct {
		version string
		host    string // must appear besides the plugin's version
	}{
		{"2.0", abi.Version},
		{"0.9", abi.Version},
		{"10.0", abi.Version},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			_, err := describe.Parse([]byte(withField(t, "abi_version", `"`+tt.version+`"`)))
			if !errors.Is(err, describe.ErrABIMismatch) {
				t.Fatalf("ParseDescriptor with ABI %s: %v, want ErrABIMismatch", tt.version, err)
			}
			for _, v := range []string{tt.version, tt.host} {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name version %s", err, v)
				}
			}
		})
	}
	// A 2.0 plugin on this 1.x host: both versions are named.
	_, err := describe.Parse([]byte(withField(t, "abi_version", `"2.0"`)))
	if msg := err.Error(); !strings.Contains(msg, "2.0") || !strings.Contains(msg, abi.Version) {
		t.Errorf("error %q must name both 2.0 and %s", msg, abi.Version)
	}
}

// TestDescriptorBoundsFitTheLimit builds the largest descriptor Validate
// accepts, made of characters json.Marshal escapes, and requires its JSON
// to stay under MaxDescriptorSize so that whatever validates round-trips.
func TestDescriptorBoundsFitTheLimit(t *testing.T) {
	tables := make([]string, 128)
	for i := range tables {
		tables[i] = fmt.Sprintf("t%03d", i) + strings.Repeat("_", 124)
	}
	d := describe.Descriptor{
		Name:              strings.Repeat("z", 64),
		ABIVersion:        "1.999999999",
		Version:           strings.Repeat("<", 128),
		DefaultIntervalMS: describe.MaxIntervalMS,
		Reads:             tables[:64],
		Writes:            tables[64:],
		Description:       strings.Repeat("&", 1024),
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > describe.MaxSize/2 {
		t.Errorf("largest valid descriptor marshals to %d bytes, want at most half of %d", len(b), describe.MaxSize)
	}
	checkRoundTrip(t, d)
}

func TestValidateRejectsInvalidUTF8(t *testing.T) {
	for _, field := range []string{"version", "description"} {
		d := validDesc
		if field == "version" {
			d.Version = "1.0\xff"
		} else {
			d.Description = "bad \xff byte"
		}
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), field+" is not valid UTF-8") {
			t.Errorf("Validate with invalid UTF-8 in %s: %v", field, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"1.0", 1, 0, true},
		{"0.0", 0, 0, true},
		{"1.12", 1, 12, true},
		{"01.02", 1, 2, true},
		{"999999999.999999999", 999999999, 999999999, true},
		{"", 0, 0, false},
		{"1", 0, 0, false},
		{"1.", 0, 0, false},
		{".1", 0, 0, false},
		{"1.0.0", 0, 0, false},
		{"+1.0", 0, 0, false},
		{"1.+0", 0, 0, false},
		{"-1.0", 0, 0, false},
		{"1.-0", 0, 0, false},
		{"1 .0", 0, 0, false},
		{"1.0 ", 0, 0, false},
		{"1e0.0", 0, 0, false},
		{"0x1.0", 0, 0, false},
		{"1_0.0", 0, 0, false},
		{"١.٠", 0, 0, false}, // Arabic-Indic digits
		{"1234567890.0", 0, 0, false},
		{"99999999999999999999.0", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, err := describe.ParseVersion(tt.in)
		if (err == nil) != tt.ok || major != tt.major || minor != tt.minor {
			t.Errorf("ParseVersion(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, major, minor, err, tt.major, tt.minor, tt.ok)
		}
	}
	// The package's own version must parse to Major.
	if major, _, err := describe.ParseVersion(abi.Version); err != nil || major != abi.Major {
		t.Errorf("ParseVersion(Version %q) = %d, %v; want major %d", abi.Version, major, err, abi.Major)
	}
}

func TestTables(t *testing.T) {
	tests := []struct {
		name          string
		reads, writes []string
		want          []string
	}{
		{"none", nil, nil, nil},
		{"writes first", []string{"r1", "r2"}, []string{"w1"}, []string{"w1", "r1", "r2"}},
		{"duplicates dropped", []string{"a", "b", "a"}, []string{"b"}, []string{"b", "a"}},
		{"case-insensitive", []string{"T"}, []string{"t"}, []string{"o", "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := describe.Descriptor{Reads: tt.reads, Writes: tt.writes}
			if tt.name == "case-insensitive" {
				d.Owns = []string{"o", "O"}
			}
			got := d.Tables()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tables() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSupports(t *testing.T) {
	tests := []struct {
		dialects         []string
		sqlite, postgres bool
		list             string
	}{
		{nil, true, false, "sqlite"}, // every plugin before ABI 1.4
		{[]string{"postgres"}, false, true, "postgres"},
		{[]string{"sqlite", "postgres"}, true, true, "sqlite, postgres"},
	}
	for _, tt := range tests {
		d := describe.Descriptor{Dialects: tt.dialects}
		if d.Supports("sqlite") != tt.sqlite || d.Supports("postgres") != tt.postgres || d.DialectList() != tt.list {
			t.Errorf("dialects %v: Supports sqlite %v, postgres %v, list %q", tt.dialects,
				d.Supports("sqlite"), d.Supports("postgres"), d.DialectList())
		}
	}
}
