// Package describe is the plugin descriptor of the ffhost ABI: the JSON a
// plugin's describe export returns, its parsing and validation. It is the
// host's side; guests write the JSON themselves (see abi/guest), so that
// they do not link encoding/json.
package describe

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Descriptor is what a plugin's describe export returns, as JSON.
type Descriptor struct {
	// Name identifies the plugin: lowercase letters, digits and '_', 1 to 64
	// characters, unique among the plugins a host runs.
	Name string `json:"name"`
	// ABIVersion is the ABI the plugin was built against, "major.minor".
	ABIVersion string `json:"abi_version"`
	// Version is the plugin's own version, free-form (semver advised): one
	// line of printable UTF-8, at most 128 bytes.
	Version string `json:"version"`
	// DefaultIntervalMS is the tick interval when the operator sets none;
	// 0 means the plugin is disabled unless an interval is configured.
	DefaultIntervalMS int64 `json:"default_interval_ms"`
	// Reads lists the tables the plugin may read and not write. Reads and
	// Writes hold at most 128 names together.
	Reads []string `json:"reads"`
	// Writes lists the tables the plugin may read, insert, update and delete.
	Writes []string `json:"writes"`
	// Description is one line of printable UTF-8 for operators, at most
	// 1024 bytes.
	Description string `json:"description"`
	// Owns lists the tables the plugin owns (ABI 1.2): it may read and
	// write them, and its migrations may create and alter them. An owned
	// table is in neither Reads nor Writes, and its name starts with
	// neither "ff_" nor "ffwasmhost_".
	Owns []string `json:"owns"`
	// Migrations are the plugin's schema steps for its owned tables, by
	// dialect ("sqlite", "postgres"), each list ordered by ID (ABI 1.2).
	Migrations map[string][]Migration `json:"migrations"`
	// Config lists the configuration keys the plugin reads with config_get
	// (ABI 1.3), at most MaxConfigKeys, with distinct names.
	Config []ConfigKey `json:"config,omitempty"`
	// Dialects lists the SQL dialects the plugin can speak, "sqlite"
	// and/or "postgres" (ABI 1.4). Empty means SQLite only, as every
	// plugin before 1.4.
	Dialects []string `json:"dialects,omitempty"`
	// PartitionFamily, if set, makes the plugin partition-scoped (ABI
	// 1.4): on a partitioned database (PostgreSQL) the host ticks it once
	// per partition of the family ("budget", "worker_registry"), and
	// tick_partition says which; on SQLite it ticks partition 0 only.
	PartitionFamily string `json:"partition_family,omitempty"`
}

// maxDialects bounds Dialects: each dialect once.
const maxDialects = 2

// Supports reports whether the plugin speaks dialect ("sqlite" or
// "postgres"). A plugin that lists none speaks SQLite only.
func (d Descriptor) Supports(dialect string) bool {
	if len(d.Dialects) == 0 {
		return dialect == abi.DialectNameSQLite
	}
	for _, x := range d.Dialects {
		if x == dialect {
			return true
		}
	}
	return false
}

// DialectList is the dialects the plugin speaks, for messages:
// "sqlite", "sqlite, postgres".
func (d Descriptor) DialectList() string {
	if len(d.Dialects) == 0 {
		return abi.DialectNameSQLite
	}
	return strings.Join(d.Dialects, ", ")
}

// ConfigKey is one configuration key a plugin declares (ABI 1.3).
type ConfigKey struct {
	// Name matches the plugin name rule: a lowercase letter, then up to 63
	// lowercase letters, digits or '_'.
	Name string `json:"name"`
	// Type is one of ConfigString, ConfigInt, ConfigBool, ConfigDuration.
	Type string `json:"type"`
	// Default is the value when the operator sets none, as text of Type
	// (see CanonicalConfigValue), at most 256 bytes; "" for a string key
	// means empty, and is not allowed for the other types.
	Default string `json:"default"`
	// Doc is one line for operators, at most 256 bytes.
	Doc string `json:"doc"`
}

// Config key types.
const (
	ConfigString   = "string"
	ConfigInt      = "int"
	ConfigBool     = "bool"
	ConfigDuration = "duration"
)

// Config bounds.
const (
	// MaxConfigKeys bounds the keys one descriptor declares.
	MaxConfigKeys = 32
	// MaxConfigValueBytes bounds one configuration value, a secret read
	// from a file included.
	MaxConfigValueBytes = 64 << 10
	maxConfigDefault    = 256  // bytes of a key's Default
	maxConfigDoc        = 256  // bytes of a key's Doc
	maxConfigText       = 4096 // bytes of every key's Name, Default and Doc together
)

