package guest

import (
	"context"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Report is what one tick did.
type Report struct {
	Processed int64 // items repaired
	Errors    int64 // items that failed; the tick itself still succeeded
	// More says the tick stopped with work left, e.g. a batch that was
	// full (ABI 1.1): a host with drain on for the plugin ticks again
	// after a short pause instead of a full interval.
	More bool
}

// TickFunc runs one tick at nowMS, the host's clock in milliseconds since
// the Unix epoch. It is the only clock a plugin should read.
type TickFunc func(ctx context.Context, db *Conn, nowMS int64) (Report, error)

// Plugin is what Register needs to know.
type Plugin struct {
	Name            string        // unique, [a-z][a-z0-9_]*
	Version         string        // the plugin's own version
	Description     string        // one line
	DefaultInterval time.Duration // 0: disabled unless the operator sets one
	Reads           []string      // tables read and never written
	Writes          []string      // tables read and written
	// Owns lists the tables the plugin owns (ABI 1.2): it reads and writes
	// them, and its Migrations create and change them. Their names may not
	// start with ff_ and they are in neither Reads nor Writes.
	Owns []string
	// Migrations are the schema steps of the owned tables, by dialect
	// (SQLite, Postgres), each list numbered 1, 2, 3... in order. The host
	// applies the ones a database lacks when it loads the plugin; a step
	// once released must never change, only be followed by another.
	Migrations map[string][]Migration
	// Config declares the configuration keys the plugin reads with
	// Conn.Config (ABI 1.3); the operator sets their values.
	Config []ConfigKey
	// Dialects are the SQL dialects the plugin speaks, "sqlite" and/or
	// "postgres" (ABI 1.4); none means SQLite only. A host refuses a
	// plugin that does not speak its database's dialect. Dialect tells a
	// running tick which one it has.
	Dialects []string
	// PartitionFamily, if set, makes the plugin partition-scoped (ABI
	// 1.4): on PostgreSQL the host ticks it once per partition of the
	// family ("budget": 32, "worker_registry": 256, unless the operator
	// says otherwise) each interval, and Partition tells a running tick
	// which; on SQLite it ticks partition 0 only.
	PartitionFamily string
	Tick            TickFunc
}

// Migration is one numbered schema step of a plugin's owned tables.
type Migration struct {
	ID   int64  // 1 for the first step, then each one more
	Name string // one line, e.g. "create leases"
	SQL  string // the statements, at most 16 KiB
}

// Dialects, the keys of Plugin.Migrations.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// ConfigKey declares one configuration key (ABI 1.3).
type ConfigKey struct {
	Name string // [a-z][a-z0-9_]*, at most 64 bytes
	// Type is ConfigString, ConfigInt, ConfigBool or ConfigDuration.
	Type string
	// Default is the value when the operator sets none, as text: "500",
	// "true", "15s". Only a string key may default to "".
	Default string
	Doc     string // one line for operators
}

// Configuration key types.
const (
	ConfigString   = "string"
	ConfigInt      = "int"
	ConfigBool     = "bool"
	ConfigDuration = "duration"
)

var registered struct {
	p    Plugin
	desc []byte
	conn *Conn
}

// Register makes p the plugin this module exports. Call it once, from an
// init function. It panics on a second call or a nil Tick; the host
// validates the rest when it loads the file and names what is wrong.
func Register(p Plugin) {
	if registered.desc != nil {
		panic("guest: Register called twice")
	}
	if p.Tick == nil {
		panic("guest: Plugin.Tick is nil")
	}
	registered.p, registered.desc = p, descriptorJSON(p)
}

// descriptorJSON is describe's JSON for p (the fields of
// abi/describe.Descriptor), written without encoding/json, which would
// double a plugin's size.
func descriptorJSON(p Plugin) []byte {
	b := []byte(`{"name":`)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"abi_version":`...)
	b = appendJSONString(b, abi.Version)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, p.Version)
	b = append(b, `,"default_interval_ms":`...)
	b = strconv.AppendInt(b, p.DefaultInterval.Milliseconds(), 10)
	for _, f := range []struct {
		key    string
		tables []string
	}{{"reads", p.Reads}, {"writes", p.Writes}} {
		b = append(b, `,"`+f.key+`":`...)
		b = appendJSONStrings(b, f.tables)
	}
	b = append(b, `,"description":`...)
	b = appendJSONString(b, p.Description)
	if len(p.Owns) > 0 {
		b = append(b, `,"owns":`...)
		b = appendJSONStrings(b, p.Owns)
	}
	if len(p.Migrations) > 0 {
		b = append(b, `,"migrations":{`...)
		for i, dialect := range sortedKeys(p.Migrations) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, dialect)
			b = append(b, `:[`...)
			for j, m := range p.Migrations[dialect] {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = strconv.AppendInt(b, m.ID, 10)
				b = append(b, `,"name":`...)
				b = appendJSONString(b, m.Name)
				b = append(b, `,"sql":`...)
				b = appendJSONString(b, m.SQL)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if len(p.Config) > 0 {
		b = append(b, `,"config":[`...)
		for i, k := range p.Config {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendJSONString(b, k.Name)
			b = append(b, `,"type":`...)
			b = appendJSONString(b, k.Type)
			b = append(b, `,"default":`...)
			b = appendJSONString(b, k.Default)
			b = append(b, `,"doc":`...)
			b = appendJSONString(b, k.Doc)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(p.Dialects) > 0 {
		b = append(b, `,"dialects":`...)
		b = appendJSONStrings(b, p.Dialects)
	}
	if p.PartitionFamily != "" {
		b = append(b, `,"partition_family":`...)
		b = appendJSONString(b, p.PartitionFamily)
	}
	return append(b, '}')
}

func appendJSONStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// sortedKeys returns m's keys in order, so that describe's JSON does not
// depend on map order. An insertion sort: there are a few dialects, and
// slices.Sort would link a generic sort into every plugin.
func sortedKeys(m map[string][]Migration) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// Dialect is the SQL dialect of the running tick's connection:
// abi.DialectSQLite or abi.DialectPostgres (ABI 1.4). It is -1 outside a
// tick and outside a host.
func Dialect() int { return int(hostSQLDialect()) }

// Partition is the partition the running tick is for (ABI 1.4): 0 to the
// family's count - 1 for a partition-scoped plugin on PostgreSQL, 0
// otherwise. It is -1 outside a tick and outside a host.
func Partition() int { return int(hostTickPartition()) }

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x7F || r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// DB returns the plugin's connection, the one Tick receives.
func DB() *Conn {
	if registered.conn == nil {
		registered.conn = NewConn()
	}
	return registered.conn
}

// runTick is scan_tick's body, shared by the export and by tests.
func runTick(nowMS int64) (rep Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("panic: " + panicText(r))
		}
	}()
	if registered.p.Tick == nil {
		return rep, errors.New("no plugin registered")
	}
	return registered.p.Tick(context.Background(), DB(), nowMS)
}

// panicText renders a recovered value as %v would for the usual ones.
func panicText(r any) string {
	switch x := r.(type) {
	case error:
		return x.Error()
	case string:
		return x
	case interface{ String() string }:
		return x.String()
	case int:
		return strconv.Itoa(x)
	}
	return "(a value of a type without a text form)"
}