// ConfigMinor is the first ABI minor with configuration keys.
const ConfigMinor = 3

// CanonicalConfigValue checks text as a value of the config key type typ
// and returns it as config_get hands it to a plugin: a string as is (valid
// UTF-8, at most MaxConfigValueBytes); an int in decimal (int64); a bool as
// true or false; a duration (Go syntax, e.g. 1m30s, not negative) in whole
// milliseconds, in decimal.
func CanonicalConfigValue(typ, text string) (string, error) {
	switch typ {
	case ConfigString:
		if len(text) > MaxConfigValueBytes {
			return "", fmt.Errorf("%d bytes, limit %d", len(text), MaxConfigValueBytes)
		}
		if !utf8.ValidString(text) {
			return "", errors.New("not valid UTF-8")
		}
		return text, nil
	case ConfigInt:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a whole number", cut(text))
		}
		return strconv.FormatInt(n, 10), nil
	case ConfigBool:
		switch strings.TrimSpace(text) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", fmt.Errorf("%q is not true or false", cut(text))
	case ConfigDuration:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil || d < 0 {
			return "", fmt.Errorf("%q is not a duration (e.g. 500ms, 15s, 1m30s)", cut(text))
		}
		return strconv.FormatInt(d.Milliseconds(), 10), nil
	}
	return "", fmt.Errorf("unknown type %q (want string, int, bool or duration)", typ)
}

func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Key returns the declared key name and whether there is one.
func (d Descriptor) Key(name string) (ConfigKey, bool) {
	for _, k := range d.Config {
		if k.Name == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

// Migration is one numbered schema step of a plugin's owned tables. A
// host applies it once, in a transaction of its own, and records its
// checksum; a step once applied must never change.
type Migration struct {
	// ID numbers the step: 1 for the first, then each one more.
	ID int64 `json:"id"`
	// Name is one line of printable UTF-8, 1 to 128 bytes.
	Name string `json:"name"`
	// SQL is the step's statements, at most 16 KiB.
	SQL string `json:"sql"`
}

// Migration dialects, the keys of Descriptor.Migrations.
const (
	DialectSQLite   = abi.DialectNameSQLite
	DialectPostgres = abi.DialectNamePostgres
)

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// ValidName reports whether name can be a plugin's name: a lowercase
// letter, then up to 63 lowercase letters, digits or '_'.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// ValidTable reports whether name can be a table a descriptor declares: a
// letter or '_', then up to 127 letters, digits or '_'.
func ValidTable(name string) bool { return tableRE.MatchString(name) }

// MaxSize bounds the JSON a host accepts from describe.
const MaxSize = 64 << 10

// MaxIntervalMS is the longest default_interval_ms a plugin may declare:
// 365 days. Anything longer is more likely a unit mistake than a plan, and
// it keeps every interval well inside a time.Duration.
const MaxIntervalMS = 365 * 24 * 3600 * 1000

// Field bounds. They keep the JSON encoding of any valid Descriptor
// without migrations, even with every character escaped, under MaxSize:
// under half of it without config keys, whose names, defaults and docs
// hold 4 KiB together; migrations count against MaxSize as they come.
const (
	maxVersionLen     = 128  // bytes of Version
	maxDescriptionLen = 1024 // bytes of Description
	maxTables         = 128  // entries of Reads and Writes together
	maxVersionDigits  = 9    // digits of each part of an ABI version
	maxMigrations     = 64   // migrations of one dialect
	maxMigrationName  = 128  // bytes of a migration's name
	// MaxMigrationSQL bounds the SQL of one migration, in bytes.
	MaxMigrationSQL = 16 << 10
)

// Parse decodes and validates describe's JSON. Unknown fields are
// ignored so that a minor ABI version may add some.
func Parse(b []byte) (Descriptor, error) {
	var d Descriptor
	if len(b) > MaxSize {
		return d, fmt.Errorf("describe: %d bytes, limit %d", len(b), MaxSize)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("describe: bad JSON: %w", err)
	}
	return d, d.Validate()
}

// ErrABIMismatch is wrapped by Validate when the plugin's ABI major is not
// abi.Major.
var ErrABIMismatch = errors.New("ABI version mismatch")

// Validate checks every field and returns the first problem found.
func (d Descriptor) Validate() error {
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("describe: name %q must match %s", d.Name, nameRE)
	}
	major, _, err := ParseVersion(d.ABIVersion)
	if err != nil {
		return fmt.Errorf("describe: abi_version: %w", err)
	}
	if major != abi.Major {
		return fmt.Errorf("describe: plugin speaks ABI %s, host speaks ABI %s: %w", d.ABIVersion, abi.Version, ErrABIMismatch)
	}
	if err := checkLine("version", d.Version, maxVersionLen); err != nil {
		return err
	}
	if d.DefaultIntervalMS < 0 {
		return fmt.Errorf("describe: default_interval_ms %d is negative", d.DefaultIntervalMS)
	}
	if d.DefaultIntervalMS > MaxIntervalMS {
		return fmt.Errorf("describe: default_interval_ms %d is over the limit of %d (365 days)", d.DefaultIntervalMS, MaxIntervalMS)
	}
	if n := len(d.Reads) + len(d.Writes) + len(d.Owns); n > maxTables {
		return fmt.Errorf("describe: %d tables declared, limit %d", n, maxTables)
	}
	for _, t := range slices.Concat(d.Reads, d.Writes, d.Owns) {
		if err := checkTable(t); err != nil {
			return err
		}
	}
	if err := checkLine("description", d.Description, maxDescriptionLen); err != nil {
		return err
	}
	if err := d.validateOwned(); err != nil {
		return err
	}
	if err := d.validateConfig(); err != nil {
		return err
	}
	return d.validateDialects()
}

func checkTable(t string) error {
	if !tableRE.MatchString(t) {
		return fmt.Errorf("describe: table name %q is not a plain identifier", t)
	}
	if strings.HasPrefix(strings.ToLower(t), "sqlite_") {
		return fmt.Errorf("describe: table %q is internal to SQLite and cannot be declared", t)
	}
	if strings.HasPrefix(strings.ToLower(t), "ffwasmhost_") {
		return fmt.Errorf("describe: table %q belongs to the host and cannot be declared", t)
	}
	return nil
}

// validateOwned checks Owns and Migrations (ABI 1.2).
func (d Descriptor) validateOwned() error {
	declared := map[string]string{}
	for _, t := range d.Reads {
		declared[strings.ToLower(t)] = "reads"
	}
	for _, t := range d.Writes {
		declared[strings.ToLower(t)] = "writes"
	}
	owned := map[string]bool{}
	for _, t := range d.Owns {
		k := strings.ToLower(t)
		switch {
		case strings.HasPrefix(k, "ff_"):
			return fmt.Errorf("describe: owns %q: tables starting with ff_ belong to FlowFabric and cannot be owned", t)
		case declared[k] != "":
			return fmt.Errorf("describe: owns %q: also declared in %s; an owned table is read and written already", t, declared[k])
		case owned[k]:
			return fmt.Errorf("describe: owns %q twice", t)
		}
		owned[k] = true
	}
	if len(d.Migrations) > 0 && len(d.Owns) == 0 {
		return fmt.Errorf("describe: migrations declared but no owned tables; migrations may only change owned tables")
	}
	for _, dialect := range slices.Sorted(maps.Keys(d.Migrations)) {
		if dialect != DialectSQLite && dialect != DialectPostgres {
			return fmt.Errorf("describe: migrations for dialect %q: want %q or %q", dialect, DialectSQLite, DialectPostgres)
		}
		ms := d.Migrations[dialect]
		if len(ms) > maxMigrations {
			return fmt.Errorf("describe: %d %s migrations, limit %d", len(ms), dialect, maxMigrations)
		}
		for i, m := range ms {
			if m.ID != int64(i+1) {
				return fmt.Errorf("describe: %s migration %d has id %d: ids must be 1, 2, 3... in order", dialect, i+1, m.ID)
			}
			if m.Name == "" {
				return fmt.Errorf("describe: %s migration %d has no name", dialect, m.ID)
			}
			if err := checkLine(fmt.Sprintf("%s migration %d name", dialect, m.ID), m.Name, maxMigrationName); err != nil {
				return err
			}
			if strings.TrimSpace(m.SQL) == "" {
				return fmt.Errorf("describe: %s migration %d (%s) has no SQL", dialect, m.ID, m.Name)
			}
			if len(m.SQL) > MaxMigrationSQL {
				return fmt.Errorf("describe: %s migration %d (%s) is %d bytes of SQL, limit %d", dialect, m.ID, m.Name, len(m.SQL), MaxMigrationSQL)
			}
			if !utf8.ValidString(m.SQL) || strings.ContainsRune(m.SQL, 0) {
				return fmt.Errorf("describe: %s migration %d (%s): SQL must be valid UTF-8 without NUL", dialect, m.ID, m.Name)
			}
		}
	}
	return nil
}

// WriteTables returns the tables the plugin may write: Writes, then Owns.
func (d Descriptor) WriteTables() []string { return slices.Concat(d.Writes, d.Owns) }

// Owned reports whether the plugin owns table, compared case-insensitively.
func (d Descriptor) Owned(table string) bool {
	return slices.ContainsFunc(d.Owns, func(t string) bool { return strings.EqualFold(t, table) })

}

// validateConfig checks the configuration keys.
func (d Descriptor) validateConfig() error {
	if len(d.Config) == 0 {
		return nil
	}
	if _, minor, _ := ParseVersion(d.ABIVersion); minor < ConfigMinor {
		return fmt.Errorf("describe: config keys need abi_version 1.%d or later, not %s", ConfigMinor, d.ABIVersion)
	}
	if len(d.Config) > MaxConfigKeys {
		return fmt.Errorf("describe: %d config keys, limit %d", len(d.Config), MaxConfigKeys)
	}
	seen := map[string]bool{}
	text := 0
	for _, k := range d.Config {
		text += len(k.Name) + len(k.Default) + len(k.Doc)
		if !nameRE.MatchString(k.Name) {
			return fmt.Errorf("describe: config key %q must match %s", cut(k.Name), nameRE)
		}
		if seen[k.Name] {
			return fmt.Errorf("describe: config key %s declared twice", k.Name)
		}
		seen[k.Name] = true
		if err := checkLine("config key "+k.Name+" doc", k.Doc, maxConfigDoc); err != nil {
			return err
		}
		if err := checkLine("config key "+k.Name+" default", k.Default, maxConfigDefault); err != nil {
			return err
		}
		if _, err := CanonicalConfigValue(k.Type, k.Default); err != nil {
			return fmt.Errorf("describe: config key %s: default: %w", k.Name, err)
		}
	}
	if text > maxConfigText {
		return fmt.Errorf("describe: config keys' names, defaults and docs are %d bytes together, limit %d", text, maxConfigText)
	}
	return nil
}

// validateDialects checks Dialects and PartitionFamily (ABI 1.4).
func (d Descriptor) validateDialects() error {
	if len(d.Dialects) > maxDialects {
		return fmt.Errorf("describe: %d dialects listed, want at most %d (sqlite, postgres)", len(d.Dialects), maxDialects)
	}
	for i, x := range d.Dialects {
		if x != abi.DialectNameSQLite && x != abi.DialectNamePostgres {
			return fmt.Errorf("describe: dialect %q: want sqlite or postgres", x)
		}
		if i > 0 && d.Dialects[0] == x {
			return fmt.Errorf("describe: dialect %q listed twice", x)
		}
	}
	if d.PartitionFamily != "" && !nameRE.MatchString(d.PartitionFamily) {
		return fmt.Errorf("describe: partition_family %q must match %s", d.PartitionFamily, nameRE)
	}
	return nil
}

// checkLine requires s to be at most max bytes of valid UTF-8 on one line:
// no control characters and no Unicode line or paragraph separators.
func checkLine(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("describe: %s is %d bytes, limit %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("describe: %s is not valid UTF-8", field)
	}
	if i := strings.IndexFunc(s, breaksLine); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("describe: %s must be one line of printable text (%U at byte %d)", field, r, i)
	}
	return nil
}

// breaksLine reports a control character or a Unicode line or paragraph
// separator.
func breaksLine(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

// ParseVersion parses "major.minor": two unsigned decimal numbers of at
// most 9 digits each, without sign or spaces.
func ParseVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if ok {
		major, ok = parseVersionPart(a)
	}
	if ok {
		minor, ok = parseVersionPart(b)
	}
	if !ok {
		return 0, 0, fmt.Errorf("version %q is not major.minor", v)
	}
	return major, minor, nil
}

func parseVersionPart(s string) (int, bool) {
	if s == "" || len(s) > maxVersionDigits || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Tables returns the declared tables, owned and writes first, without
// duplicates.
func (d Descriptor) Tables() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range slices.Concat(d.Owns, d.Writes, d.Reads) {
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}
